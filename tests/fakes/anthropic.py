"""The fake Anthropic: Messages (SSE with padded JSON and pings), token counting, models."""

from __future__ import annotations

import json
import math
import re
import time
from datetime import UTC, datetime

from .base import FakeServer, Handler, sse, words


class FakeAnthropic(FakeServer):
    provider = "anthropic"
    MODEL = "claude-sonnet-4-5-20250929"

    def output_cap(self, req: dict) -> int | None:
        return req.get("max_tokens")

    def presented(self, h: Handler) -> str:
        return h.headers.get("x-api-key") or ""

    def authorized(self, h: Handler) -> bool:
        return h.headers.get("x-api-key") == self.state.secret and not h.headers.get(
            "authorization")

    def limit_headers(self, remaining: int, reset: float, limit: int = 1000) -> dict:
        at = datetime.fromtimestamp(time.time() + reset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out = {"anthropic-ratelimit-requests-limit": str(limit),
               "anthropic-ratelimit-requests-remaining": str(remaining),
               "anthropic-ratelimit-requests-reset": at,
               "anthropic-ratelimit-tokens-limit": "400000",
               "anthropic-ratelimit-tokens-remaining": "399000",
               "anthropic-ratelimit-tokens-reset": at}
        if remaining == 0:
            out["retry-after"] = str(max(1, math.ceil(reset)))
        return out

    def no_credit(self) -> tuple[int, dict]:
        return 400, {"type": "error", "error": {
            "type": "invalid_request_error", "message": "Your credit balance is too low to "
            "access the Anthropic API. Please go to Plans & Billing to upgrade or purchase "
            "credits."}, "request_id": "req_fake"}

    def auth_error(self):
        return 401, {"type": "error", "error": {"type": "authentication_error",
                                                "message": "invalid x-api-key"},
                     "request_id": "req_fake"}

    def error_body(self, status: int, wait: float | None = None) -> dict:
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

    def blocks(self, req: dict, text: list[str]) -> tuple[list[dict], str]:
        """The answer's content blocks and stop reason, as the Messages API gives them:
        thinking first (with a signature) when thinking is on; tool calls when tools are
        offered, not refused, and the last turn is not a tool's result (text before them, two
        in parallel unless parallel use is disabled); JSON text for a structured output."""
        blocks: list[dict] = []
        thinking = req.get("thinking") or {}
        if thinking.get("type") in ("enabled", "adaptive"):
            blocks.append({"type": "thinking", "thinking": "Let me think about the weather.",
                           "signature": SIGNATURE})
        choice = (req.get("tool_choice") or {}).get("type", "auto")
        last = (req.get("messages") or [{}])[-1]
        answered = isinstance(last.get("content"), list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in last["content"])
        tools = [t for t in req.get("tools") or [] if "input_schema" in t]
        if tools and choice != "none" and not answered:
            blocks.append({"type": "text", "text": "Let me check."})
            parallel = not (req.get("tool_choice") or {}).get("disable_parallel_tool_use")
            for i, city in enumerate(("Paris", "Rome") if parallel else ("Paris",)):
                blocks.append({"type": "tool_use", "id": f"toolu_01A{i}{len(req['messages'])}",
                               "name": tools[0]["name"], "input": example(
                                   tools[0]["input_schema"], city)})
            return blocks, "tool_use"
        fmt = (req.get("output_config") or {}).get("format")
        if fmt and fmt.get("type") == "json_schema":
            blocks.append({"type": "text", "text": json.dumps(example(fmt["schema"], "Paris"))})
            return blocks, "end_turn"
        blocks.append({"type": "text", "text": "".join(text)})
        return blocks, "end_turn"

    def refuse_replay(self, req: dict) -> str | None:
        """The API's checks on a multi-turn tool conversation with thinking on: each
        assistant turn that used tools starts with its thinking block, signature intact."""
        if (req.get("thinking") or {}).get("type") not in ("enabled", "adaptive"):
            if any(b.get("type") in ("thinking", "redacted_thinking")
                   for m in req.get("messages") or [] if isinstance(m.get("content"), list)
                   for b in m["content"]):
                return "thinking blocks were sent while thinking is disabled"
            return None
        for i, m in enumerate(req.get("messages") or []):
            content = m.get("content") if m.get("role") == "assistant" else None
            if isinstance(content, list) and any(b.get("type") == "tool_use" for b in content):
                first = content[0]
                if first.get("type") not in ("thinking", "redacted_thinking"):
                    return (f"messages.{i}.content.0.type: Expected `thinking` or "
                            f"`redacted_thinking`, but found `{first.get('type')}`. When "
                            "`thinking` is enabled, a final `assistant` message must start "
                            "with a thinking block.")
                if first.get("type") == "thinking" and first.get("signature") != SIGNATURE:
                    return f"messages.{i}.content.0: Invalid `signature` in `thinking` block"
        return None

    def messages(self, h, req, u, mode, nwords) -> None:
        text = words(nwords)
        if any(str(t.get("type", "")).startswith("web_search") for t in req.get("tools") or []):
            u = {**u, "searches": h.searches}
        model = req.get("model") or self.MODEL
        headers = {"request-id": "req_fake", "anthropic-organization-id": "org-fake",
                   "anthropic-ratelimit-requests-limit": "4000",
                   "anthropic-ratelimit-requests-remaining": "3999"}
        refused = self.refuse_replay(req)
        if refused:
            h.send_json(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                         "message": refused},
                              "request_id": "req_fake"})
            return
        blocks, stop = self.blocks(req, text)
        if not req.get("stream"):
            self.report(u)
            h.send_json(200, {
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
                "model": model, "content": blocks,
                "stop_reason": stop, "stop_sequence": None,
                "usage": {**self.usage_obj(u), "service_tier": "standard"}}, headers)
            return
        h.start_stream("text/event-stream; charset=utf-8", headers)
        events = [
            sse("message_start", {"type": "message_start", "message": {
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
                "model": model, "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {**self.usage_obj(u, output=1), "service_tier": "standard"}}}),
        ]
        for index, block in enumerate(blocks):
            events += stream_block(index, block)
            if index == 0:
                events.append(b'event: ping\ndata: {"type": "ping"}\n\n')
        if mode == "error-event":
            events.insert(len(events) - 1, b'event: error\ndata: {"type": "error", "error": '
                          b'{"type": "overloaded_error", "message": "Overloaded"}}\n\n')
            h.stream_events(events, "")
            return
        events += [
            # Two message_deltas, cumulative: a parser that sums them double-counts.
            sse("message_delta", {"type": "message_delta",
                                  "delta": {"stop_reason": None, "stop_sequence": None},
                                  "usage": {"output_tokens": max(1, u["out"] // 2)}}),
            sse("message_delta", {"type": "message_delta",
                                  "delta": {"stop_reason": stop, "stop_sequence": None},
                                  "usage": self.usage_obj(u)}),
            sse("message_stop", {"type": "message_stop"}, pad=True),
        ]
        if h.stream_events(events, mode, final_after=3):
            self.report(u)


SIGNATURE = "EqQBCkYIBxgCKkCfakeSignatureOfTheThinkingBlock"


def example(schema: dict, city: str):
    """A value that fits a JSON schema (objects, arrays, the scalar types, enums), with an
    object's required properties only where it names them, as a model fills a call."""
    kind = schema.get("type")
    if schema.get("enum"):
        return schema["enum"][0]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        needed = schema.get("required")
        return {name: example(sub, city) for name, sub in props.items()
                if needed is None or name in needed}
    if kind == "array":
        return [example(schema.get("items") or {}, city)]
    return {"integer": 18, "number": 18.5, "boolean": True}.get(kind, city)


def stream_block(index: int, block: dict) -> list[bytes]:
    """One content block as the stream sends it: its start (empty), its deltas in pieces
    (text by word, tool input as partial JSON in three pieces, thinking then its signature),
    its stop."""
    kind = block["type"]
    empty = {"text": {"type": "text", "text": ""},
             "thinking": {"type": "thinking", "thinking": "", "signature": ""},
             "tool_use": {"type": "tool_use", "id": block.get("id"), "name": block.get("name"),
                          "input": {}}}[kind]
    out = [sse("content_block_start", {"type": "content_block_start", "index": index,
                                       "content_block": empty})]

    def delta(d: dict) -> bytes:
        return sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                           "delta": d})

    if kind == "text":
        for piece in re.findall(r"\S*\s*", block["text"]):
            if piece:
                out.append(delta({"type": "text_delta", "text": piece}))
    elif kind == "thinking":
        out.append(delta({"type": "thinking_delta", "thinking": block["thinking"]}))
        out.append(delta({"type": "signature_delta", "signature": block["signature"]}))
    else:
        raw = json.dumps(block["input"])
        third = max(1, len(raw) // 3)
        for piece in (raw[:third], raw[third:2 * third], raw[2 * third:]):
            if piece:
                out.append(delta({"type": "input_json_delta", "partial_json": piece}))
    out.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    return out


# --- OpenAI ------------------------------------------------------------------------------------
