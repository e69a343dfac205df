"""What the fake providers share: the per-request behaviour headers, the recorded requests,
the HTTP server and its handler, stream writing and the words they answer with."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
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
        self.stored_chats: dict[str, dict] = {}  # OpenAI's stored chat completions, by id
        # More keys of the business's account, each with its behaviour (see `key`):
        self.keys: dict[str, str] = {}
        self.key_counts: dict[str, int] = {}  # requests each key presented (valid or not)
        self.limited_until: dict[str, float] = {}  # a rate-limited key's reset

    def key(self, secret: str, behaviour: str = "ok") -> None:
        """Accept `secret` too, behaving so:
          ok                serves
          limited:S         429 with the provider's reset headers for S seconds, then serves
          revoked           the provider's invalid-key answer
          no-credit         the provider's out-of-credit answer
          overloaded:N      the first N requests: 529 (Anthropic) or 503
          drop:N            the first N requests: the connection closed, nothing answered
          cut:N             streams cut after N events (the status already 200)
          room:R/L          serves, reporting R of L requests left in its rate-limit headers"""
        with self.lock:
            self.keys[secret] = behaviour
            if behaviour.startswith("limited:"):
                self.limited_until[secret] = time.time() + float(behaviour.split(":")[1])

    def count(self, secret: str) -> int:
        with self.lock:
            return self.key_counts.get(secret, 0)

    def release(self) -> None:
        self.hold.set()



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
        for k, v in {**(headers or {}), **(getattr(self, "limits", None) or {})}.items():
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
        for k, v in {**(headers or {}), **(getattr(self, "limits", None) or {})}.items():
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

    def keyed(self, secret: str, behaviour: str) -> bool:
        """A key's own behaviour; True when it answered (or hung up) instead of serving."""
        kind, _, arg = behaviour.partition(":")
        server = self.server
        if kind == "revoked":
            self.send_json(*server.auth_error())
            return True
        if kind == "no-credit":
            self.send_json(*server.no_credit())
            return True
        if kind == "limited":
            left = self.state.limited_until.get(secret, 0) - time.time()
            if left > 0:
                self.send_json(429, server.error_body(429, left), server.limit_headers(0, left))
                return True
        if kind in ("overloaded", "drop"):
            with self.state.lock:
                n = self.state.fail_counts.get(behaviour + secret, 0)
                self.state.fail_counts[behaviour + secret] = n + 1
            if n < int(arg):
                if kind == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                else:
                    status = 529 if server.provider == "anthropic" else 503
                    self.send_json(status, server.error_body(status))
                return True
        remaining, _, limit = arg.partition("/") if kind == "room" else ("999", "", "1000")
        self.limits = server.limit_headers(int(remaining), 30.0, int(limit or 1000))
        return False

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
        self.limits = {}
        presented = self.server.presented(self)
        with self.state.lock:
            self.state.key_counts[presented] = self.state.key_counts.get(presented, 0) + 1
            behaviour = self.state.keys.get(presented)
        if behaviour is None and not self.server.authorized(self):
            status, obj = self.server.auth_error()
            self.send_json(status, obj)
            return
        if behaviour is not None and self.keyed(presented, behaviour):
            return
        if behaviour and behaviour.startswith("cut:"):
            mode = behaviour
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

    def limit_headers(self, remaining: int, reset: float, limit: int = 1000) -> dict:
        """The provider's rate-limit headers for a key (none by default: Gemini sends none)."""
        return {}

    def no_credit(self) -> tuple[int, dict]:
        return 402, self.error_body(402)


# --- Anthropic ---------------------------------------------------------------------------------


def sse(event: str | None, obj, pad: bool = False) -> bytes:
    data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    if pad:  # real captures pad the JSON before the closing brace
        data = data[:-1] + "    }"
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()
