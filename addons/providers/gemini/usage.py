"""Gemini's usage, as generateContent and embedding answers report it: usageMetadata's running
totals (the last wins), thoughts billed as output, and Google Search grounding billed per query;
streamed as SSE or as one JSON array."""

from __future__ import annotations

from addons.wire.framing import JSONArraySplitter
from addons.wire.usage import (
    BodyResult,
    Format,
    SSEParser,
    StreamParser,
    Usage,
    count,
    loads,
    stop_reason,
)


def gemini_usage(u: dict) -> Usage:
    cached = count(u.get("cachedContentTokenCount"))
    prompt = count(u.get("promptTokenCount")) + count(u.get("toolUsePromptTokenCount"))
    thoughts = count(u.get("thoughtsTokenCount"))
    return Usage.of(
        input_tokens=prompt - cached,
        cache_read_tokens=cached,
        output_tokens=count(u.get("candidatesTokenCount")) + thoughts,
        reasoning_tokens=thoughts,
        total=count(u.get("totalTokenCount")),
    )


def gemini_searches(obj: dict) -> dict[int, int]:
    """Grounding with Google Search: the queries each candidate issued, by candidate index."""
    found = {}
    for i, cand in enumerate(obj.get("candidates") or ()):
        gm = cand.get("groundingMetadata") if isinstance(cand, dict) else None
        queries = gm.get("webSearchQueries") if isinstance(gm, dict) else None
        if isinstance(queries, list):
            found[count(cand.get("index")) or i] = len(queries)
    return found


def _search_tools(by_candidate: dict[int, int]) -> dict | None:
    n = sum(by_candidate.values())
    return {"google_search": n} if n else None


def parse_gemini_body(obj: dict) -> BodyResult:
    u = obj.get("usageMetadata")
    cands = obj.get("candidates")
    first = cands[0] if isinstance(cands, list) and cands else None
    return BodyResult(gemini_usage(u) if isinstance(u, dict) else None, obj.get("modelVersion"),
                      tools=_search_tools(gemini_searches(obj)),
                      stop=stop_reason(first.get("finishReason"))
                      if isinstance(first, dict) else None)


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
                self.stop = stop_reason(cand["finishReason"])
        if isinstance(obj.get("usageMetadata"), dict):
            self.usage = gemini_usage(obj["usageMetadata"])
        self._searched(obj)


class GeminiSSEStream(_GeminiMixin, SSEParser):
    __slots__ = ("_searches",)

    def __init__(self) -> None:
        super().__init__()
        self._searches: dict[int, int] = {}

    def on_event(self, name: str, data: str) -> None:
        self.on_object(loads(data))


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
        self.on_object(loads(data))


GENERATE = Format("gemini.generate", parse_gemini_body, sse=GeminiSSEStream,
                  json_stream=GeminiArrayStream)
EMBED = Format("gemini.embed", parse_gemini_body)
