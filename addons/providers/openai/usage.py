"""OpenAI's usage, as Chat Completions, Responses and Embeddings answers report it: the token
fields, the processing tier served, hosted tools billed per call (the code interpreter per
container) and the objects a response stored."""

from __future__ import annotations

from addons.wire.framing import SSEDecoder
from addons.wire.usage import BodyResult, Format, SSEParser, Usage, count, loads, stop_reason


def openai_chat_usage(u: dict) -> Usage:
    cached = count((u.get("prompt_tokens_details") or {}).get("cached_tokens"))
    cache_write = count((u.get("prompt_tokens_details") or {}).get("cache_write_tokens"))
    return Usage.of(
        input_tokens=count(u.get("prompt_tokens")) - cached - cache_write,
        cache_read_tokens=cached,
        cache_write_tokens=cache_write,
        output_tokens=count(u.get("completion_tokens")),
        reasoning_tokens=count((u.get("completion_tokens_details") or {}).get("reasoning_tokens")),
        total=count(u.get("total_tokens")),
    )


def openai_responses_usage(u: dict) -> Usage:
    details = u.get("input_tokens_details") or {}
    cached = count(details.get("cached_tokens"))
    cache_write = count(details.get("cache_write_tokens"))
    return Usage.of(
        input_tokens=count(u.get("input_tokens")) - cached - cache_write,
        cache_read_tokens=cached,
        cache_write_tokens=cache_write,
        output_tokens=count(u.get("output_tokens")),
        reasoning_tokens=count((u.get("output_tokens_details") or {}).get("reasoning_tokens")),
        total=count(u.get("total_tokens")),
    )


def openai_embeddings_usage(u: dict) -> Usage:
    return Usage.of(input_tokens=count(u.get("prompt_tokens")), total=count(u.get("total_tokens")))


# Responses output items of hosted tools, each one billed call; the code interpreter is billed
# per container, by its memory (the catalog's "code_interpreter" is the default 1 GB one,
# "code_interpreter_4g" and so on the larger).
RESPONSES_TOOL_ITEMS = {"web_search_call": "web_search", "file_search_call": "file_search",
                        "code_interpreter_call": "code_interpreter",
                        "image_generation_call": "image_generation"}
CONTAINER_MEMORY = ("4g", "16g", "64g")


def container_tool(tools) -> str:
    """The catalog's name for the code interpreter's containers, by the memory the response's
    tool asked for."""
    for t in tools if isinstance(tools, list) else ():
        if isinstance(t, dict) and t.get("type") == "code_interpreter" and \
                isinstance(t.get("container"), dict):
            memory = t["container"].get("memory_limit")
            if memory in CONTAINER_MEMORY:
                return f"code_interpreter_{memory}"
    return "code_interpreter"


def responses_objects(resp: dict) -> tuple[str, ...]:
    """What a response stored upstream: itself, and the containers its code interpreter ran
    in (which a later request may name to run in again)."""
    rid = resp.get("id")
    found = [rid] if isinstance(rid, str) and rid else []
    for item in resp.get("output") if isinstance(resp.get("output"), list) else ():
        if isinstance(item, dict) and item.get("type") == "code_interpreter_call":
            container = item.get("container_id")
            if isinstance(container, str) and container and container not in found:
                found.append(container)
    return tuple(found)


def responses_tools(output, tools=None) -> dict | None:
    """Hosted tools billed for a response: a call each, and each container its code
    interpreter ran in once, however many calls ran there."""
    counts: dict[str, int] = {}
    containers: set[str] = set()
    for item in output if isinstance(output, list) else ():
        tool = RESPONSES_TOOL_ITEMS.get(item.get("type")) if isinstance(item, dict) else None
        if tool == "code_interpreter":
            container = item.get("container_id")
            if isinstance(container, str) and container:
                if container in containers:
                    continue
                containers.add(container)
            tool = container_tool(tools)
        if tool:
            counts[tool] = counts.get(tool, 0) + 1
    return counts or None


def _tier(obj: dict) -> str | None:
    tier = obj.get("service_tier")
    return tier if isinstance(tier, str) else None


def _own_id(obj: dict) -> tuple[str, ...]:
    oid = obj.get("id")
    return (oid,) if isinstance(oid, str) and oid else ()


def _responses_stop(resp: dict) -> str | None:
    """A response's end: its status, or why it is incomplete (max_output_tokens...)."""
    details = resp.get("incomplete_details")
    if isinstance(details, dict) and stop_reason(details.get("reason")):
        return stop_reason(details["reason"])
    return stop_reason(resp.get("status"))


def parse_openai_chat_body(obj: dict) -> BodyResult:
    u = obj.get("usage")  # the completion's id: stored with `store: true`
    choices = obj.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    return BodyResult(openai_chat_usage(u) if isinstance(u, dict) else None, obj.get("model"),
                      objects=_own_id(obj), tier=_tier(obj),
                      stop=stop_reason(first.get("finish_reason"))
                      if isinstance(first, dict) else None)


def parse_openai_compaction_body(obj: dict) -> BodyResult:
    """A compaction (`response.compaction`): usage as a response's, nothing stored."""
    u = obj.get("usage")
    usage = openai_responses_usage(u) if isinstance(u, dict) else None
    return BodyResult(usage, obj.get("model"), usage is not None, tier=_tier(obj))


def parse_openai_responses_body(obj: dict) -> BodyResult:
    u = obj.get("usage")
    # Background responses come back queued with no usage yet: not a final count.
    done = obj.get("status") in ("completed", "incomplete", "failed", "cancelled")
    usage = openai_responses_usage(u) if isinstance(u, dict) else None
    return BodyResult(usage, obj.get("model"), done and usage is not None,
                      responses_tools(obj.get("output"), obj.get("tools")),
                      responses_objects(obj), _tier(obj), _responses_stop(obj))


def parse_openai_embeddings_body(obj: dict) -> BodyResult:
    u = obj.get("usage")
    return BodyResult(openai_embeddings_usage(u) if isinstance(u, dict) else None,
                      obj.get("model"))


class OpenAIChatStream(SSEParser):
    """Usage is in the last chunk whose usage is not null (the `choices: []` chunk that
    include_usage adds); `[DONE]` completes. With `strip_usage_chunk` (the gateway asked for
    usage on the client's behalf) that chunk is withheld from the client."""

    __slots__ = ("_strip", "_withheld")

    def __init__(self, strip_usage_chunk: bool = False) -> None:
        super().__init__()
        self._strip = strip_usage_chunk
        self._withheld = False  # the last event was the usage chunk, left out
        if strip_usage_chunk:
            self._sse = SSEDecoder(keep_raw=True)

    def feed(self, chunk: bytes) -> bytes:
        if not self._strip:
            return super().feed(chunk)
        # Forward whole events only, so the usage-only one can be left out.
        out = []
        for ev in self._sse.feed(chunk):
            if ev.tail:  # the end of the last event: it goes where that event went
                if not self._withheld:
                    out.append(ev.raw)
            elif self.handle(ev.event, ev.data):
                self._withheld = True
            else:
                self._withheld = False
                out.append(ev.raw)
        return b"".join(out)

    def finish(self) -> bytes:
        # An unterminated last event still belongs to the client.
        return self._sse.pending_raw() if self._strip else b""

    def on_event(self, name: str, data: str) -> bool:
        """Returns True for the usage-only chunk."""
        if data == "[DONE]":
            self.complete = True
            return False
        obj = loads(data)
        if not isinstance(obj, dict):
            return False
        if "error" in obj and isinstance(obj["error"], dict):
            self.failed = True
            return False
        self.model = obj.get("model") or self.model
        if self.tier is None:  # the same in every chunk
            self.tier = _tier(obj)
        if not self.objects:  # the completion's id, stored with `store: true`
            self.objects = _own_id(obj)
        choices = obj.get("choices") or []
        for choice in choices:
            if choice.get("finish_reason"):
                self.stop = stop_reason(choice["finish_reason"])
            delta = choice.get("delta") or {}
            for field in ("content", "reasoning_content", "refusal"):
                if isinstance(delta.get(field), str):
                    self.out_chars += len(delta[field])
            for call in delta.get("tool_calls") or []:
                args = (call.get("function") or {}).get("arguments")
                if isinstance(args, str):
                    self.out_chars += len(args)
        u = obj.get("usage")
        if isinstance(u, dict):
            self.usage = openai_chat_usage(u)
            return not choices
        return False


_RESPONSES_TERMINAL = ("response.completed", "response.incomplete", "response.failed")
_RESPONSES_TEXT = ("response.output_text.delta", "response.function_call_arguments.delta",
                   "response.reasoning_summary_text.delta", "response.refusal.delta")


class OpenAIResponsesStream(SSEParser):
    """Usage is `response.usage` of the terminal event; there is no [DONE]."""

    __slots__ = ()

    def on_event(self, name: str, data: str) -> None:
        obj = loads(data)
        if not isinstance(obj, dict):
            return
        kind = obj.get("type", name)
        if kind in _RESPONSES_TEXT:
            if isinstance(obj.get("delta"), str):
                self.out_chars += len(obj["delta"])
        elif kind in _RESPONSES_TERMINAL or kind in ("response.created", "response.in_progress"):
            resp = obj.get("response") or {}
            self.model = resp.get("model") or self.model
            self.tier = _tier(resp) or self.tier
            self.objects = responses_objects(resp) or self.objects
            if isinstance(resp.get("usage"), dict):
                self.usage = openai_responses_usage(resp["usage"])
            if kind in _RESPONSES_TERMINAL:
                self.stop = _responses_stop(resp)
                self.tools = responses_tools(resp.get("output"), resp.get("tools"))
                self.complete = True
                self.failed = kind == "response.failed" and self.usage is None
        elif kind == "error":
            self.failed = True


def ensure_include_usage(body: dict) -> bool:
    """A Chat stream carries usage only when asked: ask on the client's behalf. True if the
    body changed, so the extra usage-only chunk is withheld from that client."""
    if body.get("stream") is not True:
        return False
    opts = body.get("stream_options")
    opts = opts if isinstance(opts, dict) else {}
    if opts.get("include_usage") is True:
        return False
    body["stream_options"] = {**opts, "include_usage": True}
    return True


CHAT = Format("openai.chat", parse_openai_chat_body, sse=OpenAIChatStream,
              prepare=ensure_include_usage)
RESPONSES = Format("openai.responses", parse_openai_responses_body, sse=OpenAIResponsesStream)
EMBEDDINGS = Format("openai.embeddings", parse_openai_embeddings_body)
COMPACT = Format("openai.compaction", parse_openai_compaction_body)
