"""Fake Anthropic, OpenAI and Gemini upstreams, faithful to the providers' documented wire formats.

One threaded HTTP/1.1 server per provider. Responses use the reference's exact shapes and
framing (Anthropic SSE with padded JSON and pings, OpenAI data-only SSE with [DONE] and the
include_usage chunk, Responses named events, Gemini CRLF SSE and the pretty-printed JSON array),
and streams are written in 97-byte chunks on purpose so events split across reads.

Every request is recorded (method, path, headers, body). Behaviour is chosen per request with
headers the gateway passes through untouched:
  x-fake-usage: in=25,out=7,cache_read=3,cache_write=2,reasoning=1   token figures to report
  x-fake-mode:  fail:STATUS:N   fail the first N requests with this mode, then succeed
                cut:N           close the connection after N stream events (upstream cut)
                error-event     an error event mid-stream (status already 200)
                hold            stop before the last events until `release()` (streaming proof)
                slow:MS         wait MS milliseconds between stream events
                linger:MS       after the last stream event, wait MS before ending the body
                text:N          generate N words of text
                cut-body        a JSON answer: half its body, then hang up
                slow-body       a JSON answer: half its body, the rest 1.5 s later
                think:MS        take MS milliseconds before answering (a long generation:
                                it runs to its end and is reported, though the client left)
  x-fake-searches: N   searches a server-side search tool makes, when the request enables one
                       (Anthropic web_search, OpenAI Responses web_search, Gemini google_search)
A provider never generates past the request's output cap (times `n` / `candidateCount`): the
reported output is clamped to it. OpenAI stores each response under a fresh id (GET, DELETE,
cancel, `previous_response_id` and background mode work on the store).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 97

DEFAULT_USAGE = {"in": 12, "out": 6, "cache_read": 0, "cache_write": 0, "reasoning": 0}


def parse_usage(header: str | None) -> dict:
    usage = dict(DEFAULT_USAGE)
    for part in (header or "").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            usage[k.strip()] = int(v)
    return usage


def field_mask(path: str, obj: dict) -> dict:
    """Google's `fields` / `$fields` system parameter, at the top level: only the fields named."""
    from urllib.parse import parse_qsl, urlsplit

    for name, value in parse_qsl(urlsplit(path).query):
        if name in ("fields", "$fields"):
            keep = {f.strip().split("(")[0].split("/")[0] for f in value.split(",")}
            return {k: v for k, v in obj.items() if k in keep}
    return obj


class FakeState:
    def __init__(self, provider: str, secret: str) -> None:
        self.provider = provider
        self.secret = secret
        self.requests: list[dict] = []
        self.fail_counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.hold = threading.Event()  # set = release held streams
        self.holding = threading.Event()  # set while a stream waits on `hold`
        self.streams_finished = 0
        self.streams_aborted = 0  # the gateway closed the connection mid-stream
        self.reported: list[dict] = []  # usage each completed response reported
        self.stored: dict[str, dict] = {}  # OpenAI's stored responses, by id

    def release(self) -> None:
        self.hold.set()



def served_tier(req: dict) -> str:
    """The tier OpenAI reports it served a request in: the one asked for where the project may
    use it, else the default (auto, and a tier not asked for, are the default here)."""
    return req.get("service_tier") if req.get("service_tier") in ("flex", "priority") \
        else "default"

def words(n: int) -> list[str]:
    base = ["Hello", "!", " How", " can", " I", " help", " you", " today", "?"]
    return [base[i % len(base)] for i in range(n)] if n else []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle and delayed ACKs add
    # 40 ms to every response.
    disable_nagle_algorithm = True
    server: FakeServer

    def log_message(self, *args) -> None:  # quiet
        pass

    # --- plumbing ---

    @property
    def state(self) -> FakeState:
        return self.server.state

    def _read_body(self) -> bytes:
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def _record(self, body: bytes) -> None:
        with self.state.lock:
            self.state.requests.append({
                "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "header_list": list(self.headers.items()),
                "body": body,
            })

    def send_json(self, status: int, obj, headers: dict | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("set-cookie", "__cf_bm=fake; path=/")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        mode = self.headers.get("x-fake-mode")
        if status == 200 and mode in ("cut-body", "slow-body"):
            self.wfile.write(data[:len(data) // 2])  # half the promised body, then
            self.wfile.flush()
            if mode == "cut-body":  # hang up
                self.cut()
                return
            time.sleep(1.5)  # the rest, late
            data = data[len(data) // 2:]
        self.wfile.write(data)

    def start_stream(self, content_type: str, headers: dict | None = None) -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def write_chunked(self, data: bytes) -> None:
        for i in range(0, len(data), CHUNK):
            piece = data[i:i + CHUNK]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        with self.state.lock:
            self.state.streams_finished += 1

    def cut(self) -> None:
        """Close mid-body: the client sees an incomplete chunked read."""
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def stream_events(self, events: list[bytes], mode: str, final_after: int | None = None):
        """Write events; honours cut/hold/slow. Returns False if the stream was cut."""
        cut_at = int(mode.split(":")[1]) if mode.startswith("cut:") else None
        delay = int(mode.split(":")[1]) / 1000 if mode.startswith("slow:") else 0
        linger = int(mode.split(":")[1]) / 1000 if mode.startswith("linger:") else 0
        hold_before = len(events) - (final_after or 2)
        for i, ev in enumerate(events):
            if cut_at is not None and i == cut_at:
                self.cut()
                return False
            if mode == "hold" and i == hold_before:
                self.state.holding.set()
                self.state.hold.wait(15)
            try:
                self.write_chunked(ev)
            except (BrokenPipeError, ConnectionResetError):
                with self.state.lock:
                    self.state.streams_aborted += 1
                self.close_connection = True
                return False
            if delay:
                time.sleep(delay)
        if linger:  # the terminal event is out; the body's end comes later
            time.sleep(linger)
            try:
                self.end_stream()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return True
        self.end_stream()
        return True

    def failing(self, mode: str) -> bool:
        m = re.match(r"fail:(\d+):(\d+)(?::retry-after=(\d+))?", mode)
        if not m:
            return False
        with self.state.lock:
            n = self.state.fail_counts.get(mode, 0)
            self.state.fail_counts[mode] = n + 1
        if n >= int(m.group(2)):
            return False
        status = int(m.group(1))
        headers = {"retry-after": m.group(3)} if m.group(3) else {}
        self.send_json(status, self.server.error_body(status), headers)
        return True

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        body = self._read_body()
        self._record(body)
        mode = self.headers.get("x-fake-mode", "")
        if not self.server.authorized(self):
            status, obj = self.server.auth_error()
            self.send_json(status, obj)
            return
        if self.failing(mode):
            return
        if mode.startswith("think:"):
            time.sleep(int(mode.split(":")[1]) / 1000)
        try:
            req = json.loads(body) if body else {}
        except ValueError:
            self.send_json(400, self.server.error_body(400))
            return
        if not isinstance(req, dict):
            self.send_json(400, self.server.error_body(400))
            return
        try:
            usage = parse_usage(self.headers.get("x-fake-usage"))
            nwords = int(mode.split(":")[1]) if mode.startswith("text:") else 9
            self.searches = int(self.headers.get("x-fake-searches") or 1)
        except ValueError:
            usage, nwords, self.searches = parse_usage(None), 9, 1
        try:
            cap = self.server.output_cap(req)
            if cap is not None:  # a provider never generates past the request's cap
                usage["out"] = min(usage["out"], cap)
                usage["reasoning"] = min(usage["reasoning"], usage["out"])
            self.server.route(self, req, usage, mode, nwords)
        except (AttributeError, TypeError, KeyError, ValueError):
            # Odd but valid JSON: a real provider answers 400, it does not hang up.
            self.send_json(400, self.server.error_body(400))


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    provider = ""

    def __init__(self, secret: str, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), Handler)
        self.state = FakeState(self.provider, secret)

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # a client that left is no fault

    def start(self) -> FakeServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def report(self, usage: dict) -> None:
        with self.state.lock:
            self.state.reported.append(usage)

    def output_cap(self, req: dict) -> int | None:
        """The most output the request allows, over all the answers it asks for."""
        return None


# --- Anthropic ---------------------------------------------------------------------------------


def sse(event: str | None, obj, pad: bool = False) -> bytes:
    data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    if pad:  # real captures pad the JSON before the closing brace
        data = data[:-1] + "    }"
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


class FakeAnthropic(FakeServer):
    provider = "anthropic"
    MODEL = "claude-sonnet-4-5-20250929"

    def output_cap(self, req: dict) -> int | None:
        return req.get("max_tokens")

    def authorized(self, h: Handler) -> bool:
        return h.headers.get("x-api-key") == self.state.secret and not h.headers.get(
            "authorization")

    def auth_error(self):
        return 401, {"type": "error", "error": {"type": "authentication_error",
                                                "message": "invalid x-api-key"},
                     "request_id": "req_fake"}

    def error_body(self, status: int) -> dict:
        kind = {429: "rate_limit_error", 529: "overloaded_error", 500: "api_error",
                400: "invalid_request_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": "fake failure"},
                "request_id": "req_fake"}

    def usage_obj(self, u: dict, output: int | None = None) -> dict:
        out = {"input_tokens": u["in"], "cache_creation_input_tokens": u["cache_write"],
               "cache_read_input_tokens": u["cache_read"],
               "output_tokens": u["out"] if output is None else output}
        if u["reasoning"]:
            out["output_tokens_details"] = {"thinking_tokens": u["reasoning"]}
        if u.get("searches"):
            out["server_tool_use"] = {"web_search_requests": u["searches"],
                                      "web_fetch_requests": 0}
        return out

    def route(self, h: Handler, req: dict, u: dict, mode: str, nwords: int) -> None:
        path = h.path.split("?")[0]
        if not h.headers.get("anthropic-version"):
            h.send_json(400, {"type": "error", "error": {
                "type": "invalid_request_error",
                "message": "anthropic-version: header is required"}})
        elif path == "/v1/messages" and h.command == "POST":
            self.messages(h, req, u, mode, nwords)
        elif path == "/v1/messages/count_tokens":
            h.send_json(200, {"input_tokens": u["in"]})
        elif path.startswith("/v1/models"):
            models = [{"type": "model", "id": mid, "display_name": name,
                       "created_at": "2025-09-29T00:00:00Z"} for mid, name in (
                (self.MODEL, "Claude Sonnet 4.5"), ("claude-opus-4-5-20251101", "Claude Opus 4.5"),
                ("claude-haiku-4-5-20251001", "Claude Haiku 4.5"))]
            one = path.removeprefix("/v1/models").strip("/")
            if one:  # GET /v1/models/{model_id}
                found = [m for m in models if m["id"] == one]
                if found:
                    h.send_json(200, found[0])
                else:
                    h.send_json(404, {"type": "error", "error": {
                        "type": "not_found_error", "message": f"model: {one}"}})
                return
            h.send_json(200, {"data": models, "has_more": False,
                              "first_id": models[0]["id"], "last_id": models[-1]["id"]})
        else:
            h.send_json(404, {"type": "error", "error": {"type": "not_found_error",
                                                         "message": "Not found"}})

    def messages(self, h, req, u, mode, nwords) -> None:
        text = words(nwords)
        if any(str(t.get("type", "")).startswith("web_search") for t in req.get("tools") or []):
            u = {**u, "searches": h.searches}
        model = req.get("model") or self.MODEL
        headers = {"request-id": "req_fake", "anthropic-organization-id": "org-fake",
                   "anthropic-ratelimit-requests-limit": "4000",
                   "anthropic-ratelimit-requests-remaining": "3999"}
        if not req.get("stream"):
            self.report(u)
            h.send_json(200, {
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
                "model": model, "content": [{"type": "text", "text": "".join(text)}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {**self.usage_obj(u), "service_tier": "standard"}}, headers)
            return
        h.start_stream("text/event-stream; charset=utf-8", headers)
        events = [
            sse("message_start", {"type": "message_start", "message": {
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
                "model": model, "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {**self.usage_obj(u, output=1), "service_tier": "standard"}}}),
            sse("content_block_start", {"type": "content_block_start", "index": 0,
                                        "content_block": {"type": "text", "text": ""}}),
            b'event: ping\ndata: {"type": "ping"}\n\n',
        ]
        for w in text:
            events.append(sse("content_block_delta", {
                "type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": w}}))
        if mode == "error-event":
            events.insert(len(events) - 1, b'event: error\ndata: {"type": "error", "error": '
                          b'{"type": "overloaded_error", "message": "Overloaded"}}\n\n')
            h.stream_events(events, "")
            return
        events += [
            sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            # Two message_deltas, cumulative: a parser that sums them double-counts.
            sse("message_delta", {"type": "message_delta",
                                  "delta": {"stop_reason": None, "stop_sequence": None},
                                  "usage": {"output_tokens": max(1, u["out"] // 2)}}),
            sse("message_delta", {"type": "message_delta",
                                  "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                  "usage": self.usage_obj(u)}),
            sse("message_stop", {"type": "message_stop"}, pad=True),
        ]
        if h.stream_events(events, mode, final_after=3):
            self.report(u)


# --- OpenAI ------------------------------------------------------------------------------------


class FakeOpenAI(FakeServer):
    provider = "openai"
    CHAT_MODEL = "gpt-4o-mini-2024-07-18"
    RESP_MODEL = "gpt-4.1-mini-2025-04-14"

    def output_cap(self, req: dict) -> int | None:
        cap = req.get("max_output_tokens") or req.get("max_completion_tokens") \
            or req.get("max_tokens")
        return cap * (req.get("n") or 1) if cap else None

    def authorized(self, h: Handler) -> bool:
        return h.headers.get("authorization") == f"Bearer {self.state.secret}"

    def auth_error(self):
        return 401, {"error": {"message": "Incorrect API key provided.",
                               "type": "invalid_request_error", "param": None,
                               "code": "invalid_api_key"}}

    def error_body(self, status: int) -> dict:
        return {"error": {"message": "fake failure", "type": "server_error" if status >= 500
                          else "requests", "param": None, "code": None}}

    def chat_usage(self, u: dict) -> dict:
        prompt = u["in"] + u["cache_read"]
        return {"prompt_tokens": prompt, "completion_tokens": u["out"],
                "total_tokens": prompt + u["out"],
                "prompt_tokens_details": {"cached_tokens": u["cache_read"], "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": u["reasoning"],
                                              "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0,
                                              "rejected_prediction_tokens": 0}}

    def responses_usage(self, u: dict) -> dict:
        inp = u["in"] + u["cache_read"]
        return {"input_tokens": inp,
                "input_tokens_details": {"cached_tokens": u["cache_read"],
                                         "cache_write_tokens": 0},
                "output_tokens": u["out"],
                "output_tokens_details": {"reasoning_tokens": u["reasoning"]},
                "total_tokens": inp + u["out"]}

    def route(self, h: Handler, req: dict, u: dict, mode: str, nwords: int) -> None:
        path = h.path.split("?")[0]
        headers = {"x-request-id": "req_fake", "openai-organization": "org-fake",
                   "openai-project": "proj_fake", "x-ratelimit-limit-requests": "10000",
                   "x-ratelimit-remaining-requests": "9999"}
        if path == "/v1/chat/completions":
            self.chat(h, req, u, mode, nwords, headers)
        elif path == "/v1/responses/input_tokens":
            h.send_json(200, {"object": "response.input_tokens", "input_tokens": u["in"]})
        elif path == "/v1/responses" and h.command == "POST":
            self.responses(h, req, u, mode, nwords, headers)
        elif path.startswith("/v1/responses/"):
            self.stored_response(h, path.split("/")[3:], headers)
        elif path == "/v1/embeddings":
            self.embeddings(h, req, u, headers)
        elif path.startswith("/v1/models"):
            h.send_json(200, {"object": "list", "data": [
                {"id": mid, "object": "model", "created": 1721172741, "owned_by": owner}
                for mid, owner in (("gpt-4o-mini", "system"), ("gpt-5", "system"),
                                   ("o3-pro", "system"), ("whisper-1", "openai-internal"),
                                   ("ft:gpt-4o-mini:acme::abc123", "acme"))]}, headers)
        else:
            h.send_json(404, {"error": {"message": f"Invalid URL ({h.command} {path})",
                                        "type": "invalid_request_error", "param": None,
                                        "code": None}})

    def chat(self, h, req, u, mode, nwords, headers) -> None:
        text = words(nwords)
        base = {"id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1694268190,
                "model": self.CHAT_MODEL, "service_tier": served_tier(req),
                "system_fingerprint": "fp_0ba0d124f1"}
        if "stream_options" in req and not req.get("stream"):
            h.send_json(400, {"error": {"message": "stream_options is only allowed with stream",
                                        "type": "invalid_request_error",
                                        "param": "stream_options", "code": None}})
            return
        if not req.get("stream"):
            self.report(u)
            h.send_json(200, {
                "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion",
                "created": 1741569952, "model": self.CHAT_MODEL,
                "choices": [{"index": i, "message": {"role": "assistant",
                                                     "content": "".join(text),
                                                     "refusal": None, "annotations": []},
                             "logprobs": None, "finish_reason": "stop"}
                            for i in range(req.get("n") or 1)],
                "usage": self.chat_usage(u), "service_tier": served_tier(req),
                "system_fingerprint": "fp_0ba0d124f1"}, headers)
            return
        include = (req.get("stream_options") or {}).get("include_usage") is True
        h.start_stream("text/event-stream; charset=utf-8", headers)
        events = [sse(None, {**base, "choices": [{"index": 0, "delta": {
            "role": "assistant", "content": "", "refusal": None}, "logprobs": None,
            "finish_reason": None}], "usage": None})]
        for w in text:
            events.append(sse(None, {**base, "choices": [{"index": 0, "delta": {"content": w},
                                                          "logprobs": None,
                                                          "finish_reason": None}],
                                     "usage": None}))
        if mode == "error-event":
            events.append(sse(None, {"error": {"message": "The server had an error",
                                               "type": "server_error", "param": None,
                                               "code": None}}))
            h.stream_events(events, "")
            return
        events.append(sse(None, {**base, "choices": [{"index": 0, "delta": {},
                                                      "logprobs": None,
                                                      "finish_reason": "stop"}],
                                 "usage": None}))
        if include:
            events.append(sse(None, {**base, "choices": [], "usage": self.chat_usage(u)}))
        events.append(b"data: [DONE]\n\n")
        if h.stream_events(events, mode, final_after=3):
            self.report(u)

    def not_found(self, h, rid: str) -> None:
        h.send_json(404, {"error": {"message": f"Response with id '{rid}' not found.",
                                    "type": "invalid_request_error", "param": None,
                                    "code": None}})

    def stored_response(self, h, parts: list[str], headers) -> None:
        """GET / DELETE /v1/responses/{id}, POST /v1/responses/{id}/cancel. A background
        response is done by the time it is fetched: its usage appears only then."""
        rid = parts[0]
        with self.state.lock:
            resp = self.state.stored.get(rid)
        if resp is None:
            self.not_found(h, rid)
        elif h.command == "DELETE":
            with self.state.lock:
                del self.state.stored[rid]
            h.send_json(200, {"id": rid, "object": "response", "deleted": True}, headers)
        elif parts[1:] == ["cancel"]:
            h.send_json(200, {**resp, "status": "cancelled"}, headers)
        else:
            if resp["status"] == "queued":
                resp = {**resp, "status": "completed", **resp.pop("_later")}
                with self.state.lock:
                    self.state.stored[rid] = resp
                self.report(resp["_u"])
            h.send_json(200, {k: v for k, v in resp.items() if not k.startswith("_")},
                        headers)

    def responses(self, h, req, u, mode, nwords, headers) -> None:
        prev = req.get("previous_response_id")
        if prev and prev not in self.state.stored:
            self.not_found(h, prev)
            return
        text = "".join(words(nwords))
        rid = "resp_" + uuid.uuid4().hex
        resp = {"id": rid, "object": "response",
                "created_at": 1741290958, "status": "in_progress", "error": None,
                "incomplete_details": None, "instructions": None, "max_output_tokens": None,
                "model": self.RESP_MODEL, "output": [], "parallel_tool_calls": True,
                "previous_response_id": None, "reasoning": {"effort": None, "summary": None},
                "store": True, "temperature": 1.0, "text": {"format": {"type": "text"}},
                "tool_choice": "auto", "tools": [], "top_p": 1.0, "truncation": "disabled",
                "usage": None, "user": None, "metadata": {}, "service_tier": served_tier(req)}
        item = {"id": "msg_67c9fdcf37fc8190", "type": "message", "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}
        output = [item]
        if any(str(t.get("type", "")).startswith("web_search") for t in req.get("tools") or []):
            output = [{"id": f"ws_{i}", "type": "web_search_call", "status": "completed",
                       "action": {"type": "search", "query": "fake"}}
                      for i in range(h.searches)] + output
        for t in req.get("tools") or []:
            if t.get("type") == "code_interpreter":  # two runs in one container
                cid = t["container"] if isinstance(t.get("container"), str) else \
                    "cntr_" + uuid.uuid4().hex
                output = [{"id": f"ci_{i}", "type": "code_interpreter_call",
                           "status": "completed", "code": "print(1)", "container_id": cid,
                           "outputs": None} for i in range(2)] + output
                resp["tools"] = req["tools"]
        done = {**resp, "status": "completed", "output": output,
                "usage": self.responses_usage(u), "previous_response_id": prev}
        if req.get("background"):
            queued = {**resp, "status": "queued", "background": True}
            with self.state.lock:  # generated later; its usage shows on GET
                self.state.stored[rid] = {**queued, "_later": {
                    "output": output, "usage": self.responses_usage(u)}, "_u": u}
            h.send_json(200, queued, headers)
            return
        with self.state.lock:
            self.state.stored[rid] = done
        if not req.get("stream"):
            self.report(u)
            h.send_json(200, done, headers)
            return
        h.start_stream("text/event-stream; charset=utf-8", headers)
        seq = iter(range(1000))
        ev = lambda t, **kw: sse(t, {"type": t, "sequence_number": next(seq), **kw})  # noqa
        part = {"type": "output_text", "text": "", "annotations": []}
        events = [
            ev("response.created", response=resp),
            ev("response.in_progress", response=resp),
            ev("response.output_item.added", output_index=0,
               item={**item, "status": "in_progress", "content": []}),
            ev("response.content_part.added", item_id=item["id"], output_index=0,
               content_index=0, part=part),
        ]
        for w in words(nwords):
            events.append(ev("response.output_text.delta", item_id=item["id"], output_index=0,
                             content_index=0, delta=w, logprobs=[]))
        events += [
            ev("response.output_text.done", item_id=item["id"], output_index=0,
               content_index=0, text=text, logprobs=[]),
            ev("response.content_part.done", item_id=item["id"], output_index=0,
               content_index=0, part={**part, "text": text}),
            ev("response.output_item.done", output_index=0, item=item),
            ev("response.completed", response=done),
        ]
        if h.stream_events(events, mode):
            self.report(u)

    def embeddings(self, h, req, u, headers) -> None:
        inputs = req.get("input")
        inputs = inputs if isinstance(inputs, list) else [inputs]
        vec = [0.0023064255, -0.009327292, 0.015797347]
        if req.get("encoding_format") == "base64":
            emb = base64.b64encode(struct.pack("<3f", *vec)).decode()
        else:
            emb = vec
        self.report(u)
        h.send_json(200, {"object": "list",
                          "data": [{"object": "embedding", "index": i, "embedding": emb}
                                   for i in range(len(inputs))],
                          "model": "text-embedding-3-small",
                          "usage": {"prompt_tokens": u["in"], "total_tokens": u["in"]}}, headers)


# --- Gemini ------------------------------------------------------------------------------------


class FakeGemini(FakeServer):
    provider = "gemini"
    MODEL_VERSION = "gemini-2.5-flash"

    def output_cap(self, req: dict) -> int | None:
        cfg = req.get("generationConfig") or req.get("generation_config") or {}
        # proto3's JSON mapping: integers also as strings ("8") or whole floats (8.0).
        cap = int(cfg.get("maxOutputTokens") or cfg.get("max_output_tokens") or 0)
        return cap * int(cfg.get("candidateCount") or 1) if cap else None

    def authorized(self, h: Handler) -> bool:
        if h.path.startswith("/v1beta/openai/"):
            return h.headers.get("authorization") == f"Bearer {self.state.secret}"
        m = re.search(r"[?&]key=([^&]*)", h.path)
        key = m.group(1) if m else h.headers.get("x-goog-api-key")
        return key == self.state.secret

    def auth_error(self):
        return 400, {"error": {"code": 400, "message": "API key not valid. Please pass a "
                               "valid API key.", "status": "INVALID_ARGUMENT",
                               "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                            "reason": "API_KEY_INVALID",
                                            "domain": "googleapis.com"}]}}

    def error_body(self, status: int) -> dict:
        name = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE", 500: "INTERNAL"}.get(
            status, "INTERNAL")
        return {"error": {"code": status, "message": "fake failure", "status": name}}

    def usage_meta(self, u: dict, candidates: int | None = None) -> dict:
        cand = u["out"] - u["reasoning"] if candidates is None else candidates
        prompt = u["in"] + u["cache_read"]
        meta = {"promptTokenCount": prompt, "candidatesTokenCount": cand,
                "totalTokenCount": prompt + cand + u["reasoning"],
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
        if u["reasoning"]:
            meta["thoughtsTokenCount"] = u["reasoning"]
        if u["cache_read"]:
            meta["cachedContentTokenCount"] = u["cache_read"]
        return meta

    # The OpenAI-compatible API (v1beta/openai/...) answers as OpenAI does.
    CHAT_MODEL = "gemini-2.5-flash"
    chat_usage = FakeOpenAI.chat_usage
    chat = FakeOpenAI.chat

    def route(self, h: Handler, req: dict, u: dict, mode: str, nwords: int) -> None:
        path = h.path.split("?")[0]
        if path.startswith("/v1beta/openai/"):
            self.openai_compatible(h, path.removeprefix("/v1beta/openai/"), req, u, mode,
                                   nwords)
            return
        m = re.fullmatch(r"/(v1|v1beta|v1alpha)/models/([^/:]+):(\w+)", path)
        if m and m.group(3) in ("generateContent", "streamGenerateContent"):
            searched = any("google_search" in t or "googleSearch" in t
                           for t in req.get("tools") or [] if isinstance(t, dict))
            candidates = (req.get("generationConfig") or {}).get("candidateCount") or 1
            candidates = int(candidates)  # proto3 JSON: "8" and 8.0 are 8
            self.generate(h, m.group(3) == "streamGenerateContent", u, mode, nwords,
                          h.searches if searched else 0, candidates, m.group(2))
        elif m and m.group(3) == "countTokens":
            h.send_json(200, {"totalTokens": u["in"],
                              "promptTokensDetails": [{"modality": "TEXT",
                                                       "tokenCount": u["in"]}]})
        elif m and m.group(3) in ("embedContent", "batchEmbedContents"):
            vec = {"values": [0.013168523, -0.008711934, -0.046782676]}
            self.report({**u, "out": 0})
            meta = {"promptTokenCount": u["in"], "totalTokenCount": u["in"]}
            if m.group(3) == "embedContent":
                h.send_json(200, {"embedding": vec, "usageMetadata": meta})
            else:
                n = len(req.get("requests") or [1])
                h.send_json(200, {"embeddings": [vec] * n, "usageMetadata": meta})
        elif re.fullmatch(r"/(v1|v1beta|v1alpha)/models(/[^/]+)?", path):
            h.send_json(200, {"models": [{
                "name": "models/gemini-2.5-flash", "version": "001",
                "displayName": "Gemini 2.5 Flash", "inputTokenLimit": 1048576,
                "outputTokenLimit": 65536,
                "supportedGenerationMethods": ["generateContent", "countTokens"]}]})
        else:
            h.send_json(404, {"error": {"code": 404, "message": f"{path} is not found",
                                        "status": "NOT_FOUND"}})

    def openai_compatible(self, h, path, req, u, mode, nwords) -> None:
        if path == "chat/completions":
            self.chat(h, req, u, mode, nwords, {})
        elif path == "embeddings":
            self.report({**u, "out": 0})
            h.send_json(200, {"object": "list", "data": [
                {"object": "embedding", "index": 0, "embedding": [0.0131, -0.0087]}],
                "model": "gemini-embedding-001",
                "usage": {"prompt_tokens": u["in"], "total_tokens": u["in"]}})
        elif path.startswith("models"):
            h.send_json(200, {"object": "list", "data": [
                {"id": "models/gemini-2.5-flash", "object": "model", "created": 0,
                 "owned_by": "google"}]})
        else:  # errors of this API come as a list, in Google's shape
            h.send_json(404, [{"error": {"code": 404, "message": f"{path} is not found",
                                         "status": "NOT_FOUND"}}])

    def chunk_obj(self, text: str, meta: dict, finish: bool, searches: int = 0,
                  candidates: int = 1, model: str = MODEL_VERSION) -> dict:
        cands = []
        for i in range(candidates):
            cand = {"content": {"parts": [{"text": text}], "role": "model"}, "index": i}
            if finish:
                cand["finishReason"] = "STOP"
                if searches:  # grounding metadata comes with the last chunk
                    cand["groundingMetadata"] = {
                        "webSearchQueries": [f"query {q}" for q in range(searches)],
                        "groundingChunks": [{"web": {"uri": "https://example.com",
                                                     "title": "example.com"}}]}
            cands.append(cand)
        return {"candidates": cands, "usageMetadata": meta,
                "modelVersion": model, "responseId": "IZI2acSKMoWl0-kPmYj2yQc"}

    def generate(self, h, stream: bool, u, mode, nwords, searches: int = 0,
                 candidates: int = 1, model: str = MODEL_VERSION) -> None:
        text = words(nwords)
        if not stream:
            self.report(u)
            h.send_json(200, field_mask(h.path, self.chunk_obj(
                "".join(text), self.usage_meta(u), True, searches, candidates, model)))
            return
        # Running totals: candidates grow chunk by chunk, the last one is final.
        n = max(1, len(text))
        objs = [self.chunk_obj(w, self.usage_meta(u, candidates=max(
            1, (u["out"] - u["reasoning"]) * (i + 1) // n)), i == n - 1, searches, candidates,
            model)
            for i, w in enumerate(text or [""])]
        if mode == "error-event":
            objs.insert(len(objs) - 1, {"error": {"code": 500, "message": "Internal error",
                                                  "status": "INTERNAL"}})
            objs = objs[:-1]
        sse_mode = "alt=sse" in h.path
        g = lambda o: json.dumps(o, separators=(",", ": "))  # noqa: E731 (Google's spacing)
        if sse_mode:
            h.start_stream("text/event-stream")
            events = [f"data: {g(o)}\r\n\r\n".encode() for o in objs]
        else:
            h.start_stream("application/json; charset=UTF-8")
            pretty = [json.dumps(o, indent=2).replace("\n", "\r\n") for o in objs]
            events = [b"[" + pretty[0].encode()]
            events += [b"\r\n,\r\n" + p.encode() for p in pretty[1:]]
            events.append(b"\r\n]")
        if h.stream_events(events, mode, final_after=1) and mode != "error-event":
            self.report(u)


def start_all(secrets: dict[str, str], host: str = "127.0.0.1") -> dict[str, FakeServer]:
    return {
        "anthropic": FakeAnthropic(secrets["anthropic"], host).start(),
        "openai": FakeOpenAI(secrets["openai"], host).start(),
        "gemini": FakeGemini(secrets["gemini"], host).start(),
    }


# The demo (`./start.sh --demo`): the three fakes on fixed loopback ports, keeping no record
# of what they answer, until stopped.
DEMO_SECRETS = {"anthropic": "demo-anthropic-key", "openai": "demo-openai-key",
                "gemini": "demo-gemini-key"}
DEMO_PORTS = {"anthropic": 18481, "openai": 18482, "gemini": 18483}


def serve_demo() -> None:
    classes = {"anthropic": FakeAnthropic, "openai": FakeOpenAI, "gemini": FakeGemini}
    servers = [classes[name](DEMO_SECRETS[name], "127.0.0.1", port).start()
               for name, port in DEMO_PORTS.items()]
    for server in servers:
        server.state.requests = _Forgetful()
    threading.Event().wait()


class _Forgetful(list):
    def append(self, item) -> None:  # a demo runs for days: nothing is kept
        pass


if __name__ == "__main__":
    serve_demo()
