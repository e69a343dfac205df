"""The fake OpenAI: Chat Completions (data-only SSE, [DONE], the include_usage chunk; with
`store: true` kept, listed with metadata filters and cursors, read, updated, deleted, their
messages listed), Responses (named events, a store of responses and their input items,
compaction), Embeddings, models."""

from __future__ import annotations

import base64
import json
import struct
import uuid

from .anthropic import example
from .base import FakeServer, Handler, sse, words


def served_tier(req: dict) -> str:
    """The tier OpenAI reports it served a request in: the one asked for where the project may
    use it, else the default (auto, and a tier not asked for, are the default here)."""
    return req.get("service_tier") if req.get("service_tier") in ("flex", "priority") \
        else "default"


class FakeOpenAI(FakeServer):
    provider = "openai"
    CHAT_MODEL = "gpt-4o-mini-2024-07-18"
    RESP_MODEL = "gpt-4.1-mini-2025-04-14"

    def output_cap(self, req: dict) -> int | None:
        cap = req.get("max_output_tokens") or req.get("max_completion_tokens") \
            or req.get("max_tokens")
        return cap * (req.get("n") or 1) if cap else None

    def presented(self, h: Handler) -> str:
        return (h.headers.get("authorization") or "").removeprefix("Bearer ")

    def authorized(self, h: Handler) -> bool:
        return h.headers.get("authorization") == f"Bearer {self.state.secret}"

    def limit_headers(self, remaining: int, reset: float, limit: int = 1000) -> dict:
        return {"x-ratelimit-limit-requests": str(limit),
                "x-ratelimit-remaining-requests": str(remaining),
                "x-ratelimit-reset-requests": f"{reset:.3f}s",
                "x-ratelimit-limit-tokens": "200000", "x-ratelimit-remaining-tokens": "199000",
                "x-ratelimit-reset-tokens": "6m0s"}

    def no_credit(self) -> tuple[int, dict]:
        return 429, {"error": {"message": "You exceeded your current quota, please check your "
                               "plan and billing details.", "type": "insufficient_quota",
                               "param": None, "code": "insufficient_quota"}}

    def auth_error(self):
        return 401, {"error": {"message": "Incorrect API key provided.",
                               "type": "invalid_request_error", "param": None,
                               "code": "invalid_api_key"}}

    def error_body(self, status: int, wait: float | None = None) -> dict:
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
        if path == "/v1/chat/completions" and h.command == "POST":
            self.chat(h, req, u, mode, nwords, headers)
        elif path.startswith("/v1/chat/completions"):
            self.stored_chat(h, req, path.split("/")[4:], headers)
        elif path == "/v1/responses/compact" and h.command == "POST":
            self.compact(h, req, u, headers)
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

    def store_chat(self, req: dict, cid: str, message: dict) -> None:
        """A stored completion (`store: true`), as GET /v1/chat/completions/{id} shows it."""
        with self.state.lock:
            self.state.stored_chats[cid] = {
                "id": cid, "object": "chat.completion", "created": 1741569952 + len(
                    self.state.stored_chats), "model": self.CHAT_MODEL,
                "metadata": req.get("metadata") or {},
                "choices": [{"index": 0, "message": message, "finish_reason": "stop",
                             "logprobs": None}],
                "_messages": [{"id": f"{cid}-{i}", "role": m.get("role"),
                               "content": m.get("content")}
                              for i, m in enumerate(req.get("messages") or [])]}

    def stored_chat(self, h, req, parts: list[str], headers) -> None:
        """GET (list), GET / POST (update metadata) / DELETE one, GET its messages."""
        with self.state.lock:
            chats = dict(self.state.stored_chats)
        public = lambda c: {k: v for k, v in c.items() if not k.startswith("_")}  # noqa
        if not parts:  # the list: metadata[k]=v filters (all must match), cursor, order
            from urllib.parse import parse_qsl, urlsplit

            query = parse_qsl(urlsplit(h.path).query)
            wanted = {k[9:-1]: v for k, v in query if k.startswith("metadata[")}
            q = dict(query)
            found = sorted((c for c in chats.values() if all(
                c["metadata"].get(k) == v for k, v in wanted.items())
                and q.get("model") in (None, c["model"])), key=lambda c: c["created"],
                reverse=q.get("order") != "asc")
            ids = [c["id"] for c in found]
            start = ids.index(q["after"]) + 1 if q.get("after") in ids else 0
            page = found[start:start + int(q.get("limit") or 20)]
            h.send_json(200, {"object": "list", "data": [public(c) for c in page],
                              "first_id": page[0]["id"] if page else None,
                              "last_id": page[-1]["id"] if page else None,
                              "has_more": start + len(page) < len(found)}, headers)
            return
        chat = chats.get(parts[0])
        if chat is None:
            h.send_json(404, {"error": {"message": f"Completion with id '{parts[0]}' not "
                                        "found.", "type": "invalid_request_error",
                                        "param": None, "code": None}})
        elif parts[1:] == ["messages"]:
            data = chat["_messages"]
            h.send_json(200, {"object": "list", "data": data, "first_id": data[0]["id"],
                              "last_id": data[-1]["id"], "has_more": False}, headers)
        elif h.command == "DELETE":
            with self.state.lock:
                del self.state.stored_chats[parts[0]]
            h.send_json(200, {"object": "chat.completion.deleted", "id": parts[0],
                              "deleted": True}, headers)
        elif h.command == "POST":  # the metadata, replaced whole
            if len(req.get("metadata") or {}) > 16:
                h.send_json(400, {"error": {"message": "Invalid 'metadata': too many "
                                            "properties. Expected an object with at most 16 "
                                            "properties.", "type": "invalid_request_error",
                                            "param": "metadata", "code": "object_above_max_"
                                            "properties"}})
                return
            with self.state.lock:
                chat = self.state.stored_chats[parts[0]] = {**chat,
                                                            "metadata": req["metadata"]}
            h.send_json(200, public(chat), headers)
        else:
            h.send_json(200, public(chat), headers)

    def compact(self, h, req, u, headers) -> None:
        """POST /v1/responses/compact: the user messages kept, the rest one opaque item."""
        items = req.get("input")
        items = [{"role": "user", "content": items}] if isinstance(items, str) else items or []
        kept = [{"id": f"msg_c{i}", "type": "message", "status": "completed", "role": "user",
                 "content": [{"type": "input_text", "text": str(it.get("content"))}]}
                for i, it in enumerate(items) if it.get("role") == "user"]
        self.report(u)
        h.send_json(200, {"id": "cmp_" + uuid.uuid4().hex, "object": "response.compaction",
                          "created_at": 1741290958, "output": [*kept, {
                              "id": "cmpi_1", "type": "compaction",
                              "encrypted_content": "gAAAAfakecompaction"}],
                          "usage": self.responses_usage(u)}, headers)

    def chat(self, h, req, u, mode, nwords, headers) -> None:
        text = words(nwords)
        cid = "chatcmpl-" + uuid.uuid4().hex[:29] if req.get("store") else "chatcmpl-123"
        if req.get("store"):
            self.store_chat(req, cid, {"role": "assistant", "content": "".join(text)})
        base = {"id": cid, "object": "chat.completion.chunk", "created": 1694268190,
                "model": self.CHAT_MODEL, "service_tier": served_tier(req),
                "system_fingerprint": "fp_0ba0d124f1"}
        if "stream_options" in req and not req.get("stream"):
            h.send_json(400, {"error": {"message": "stream_options is only allowed with stream",
                                        "type": "invalid_request_error",
                                        "param": "stream_options", "code": None}})
            return
        calls = tool_calls(req)
        if not req.get("stream"):
            self.report(u)
            message = {"role": "assistant", "content": None if calls else "".join(text),
                       "refusal": None, "annotations": []}
            if calls:
                message["tool_calls"] = calls
            h.send_json(200, {
                "id": cid if req.get("store") else "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
                "object": "chat.completion",
                "created": 1741569952, "model": self.CHAT_MODEL,
                "choices": [{"index": i, "message": message, "logprobs": None,
                             "finish_reason": "tool_calls" if calls else "stop"}
                            for i in range(req.get("n") or 1)],
                "usage": self.chat_usage(u), "service_tier": served_tier(req),
                "system_fingerprint": "fp_0ba0d124f1"}, headers)
            return
        include = (req.get("stream_options") or {}).get("include_usage") is True
        h.start_stream("text/event-stream; charset=utf-8", headers)
        events = [sse(None, {**base, "choices": [{"index": 0, "delta": {
            "role": "assistant", "content": "", "refusal": None}, "logprobs": None,
            "finish_reason": None}], "usage": None})]
        for w in ([] if calls else text):
            events.append(sse(None, {**base, "choices": [{"index": 0, "delta": {"content": w},
                                                          "logprobs": None,
                                                          "finish_reason": None}],
                                     "usage": None}))
        for k, call in enumerate(calls):  # announced with id and name, arguments in pieces
            args = call["function"]["arguments"]
            pieces = [{"index": k, "id": call["id"], "type": "function",
                       "function": {"name": call["function"]["name"], "arguments": ""}}]
            pieces += [{"index": k, "function": {"arguments": args[i:i + 7]}}
                       for i in range(0, len(args), 7)]
            events += [sse(None, {**base, "choices": [{"index": 0, "delta": {"tool_calls": [p]},
                                                       "logprobs": None,
                                                       "finish_reason": None}],
                                  "usage": None}) for p in pieces]
        if mode == "error-event":
            events.append(sse(None, {"error": {"message": "The server had an error",
                                               "type": "server_error", "param": None,
                                               "code": None}}))
            h.stream_events(events, "")
            return
        events.append(sse(None, {**base, "choices": [{"index": 0, "delta": {},
                                                      "logprobs": None,
                                                      "finish_reason": "tool_calls" if calls
                                                      else "stop"}],
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
        elif parts[1:] == ["input_items"]:
            data = resp.get("_input") or []
            h.send_json(200, {"object": "list", "data": data,
                              "first_id": data[0]["id"] if data else None,
                              "last_id": data[-1]["id"] if data else None,
                              "has_more": False}, headers)
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
        fmt = (req.get("text") or {}).get("format") or {}
        if fmt.get("type") == "json_schema":  # structured output: JSON that fits the schema
            text = json.dumps(example(fmt.get("schema") or {}, "Paris"))
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
        output = response_calls(req) or [item]
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
        given = req.get("input")
        given = [{"role": "user", "content": given}] if isinstance(given, str) else given or []
        inputs = [{"id": f"msg_in{i}", "type": "message", "status": "completed",
                   **{k: v for k, v in it.items() if k != "id"},
                   **({"content": [{"type": "input_text", "text": it["content"]}]}
                      if isinstance(it.get("content"), str) else {})}
                  for i, it in enumerate(given)]  # as input_items lists them: parts
        if req.get("background"):
            queued = {**resp, "status": "queued", "background": True}
            with self.state.lock:  # generated later; its usage shows on GET
                self.state.stored[rid] = {**queued, "_later": {
                    "output": output, "usage": self.responses_usage(u)}, "_u": u}
            h.send_json(200, queued, headers)
            return
        with self.state.lock:
            self.state.stored[rid] = {**done, "_input": inputs}
        if not req.get("stream"):
            self.report(u)
            h.send_json(200, done, headers)
            return
        h.start_stream("text/event-stream; charset=utf-8", headers)
        seq = iter(range(1000))
        ev = lambda t, **kw: sse(t, {"type": t, "sequence_number": next(seq), **kw})  # noqa
        events = [ev("response.created", response=resp),
                  ev("response.in_progress", response=resp)]
        for i, it in enumerate(output):
            if it["type"] == "message":
                events += message_events(ev, i, it, [text] if fmt.get("type") ==
                                         "json_schema" else words(nwords))
            elif it["type"] == "function_call":
                events.append(ev("response.output_item.added", output_index=i,
                                 item={**it, "status": "in_progress", "arguments": ""}))
                args = it["arguments"]
                for piece in (args[:len(args) // 2], args[len(args) // 2:]):
                    events.append(ev("response.function_call_arguments.delta",
                                     item_id=it["id"], output_index=i, delta=piece))
                events += [ev("response.function_call_arguments.done", item_id=it["id"],
                              output_index=i, arguments=args),
                           ev("response.output_item.done", output_index=i, item=it)]
            else:
                events += [ev("response.output_item.added", output_index=i, item=it),
                           ev("response.output_item.done", output_index=i, item=it)]
        events.append(ev("response.completed", response=done))
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


def message_events(ev, i: int, item: dict, pieces: list[str]) -> list[bytes]:
    """A message output item as the stream sends it: added, its text by word, done."""
    text = item["content"][0]["text"]
    part = {"type": "output_text", "text": "", "annotations": []}
    return [
        ev("response.output_item.added", output_index=i,
           item={**item, "status": "in_progress", "content": []}),
        ev("response.content_part.added", item_id=item["id"], output_index=i,
           content_index=0, part=part),
        *(ev("response.output_text.delta", item_id=item["id"], output_index=i,
             content_index=0, delta=w, logprobs=[]) for w in pieces),
        ev("response.output_text.done", item_id=item["id"], output_index=i,
           content_index=0, text=text, logprobs=[]),
        ev("response.content_part.done", item_id=item["id"], output_index=i,
           content_index=0, part={**part, "text": text}),
        ev("response.output_item.done", output_index=i, item=item),
    ]


def response_calls(req: dict) -> list[dict]:
    """The function calls a response makes, as tool_calls() for Chat: when function tools
    are offered (alone or in a namespace), not refused, and the last input item is not a
    function's output, the first function for two cities (one unless parallel calls are
    off), its arguments the function's required parameters."""
    fns = [{**f, "namespace": t["name"]} if t.get("type") == "namespace" else t
           for t in req.get("tools") or []
           for f in (t.get("tools") or [] if t.get("type") == "namespace" else [t])
           if f.get("type") == "function"]
    items = req.get("input")
    last = items[-1] if isinstance(items, list) and items else {}
    if not fns or req.get("tool_choice") == "none" or \
            last.get("type") == "function_call_output":
        return []
    cities = ("Paris",) if req.get("parallel_tool_calls") is False else ("Paris", "Rome")
    n = len(items) if isinstance(items, list) else 1
    return [{"id": f"fc_{i}a{n}", "type": "function_call", "status": "completed",
             "call_id": f"call_{i}r{n}", "name": fns[0]["name"],
             "arguments": json.dumps(example(fns[0].get("parameters") or {}, city)),
             **({"namespace": fns[0]["namespace"]} if "namespace" in fns[0] else {})}
            for i, city in enumerate(cities)]


# --- Gemini ------------------------------------------------------------------------------------


def tool_calls(req: dict) -> list[dict]:
    """The calls a chat completion makes, as OpenAI's models do: when function tools are
    offered, not refused, and the last message is not a tool's result, the first function
    for two cities (one unless parallel calls are off)."""
    tools = [t for t in req.get("tools") or [] if t.get("type") == "function"]
    last = (req.get("messages") or [{}])[-1]
    if not tools or req.get("tool_choice") == "none" or last.get("role") == "tool":
        return []
    cities = ("Paris",) if req.get("parallel_tool_calls") is False else ("Paris", "Rome")
    name = tools[0]["function"]["name"]
    return [{"id": f"call_{i}abc{len(req['messages'])}", "type": "function",
             "function": {"name": name, "arguments": json.dumps({"city": c})}}
            for i, c in enumerate(cities)]
