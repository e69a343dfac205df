"""What a call used, whoever answered it: the normalized `Usage`, the input estimate held
before the provider counts, the base of the stream parsers, a `Format` (how an endpoint's
answer is read) and the settlement of a call. Pure: no mitmproxy, no clock.

Each provider's own parsers live in its package (`providers/<name>/usage.py`), by its
documented wire format. A stream parser sees the bytes as they pass (`feed(chunk)` returns
the bytes the client is owed, usually the chunk itself), then `finish()` at a clean end. It
keeps the latest reported usage, whether the stream reached its terminal event, the model and
how much text was delivered, so a stream cut short can still be settled.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import NamedTuple

from addons.wire.framing import SSEDecoder


class Usage(NamedTuple):  # tuples, like the other results here: built for every request
    input_tokens: int = 0  # uncached input
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0  # billed output, reasoning included
    reasoning_tokens: int = 0  # part of output_tokens
    total_tokens: int = 0
    cache_write_1h_tokens: int = 0  # part of cache_write_tokens: one-hour cache writes

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
#   media type): an image IMAGE_TOKENS (the providers downscale images: the largest costs
#   about 1,600 tokens at one provider, about 2,500 at another), anything else (PDF, audio, video)
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


def count(v) -> int:
    """A count as the provider reported it; anything but a positive integer counts 0, so a
    malformed or negative figure can never refund quota or money."""
    return v if type(v) is int and v > 0 else 0


# --- Non-streamed bodies ---------------------------------------------------------------------


class BodyResult(NamedTuple):
    usage: Usage | None
    model: str | None
    complete: bool = True
    tools: dict | None = None  # server-side tool calls by tool, billed per call
    # The stored objects the answer created: a response's id, its code interpreter's containers.
    objects: tuple[str, ...] = ()
    tier: str | None = None  # the processing tier it was served in (priced by the catalog)
    stop: str | None = None  # why generation ended, as the provider words it (the activity log)


def stop_reason(value) -> str | None:
    """A provider's finish reason, kept short: a name, never text of the answer."""
    return value[:40] if isinstance(value, str) and value else None


# --- Streams ---------------------------------------------------------------------------------


class StreamParser:
    """Base of the incremental parsers. Subclasses handle decoded events or objects."""

    __slots__ = ("usage", "model", "complete", "failed", "out_chars", "tools", "objects",
                 "odd_events", "tier", "stop")

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.model: str | None = None
        self.complete = False  # the terminal event arrived
        self.failed = False  # an error event arrived mid-stream
        self.out_chars = 0  # delivered generated text, for an estimate when usage never came
        self.tools: dict | None = None  # server-side tool calls by tool, billed per call
        self.objects: tuple[str, ...] = ()  # the stored objects the stream created
        self.tier: str | None = None  # the processing tier the stream was served in
        self.stop: str | None = None  # why generation ended (the provider's finish reason)
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


class SSEParser(StreamParser):
    __slots__ = ("_sse",)

    def __init__(self) -> None:
        super().__init__()
        self._sse = SSEDecoder()

    def feed(self, chunk: bytes) -> bytes:
        for ev in self._sse.feed(chunk):
            self.handle(ev.event, ev.data)
        return chunk


def loads(data: str):
    try:
        return json.loads(data)
    except ValueError:
        return None


# --- Formats: how an endpoint's answer is read ---------------------------------------------


@dataclass(frozen=True)
class Format:
    name: str
    body: object  # callable(dict) -> BodyResult, for a buffered JSON response
    sse: type[StreamParser] | None = None  # for text/event-stream
    json_stream: type[StreamParser] | None = None  # for a streamed JSON array
    prepare: object = None  # callable(body) -> bool: rewrites the request body for metering


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
