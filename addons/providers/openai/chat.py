"""OpenAI's Chat Completions objects as the gateway builds them for a translated call: the
completion, the stream's chunks, the usage object and the mid-stream error chunk. Pure: the
providers' translators fill them; this module owns their shape."""

from __future__ import annotations

import json

from addons.wire.bodies import compact
from addons.wire.usage import Usage

DONE = b"data: [DONE]\n\n"


class Refused(ValueError):
    """A request the translation cannot honour: OpenAI's 400 naming `param`."""

    def __init__(self, message: str, param: str | None = None,
                 code: str = "unsupported_parameter") -> None:
        super().__init__(message)
        self.param, self.code = param, code


# Fields every translation reads the same way, whatever the provider.
COMMON = frozenset({"model", "messages", "stream", "stream_options", "metadata",
                    "prompt_cache_key", "user", "safety_identifier", "n", "store",
                    "service_tier", "modalities", "tools", "tool_choice", "parallel_tool_calls",
                    "response_format", "max_tokens", "max_completion_tokens", "temperature",
                    "top_p", "stop", "reasoning_effort"})


def check_fields(body: dict, known: frozenset, refused: frozenset, who: str) -> None:
    """Every field of the request known, the refused ones absent (or false), and the choices
    no provider but OpenAI has left at their defaults."""
    for name, value in body.items():
        if name not in known:
            raise Refused(f"Unrecognized request argument supplied: {name}", name,
                          "unknown_parameter")
        if name in refused and value not in (None, False, 0):
            raise Refused(f"{name} is not available for {who} models.", name)
    if body.get("store") not in (None, False):
        raise Refused(f"store: stored completions are not kept for {who} models.", "store",
                      "unsupported_value")
    if body.get("service_tier") not in (None, "auto", "default"):
        raise Refused(f"service_tier: only 'auto' and 'default' for {who} models.",
                      "service_tier", "unsupported_value")
    if body.get("modalities") not in (None, ["text"]):
        raise Refused(f"modalities: {who} models answer in text here.", "modalities",
                      "unsupported_value")


def output_cap(body: dict) -> int | None:
    """max_completion_tokens, else max_tokens: a positive integer, or None."""
    cap = body.get("max_completion_tokens", body.get("max_tokens"))
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        raise Refused("max_completion_tokens must be a positive integer.",
                      "max_completion_tokens", "invalid_value")
    return cap


def stop_list(body: dict) -> list[str]:
    stop = body.get("stop")
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise Refused("stop must be a string or a list of strings.", "stop")
    return stops


def text_of(content, where: str) -> str:
    """A message's content as text: a string, or a list of text parts."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):
        for i, p in enumerate(content):
            if not (isinstance(p, dict) and p.get("type") == "text"
                    and isinstance(p.get("text"), str)):
                raise Refused(f"{where}[{i}]: only text parts are taken here.", f"{where}[{i}]")
        return "\n".join(p["text"] for p in content)
    raise Refused(f"{where} must be a string or a list of text parts.", where)


def usage_object(u: Usage | None, reasoning_known: bool = False) -> dict | None:
    """OpenAI's usage: the prompt counts cached reads and writes (as OpenAI counts cached
    tokens in it), the completion counts reasoning."""
    if u is None:
        return None
    prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
    out = {"prompt_tokens": prompt, "completion_tokens": u.output_tokens,
           "total_tokens": prompt + u.output_tokens,
           "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens,
                                     "cache_write_tokens": u.cache_write_tokens}}
    if reasoning_known or u.reasoning_tokens:
        out["completion_tokens_details"] = {"reasoning_tokens": u.reasoning_tokens}
    return out


def completion(cid: str, created: int, model: str, message: dict, finish: str | None,
               native_finish: str | None, usage: dict | None) -> dict:
    return {"id": cid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish, "native_finish_reason": native_finish}],
            "usage": usage}


class Chunks:
    """The stream's chunks for one completion: the same id, created and model on each; the
    role sent with the first delta; `usage: null` on each when the client asked for usage."""

    __slots__ = ("id", "created", "model", "include_usage", "started", "_head", "_roles")

    def __init__(self, created: int, include_usage: bool) -> None:
        self.id = "chatcmpl-"
        self.created = created
        self.model = ""
        self.include_usage = include_usage
        self.started = False
        self._head: bytes | None = None
        self._roles: set[int] = set()  # the choices whose role has gone

    def _frame(self, obj: dict) -> bytes:
        return b"data: " + compact(obj) + b"\n\n"

    def _chunk(self, choices: list, usage=None) -> bytes:
        obj = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
               "model": self.model, "choices": choices}
        if self.include_usage:
            obj["usage"] = usage
        return self._frame(obj)

    def text(self, text: str) -> bytes:
        """A content delta: the stream's most frequent chunk, framed from a template made
        once the role has gone (the same bytes `delta` would give)."""
        if 0 not in self._roles:
            return self.delta({"content": text})
        head = self._head
        if head is None:
            head = self._head = (
                b'data: {"id":' + json.dumps(self.id).encode() +
                b',"object":"chat.completion.chunk","created":%d,"model":' % self.created +
                json.dumps(self.model).encode() + b',"choices":[{"index":0,"delta":{"content":')
        tail = b'},"logprobs":null,"finish_reason":null}]' + (
            b',"usage":null}\n\n' if self.include_usage else b'}\n\n')
        return head + json.dumps(text).encode() + tail

    def delta(self, delta: dict, index: int = 0) -> bytes:
        if not self.started or index not in self._roles:
            self.started = True
            self._roles.add(index)
            delta = {"role": "assistant", "content": "", **delta} if "content" not in delta \
                else {"role": "assistant", **delta}
        return self._chunk([{"index": index, "delta": delta, "logprobs": None,
                             "finish_reason": None}])

    def finish(self, finish: str, native: str | None, index: int = 0) -> bytes:
        head = b"" if index in self._roles else self.delta({}, index)
        return head + self._chunk([{"index": index, "delta": {}, "logprobs": None,
                                    "finish_reason": finish, "native_finish_reason": native}])

    # The choice-numbered forms, for providers that give several (Gemini's candidates).
    def delta_choice(self, index: int, delta: dict) -> bytes:
        return self.delta(delta, index)

    def finish_choice(self, index: int, finish: str, native: str | None) -> bytes:
        return self.finish(finish, native, index)

    def usage(self, usage: dict | None) -> bytes:
        return self._chunk([], usage) if self.include_usage else b""

    def error(self, message: str, type_: str = "server_error", code: str | None = None) -> bytes:
        """A failure after the stream began: one error chunk, as OpenAI's SDKs raise on, and
        no [DONE]."""
        return self._frame({"error": {"message": message, "type": type_, "param": None,
                                      "code": code}})


class Translating:
    """What every provider's stream translator does alike (mixed in before its native
    parser, whose SSE decoder it reads): each event translated into `_out`, an exception
    turned into an error chunk (never a native byte to the client), nothing after the end."""

    __slots__ = ()

    def feed(self, chunk: bytes) -> bytes:
        if self._ended:
            return b""
        for ev in self._sse.feed(chunk):
            try:
                self.on_event(ev.event, ev.data)
            except Exception as e:
                self._fail(f"The gateway could not translate the stream: {type(e).__name__}.")
                break
        return self._drain()

    def _drain(self) -> bytes:
        out, self._out = b"".join(self._out), []
        return out

    def _fail(self, message: str, type_: str = "server_error", code: str | None = None) -> None:
        self._out.append(self._chunks.error(message, type_, code))
        self._ended = True
