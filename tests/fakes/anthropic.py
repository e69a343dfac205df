"""The fake Anthropic: Messages (SSE with padded JSON and pings), token counting, models."""

from __future__ import annotations

from .base import FakeServer, Handler, sse, words


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
