"""Anthropic's usage, as its Messages answers report it: the token fields (cumulative in a
stream's message_delta events, never summed), the one-hour cache writes, and server-side tools
billed per call."""

from __future__ import annotations

from addons.wire.usage import BodyResult, Format, SSEParser, Usage, count, loads, stop_reason


def anthropic_usage(u: dict) -> Usage:
    details = u.get("output_tokens_details") or {}
    writes = u.get("cache_creation")  # by lifetime: five minutes, or one hour at a higher price
    return Usage.of(
        input_tokens=count(u.get("input_tokens")),
        cache_read_tokens=count(u.get("cache_read_input_tokens")),
        cache_write_tokens=count(u.get("cache_creation_input_tokens")),
        output_tokens=count(u.get("output_tokens")),
        reasoning_tokens=count(details.get("thinking_tokens")),
        cache_write_1h_tokens=count(writes.get("ephemeral_1h_input_tokens"))
        if isinstance(writes, dict) else 0,
    )  # Anthropic sends no total: it is the sum


def anthropic_tools(u: dict) -> dict | None:
    """`usage.server_tool_use`: cumulative counts, like the token fields."""
    stu = u.get("server_tool_use")
    if not isinstance(stu, dict):
        return None
    counts = {"web_search": count(stu.get("web_search_requests")),
              "web_fetch": count(stu.get("web_fetch_requests"))}
    return {k: v for k, v in counts.items() if v > 0} or None


def parse_anthropic_body(obj: dict) -> BodyResult:
    u = obj.get("usage")
    stop = stop_reason(obj.get("stop_reason"))
    if not isinstance(u, dict):
        return BodyResult(None, obj.get("model"), stop=stop)
    return BodyResult(anthropic_usage(u), obj.get("model"), tools=anthropic_tools(u), stop=stop)


class AnthropicStream(SSEParser):
    """message_start sets usage; each message_delta overwrites the fields it carries
    (cumulative, never summed); message_stop completes; an error event fails."""

    __slots__ = ("_u",)

    def __init__(self) -> None:
        super().__init__()
        self._u: dict = {}

    def on_event(self, name: str, data: str) -> None:
        obj = loads(data)
        if isinstance(obj, dict):
            self.on_object(obj.get("type", name), obj)

    def on_object(self, kind: str, obj: dict) -> None:
        if kind == "content_block_delta":
            d = obj.get("delta") or {}
            for field in ("text", "thinking", "partial_json"):
                if isinstance(d.get(field), str):
                    self.out_chars += len(d[field])
        elif kind == "message_start":
            msg = obj.get("message") or {}
            self.model = msg.get("model") or self.model
            self._u = dict(msg.get("usage") or {})
            self.usage = anthropic_usage(self._u)
            self.tools = anthropic_tools(self._u)
        elif kind == "message_delta":
            self.stop = stop_reason((obj.get("delta") or {}).get("stop_reason")) or self.stop
            for k, v in (obj.get("usage") or {}).items():
                if v is not None:
                    self._u[k] = v
            self.usage = anthropic_usage(self._u)
            self.tools = anthropic_tools(self._u)
        elif kind == "message_stop":
            self.complete = True
        elif kind == "error":
            self.failed = True


MESSAGES = Format("anthropic.messages", parse_anthropic_body, sse=AnthropicStream)
