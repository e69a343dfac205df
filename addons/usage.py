"""Usage parsers, one per response format: pure, incremental, no mitmproxy, no clock.

A stream parser sees the bytes as they pass (`feed(chunk)` returns the bytes the client is owed,
usually the chunk itself), then `finish()` at a clean end. It keeps the latest reported usage,
whether the stream reached its terminal event, the model and how much text was delivered, so a
stream cut short can still be settled. Rules follow each provider's documented wire format.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import NamedTuple

from .framing import JSONArraySplitter, SSEDecoder


class Usage(NamedTuple):  # tuples, like the other results here: built for every request
    input_tokens: int = 0  # uncached input
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0  # billed output, reasoning included
    reasoning_tokens: int = 0  # part of output_tokens
    total_tokens: int = 0
    cache_write_1h_tokens: int = 0  # part of cache_write_tokens: Anthropic's one-hour writes

    @classmethod
    def of(cls, *, input_tokens: int = 0, cache_read_tokens: int = 0, cache_write_tokens: int = 0,
           output_tokens: int = 0, reasoning_tokens: int = 0, total: int | None = None,
           cache_write_1h_tokens: int = 0) -> Usage:
        """The total is the provider's when it gave one (never below the parts), else the sum
        of the parts; no part below zero (an uncached input figured as a difference)."""
        input_tokens = max(0, input_tokens)
        computed = input_tokens + cache_read_tokens + cache_write_tokens + output_tokens
        return cls(input_tokens, cache_read_tokens, cache_write_tokens, output_tokens,
                   reasoning_tokens, max(total or 0, computed),
                   min(cache_write_1h_tokens, cache_write_tokens))


def estimate_tokens(chars: int) -> int:
    """About four characters a token: used only where the provider never told us."""
    return math.ceil(chars / 4) if chars > 0 else 0


# The input estimate is what a call is reserved for before the provider counts it, and what it
# is charged when no count ever comes: it must never fall below what a provider's tokenizer
# will count, whatever the text looks like. Per string:
# - ASCII text in words: four characters a token (English runs at about 4.5);
# - runs of more than 16 characters without white space (identifiers, hashes, base64, one
#   letter repeated): two characters a token (random base64 runs at about 2.5);
# - other characters: a token per UTF-8 byte past the first (accented letters 1, CJK 2 where
#   tokenizers take about 1, emoji 3);
# - token ids (integers in lists: embeddings and completions take prompts as token arrays):
#   one token each;
# - media, only where the request labels it so (a `data:` URL, or a `data` field beside its
#   media type): an image IMAGE_TOKENS (the providers downscale images: Anthropic's largest is
#   about 1,600 tokens, OpenAI's patch models about 2,500), anything else (PDF, audio, video)
#   a token per MEDIA_BYTES_PER_TOKEN decoded bytes, and never less than an image.
LONG_RUN = 16
_LONG_RUNS = re.compile(r"\S{" + str(LONG_RUN + 1) + ",}")
IMAGE_TOKENS = 2500
MEDIA_BYTES_PER_TOKEN = 64
_MEDIA_TYPE_KEYS = ("media_type", "mime_type", "mimeType", "format")
_DATA_URL = re.compile(r"data:([\w/.+-]*);base64,")


def _media_tokens(b64_chars: int, media_type: str) -> int:
    if media_type.startswith("image/") or media_type in ("png", "jpeg", "jpg", "gif", "webp"):
        return IMAGE_TOKENS
    return max(IMAGE_TOKENS, math.ceil(b64_chars * 3 / 4 / MEDIA_BYTES_PER_TOKEN))


def estimate_input(body) -> int:
    """The prompt's tokens, estimated from its text (keys, numbers and JSON punctuation are
    not tokens) by the rules above: never below what the providers count."""
    return measure(body)[0]


def measure(body) -> tuple[int, int]:
    """`estimate_input`, and how many keys the body's objects hold (one walk for both: the
    body reader compares the keys with its text's)."""
    quarters = halves = units = keys = 0  # characters at 4 a token, at 2 a token; tokens
    stack = [body]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if not v.isascii():
                units += len(v.encode("utf-8", "surrogatepass")) - len(v)  # bytes past the first
                v = v.encode("ascii", "ignore").decode()
            n = len(v)
            if n <= LONG_RUN:
                quarters += n
                continue
            if v.startswith("data:") and (m := _DATA_URL.match(v)):
                units += _media_tokens(n - m.end(), m.group(1))
                continue
            # Runs are looked for only where words average over 8 characters (two C-level
            # counts; natural text and code average 5 to 6).
            words = v.count(" ") + 1
            if n > words * 8 and n > (words + v.count("\n")) * 8:
                long = sum(map(len, _LONG_RUNS.findall(v)))
                halves += long
                quarters += n - long
            else:
                quarters += n
        elif isinstance(v, dict):
            keys += len(v)
            data = v.get("data")
            if isinstance(data, str) and len(data) > LONG_RUN and (
                    v.get("type") == "base64" or any(k in v for k in _MEDIA_TYPE_KEYS)):
                kind = next((v[k] for k in _MEDIA_TYPE_KEYS if isinstance(v.get(k), str)), "")
                units += _media_tokens(len(data), kind)
                stack.extend(x for k, x in v.items() if k != "data")
            else:
                stack.extend(v.values())
        elif isinstance(v, list):
            if v and type(v[0]) is int:
                units += len(v)  # token ids: the APIs take arrays of ints alone
            else:
                stack.extend(v)
    return math.ceil(quarters / 4) + math.ceil(halves / 2) + units, keys


# --- Server-side tools: billed per call, on top of tokens ------------------------------------


def anthropic_tools(u: dict) -> dict | None:
    """`usage.server_tool_use`: cumulative counts, like the token fields."""
    stu = u.get("server_tool_use")
    if not isinstance(stu, dict):
        return None
    counts = {"web_search": _int(stu.get("web_search_requests")),
              "web_fetch": _int(stu.get("web_fetch_requests"))}
    return {k: v for k, v in counts.items() if v > 0} or None


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


def gemini_searches(obj: dict) -> dict[int, int]:
    """Grounding with Google Search: the queries each candidate issued, by candidate index."""
    found = {}
    for i, cand in enumerate(obj.get("candidates") or ()):
        gm = cand.get("groundingMetadata") if isinstance(cand, dict) else None
        queries = gm.get("webSearchQueries") if isinstance(gm, dict) else None
        if isinstance(queries, list):
            found[_int(cand.get("index")) or i] = len(queries)
    return found


def _search_tools(by_candidate: dict[int, int]) -> dict | None:
    n = sum(by_candidate.values())
    return {"google_search": n} if n else None


def _int(v) -> int:
    """A count as the provider reported it; anything but a positive integer counts 0, so a
    malformed or negative figure can never refund quota or money."""
    return v if type(v) is int and v > 0 else 0


# --- Anthropic -------------------------------------------------------------------------------


def anthropic_usage(u: dict) -> Usage:
    details = u.get("output_tokens_details") or {}
    writes = u.get("cache_creation")  # by lifetime: five minutes, or one hour at a higher price
    return Usage.of(
        input_tokens=_int(u.get("input_tokens")),
        cache_read_tokens=_int(u.get("cache_read_input_tokens")),
        cache_write_tokens=_int(u.get("cache_creation_input_tokens")),
        output_tokens=_int(u.get("output_tokens")),
        reasoning_tokens=_int(details.get("thinking_tokens")),
        cache_write_1h_tokens=_int(writes.get("ephemeral_1h_input_tokens"))
        if isinstance(writes, dict) else 0,
    )  # Anthropic sends no total: it is the sum


def openai_chat_usage(u: dict) -> Usage:
    cached = _int((u.get("prompt_tokens_details") or {}).get("cached_tokens"))
    cache_write = _int((u.get("prompt_tokens_details") or {}).get("cache_write_tokens"))
    return Usage.of(
        input_tokens=_int(u.get("prompt_tokens")) - cached - cache_write,
        cache_read_tokens=cached,
        cache_write_tokens=cache_write,
        output_tokens=_int(u.get("completion_tokens")),
        reasoning_tokens=_int((u.get("completion_tokens_details") or {}).get("reasoning_tokens")),
        total=_int(u.get("total_tokens")),
    )


def openai_responses_usage(u: dict) -> Usage:
    details = u.get("input_tokens_details") or {}
    cached = _int(details.get("cached_tokens"))
    cache_write = _int(details.get("cache_write_tokens"))
    return Usage.of(
        input_tokens=_int(u.get("input_tokens")) - cached - cache_write,
        cache_read_tokens=cached,
        cache_write_tokens=cache_write,
        output_tokens=_int(u.get("output_tokens")),
        reasoning_tokens=_int((u.get("output_tokens_details") or {}).get("reasoning_tokens")),
        total=_int(u.get("total_tokens")),
    )


def openai_embeddings_usage(u: dict) -> Usage:
    return Usage.of(input_tokens=_int(u.get("prompt_tokens")), total=_int(u.get("total_tokens")))


def gemini_usage(u: dict) -> Usage:
    cached = _int(u.get("cachedContentTokenCount"))
    prompt = _int(u.get("promptTokenCount")) + _int(u.get("toolUsePromptTokenCount"))
    thoughts = _int(u.get("thoughtsTokenCount"))
    return Usage.of(
        input_tokens=prompt - cached,
        cache_read_tokens=cached,
        output_tokens=_int(u.get("candidatesTokenCount")) + thoughts,
        reasoning_tokens=thoughts,
        total=_int(u.get("totalTokenCount")),
    )


# --- Non-streamed bodies ---------------------------------------------------------------------


class BodyResult(NamedTuple):
    usage: Usage | None
    model: str | None
    complete: bool = True
    tools: dict | None = None  # server-side tool calls by tool, billed per call
    # The stored objects the answer created: a response's id, its code interpreter's containers.
    objects: tuple[str, ...] = ()
    tier: str | None = None  # the processing tier OpenAI served it in (priced by the catalog)


def _tier(obj: dict) -> str | None:
    tier = obj.get("service_tier")
    return tier if isinstance(tier, str) else None


def parse_anthropic_body(obj: dict) -> BodyResult:
    u = obj.get("usage")
    if not isinstance(u, dict):
        return BodyResult(None, obj.get("model"))
    return BodyResult(anthropic_usage(u), obj.get("model"), tools=anthropic_tools(u))


def parse_openai_chat_body(obj: dict) -> BodyResult:
    u = obj.get("usage")
    return BodyResult(openai_chat_usage(u) if isinstance(u, dict) else None, obj.get("model"),
                      tier=_tier(obj))


def parse_openai_responses_body(obj: dict) -> BodyResult:
    u = obj.get("usage")
    # Background responses come back queued with no usage yet: not a final count.
    done = obj.get("status") in ("completed", "incomplete", "failed", "cancelled")
    usage = openai_responses_usage(u) if isinstance(u, dict) else None
    return BodyResult(usage, obj.get("model"), done and usage is not None,
                      responses_tools(obj.get("output"), obj.get("tools")),
                      responses_objects(obj), _tier(obj))


def parse_openai_embeddings_body(obj: dict) -> BodyResult:
    u = obj.get("usage")
    return BodyResult(openai_embeddings_usage(u) if isinstance(u, dict) else None,
                      obj.get("model"))


def parse_gemini_body(obj: dict) -> BodyResult:
    u = obj.get("usageMetadata")
    return BodyResult(gemini_usage(u) if isinstance(u, dict) else None, obj.get("modelVersion"),
                      tools=_search_tools(gemini_searches(obj)))


# --- Streams ---------------------------------------------------------------------------------


class StreamParser:
    """Base of the incremental parsers. Subclasses handle decoded events or objects."""

    __slots__ = ("usage", "model", "complete", "failed", "out_chars", "tools", "objects",
                 "odd_events", "tier")

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.model: str | None = None
        self.complete = False  # the terminal event arrived
        self.failed = False  # an error event arrived mid-stream
        self.out_chars = 0  # delivered generated text, for an estimate when usage never came
        self.tools: dict | None = None  # server-side tool calls by tool, billed per call
        self.objects: tuple[str, ...] = ()  # the stored objects the stream created
        self.tier: str | None = None  # the processing tier OpenAI served it in
        self.odd_events = 0

    def feed(self, chunk: bytes) -> bytes:
        raise NotImplementedError

    def finish(self) -> bytes:
        """The stream ended cleanly (EOF). Returns any bytes still owed to the client."""
        return b""

    def handle(self, name: str, data: str):
        """One event; an event of a shape nobody expected is skipped, never fatal."""
        try:
            return self.on_event(name, data)
        except (AttributeError, TypeError, KeyError, ValueError):
            self.odd_events += 1
            return None

    def on_event(self, name: str, data: str):
        raise NotImplementedError


class _SSEParser(StreamParser):
    __slots__ = ("_sse",)

    def __init__(self) -> None:
        super().__init__()
        self._sse = SSEDecoder()

    def feed(self, chunk: bytes) -> bytes:
        for ev in self._sse.feed(chunk):
            self.handle(ev.event, ev.data)
        return chunk



def _loads(data: str):
    try:
        return json.loads(data)
    except ValueError:
        return None


class AnthropicStream(_SSEParser):
    """message_start sets usage; each message_delta overwrites the fields it carries
    (cumulative, never summed); message_stop completes; an error event fails."""

    __slots__ = ("_u",)

    def __init__(self) -> None:
        super().__init__()
        self._u: dict = {}

    def on_event(self, name: str, data: str) -> None:
        obj = _loads(data)
        if not isinstance(obj, dict):
            return
        kind = obj.get("type", name)
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
            for k, v in (obj.get("usage") or {}).items():
                if v is not None:
                    self._u[k] = v
            self.usage = anthropic_usage(self._u)
            self.tools = anthropic_tools(self._u)
        elif kind == "message_stop":
            self.complete = True
        elif kind == "error":
            self.failed = True


class OpenAIChatStream(_SSEParser):
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
        obj = _loads(data)
        if not isinstance(obj, dict):
            return False
        if "error" in obj and isinstance(obj["error"], dict):
            self.failed = True
            return False
        self.model = obj.get("model") or self.model
        self.tier = _tier(obj) or self.tier
        choices = obj.get("choices") or []
        for choice in choices:
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


class OpenAIResponsesStream(_SSEParser):
    """Usage is `response.usage` of the terminal event; there is no [DONE]."""

    __slots__ = ()

    def on_event(self, name: str, data: str) -> None:
        obj = _loads(data)
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
                self.tools = responses_tools(resp.get("output"), resp.get("tools"))
                self.complete = True
                self.failed = kind == "response.failed" and self.usage is None
        elif kind == "error":
            self.failed = True


class _GeminiMixin:
    """Each chunk carries usageMetadata running totals: the last wins, never summed.
    Complete once a candidate carried finishReason and no error object came. Search queries
    are counted per candidate from the latest grounding metadata it carried."""

    __slots__ = ()

    def _searched(self, obj: dict) -> None:
        found = gemini_searches(obj)
        if found:
            by_candidate = {**self._searches, **found}
            self._searches = by_candidate
            self.tools = _search_tools(by_candidate)

    def on_object(self, obj) -> None:
        if isinstance(obj, list):  # an error wrapped in a one-element array
            for item in obj:
                self.on_object(item)
            return
        if not isinstance(obj, dict):
            return
        if isinstance(obj.get("error"), dict):
            self.failed = True
            return
        self.model = obj.get("modelVersion") or self.model
        for cand in obj.get("candidates") or []:
            for part in (cand.get("content") or {}).get("parts") or []:
                if isinstance(part.get("text"), str):
                    self.out_chars += len(part["text"])
            if cand.get("finishReason"):
                self.complete = True
        if isinstance(obj.get("usageMetadata"), dict):
            self.usage = gemini_usage(obj["usageMetadata"])
        self._searched(obj)


class GeminiSSEStream(_GeminiMixin, _SSEParser):
    __slots__ = ("_searches",)

    def __init__(self) -> None:
        super().__init__()
        self._searches: dict[int, int] = {}

    def on_event(self, name: str, data: str) -> None:
        self.on_object(_loads(data))


class GeminiArrayStream(_GeminiMixin, StreamParser):
    __slots__ = ("_split", "_searches")

    def __init__(self) -> None:
        super().__init__()
        self._split = JSONArraySplitter()
        self._searches: dict[int, int] = {}

    def feed(self, chunk: bytes) -> bytes:
        for raw in self._split.feed(chunk):
            self.handle("", raw.decode("utf-8", "replace"))
        return chunk

    def on_event(self, name: str, data: str) -> None:
        self.on_object(_loads(data))


# --- Formats: which parser reads which endpoint's response -----------------------------------


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


@dataclass(frozen=True)
class Format:
    name: str
    body: object  # callable(dict) -> BodyResult, for a buffered JSON response
    sse: type[StreamParser] | None = None  # for text/event-stream
    json_stream: type[StreamParser] | None = None  # for a streamed JSON array
    prepare: object = None  # callable(body) -> bool: rewrites the request body for metering


FORMATS = {
    f.name: f
    for f in (
        Format("anthropic.messages", parse_anthropic_body, sse=AnthropicStream),
        Format("openai.chat", parse_openai_chat_body, sse=OpenAIChatStream,
               prepare=ensure_include_usage),
        Format("openai.responses", parse_openai_responses_body, sse=OpenAIResponsesStream),
        Format("openai.embeddings", parse_openai_embeddings_body),
        Format("gemini.generate", parse_gemini_body, sse=GeminiSSEStream,
               json_stream=GeminiArrayStream),
        Format("gemini.embed", parse_gemini_body),
    )
}


class Settlement(NamedTuple):
    usage: Usage
    complete: bool
    estimated: bool


def settle(usage: Usage | None, complete: bool, out_chars: int,
           input_estimate: int) -> Settlement:
    """The record for a request: what the provider reported, or where the final count never
    came, the last known figures raised to an estimate of what was delivered."""
    if complete and usage is not None:
        return Settlement(usage, True, False)
    out_estimate = estimate_tokens(out_chars)
    if usage is None:
        return Settlement(Usage.of(input_tokens=input_estimate, output_tokens=out_estimate),
                          False, True)
    if usage.output_tokens >= out_estimate:
        return Settlement(usage, False, False)
    raised = Usage.of(input_tokens=usage.input_tokens, cache_read_tokens=usage.cache_read_tokens,
                      cache_write_tokens=usage.cache_write_tokens, output_tokens=out_estimate,
                      reasoning_tokens=usage.reasoning_tokens,
                      cache_write_1h_tokens=usage.cache_write_1h_tokens)  # total summed again
    return Settlement(raised, False, True)
