"""Request bodies as JSON: small ones read on the loop, large ones in a worker process.

`json.loads` holds the interpreter while it builds a body's objects (a 26 MB chat history:
~0.15 s, and millions of objects for the collector), which on the proxy's one thread would
stall every other call, in a thread as much as on the loop. So a body over LARGE is read by a
worker process: it parses, estimates the prompt's tokens, and hands back the body shallow:
top-level objects and small values as they are, large lists and strings (the messages, the
system prompt) as the span of the body where their JSON lies (`RawJSON`), which the gateway
neither reads nor changes and sends on byte for byte as it came. The limits and metering only
ever read and set top-level scalars and objects (model, output cap, stream options, a
generation config, however large its response schema), so those always come back as values.

Nothing large crosses between the processes as a Python object: copying tens of megabytes
holds the interpreter (pickling a body, unpickling its messages) for 0.02 to 0.3 s on a
machine that maps fresh memory slowly. The body goes to the worker through a memory file
written on a thread, and comes back as spans of the bytes the gateway already holds.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from json.decoder import scanstring
from json.scanner import make_scanner

from addons.wire.usage import measure

# JSON written compact by one encoder built once: json.dumps builds one per call when given
# any argument, half the time of a small body's encoding on the hot path (translated calls,
# each streamed chunk). The C encoder where the interpreter has it, json.dumps otherwise.
_C_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_ENCODE = _C_ENCODER(None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii,
                     None, ":", ",", False, False, True) if _C_ENCODER else None


def compact(obj) -> bytes:
    """`json.dumps(obj, separators=(",", ":")).encode()`, faster (ASCII, as json.dumps)."""
    if _ENCODE is None:
        return json.dumps(obj, separators=(",", ":")).encode()
    return "".join(_ENCODE(obj, 0)).encode()


LARGE = 1024 * 1024  # bytes of body read in the worker
RAW_MIN = 16 * 1024  # a top-level value whose JSON is longer stays text


class RawJSON:
    """A top-level value kept as its JSON text: `end - start` bytes of `content`."""

    __slots__ = ("content", "start", "end")

    def __init__(self, content: bytes, start: int, end: int) -> None:
        self.content, self.start, self.end = content, start, end

    def view(self) -> memoryview:
        return memoryview(self.content)[self.start:self.end]

    def holds(self, needle: bytes) -> bool:
        """Whether the text holds these bytes (a cheap look before `load`)."""
        return self.content.find(needle, self.start, self.end) >= 0

    def load(self):
        return json.loads(self.view().tobytes())


class _Span(tuple):
    """(start, end): where a large value lies in the body, as the worker sends it back."""


class Refused(str):
    """Why a body is refused, for the caller's error (in place of the body)."""


class _DuplicateKey(ValueError):
    pass


def _unique(pairs: list) -> dict:
    """An object whose keys are each given once. With a key twice, the gateway would read one
    value (JSON parsers keep the last) and the provider might act on the other: the model or
    the output cap checked would not be the one used."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return obj


_SPACED_COLON = re.compile(rb'"[ \t\n\r]+:')


def _maybe_duplicated(content: bytes, keys: int) -> bool:
    """Whether an object of the body may give a key twice: each key in the text is a string
    closed right before its colon (`":`; inside a string a quote is escaped, `\\":`), so
    fewer keys parsed than `":` in the text tells. Where the text is laid out otherwise (a space
    before a colon, an escaped quote before one), the slow, certain check decides."""
    if b'\\":' in content or _SPACED_COLON.search(content):
        return True
    return content.count(b'":') != keys


def read(content: bytes, parsed: dict | None = None) -> tuple[dict | Refused | None, int]:
    """The body if it is a JSON object (a body nested deeper than the parser takes,
    RecursionError, is bad input too), and its prompt's tokens, estimated. `parsed`: the
    body as the worker read it already."""
    try:
        body = json.loads(content) if parsed is None else parsed
        if not isinstance(body, dict):
            return None, 0
        estimate, keys = measure(body)
        if _maybe_duplicated(content, keys):
            json.loads(content, object_pairs_hook=_unique)
    except _DuplicateKey as e:
        return Refused(f"The request body gives the key {str(e)[:100]!r} more than once in "
                       "one object; send each key once."), 0
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, 0
    return body, estimate


_WS = re.compile(r"[ \t\n\r]*")
_SCAN = make_scanner(json.JSONDecoder())


def _walk(text: str) -> tuple[dict, dict]:
    """The JSON object `text`, parsed member by member with json's own scanner, and where
    each top-level value lies (characters); ValueError where `text` is not one object as
    json.loads reads it (the caller then asks json.loads, for its own answer)."""
    i = _WS.match(text).end()
    if text[i:i + 1] != "{":
        raise ValueError("not an object")
    i = _WS.match(text, i + 1).end()
    body, spans = {}, {}
    if text[i:i + 1] == "}":
        i += 1
    else:
        while True:
            if text[i:i + 1] != '"':
                raise ValueError("a name expected")
            name, i = scanstring(text, i + 1)
            i = _WS.match(text, i).end()
            if text[i:i + 1] != ":":
                raise ValueError("':' expected")
            start = _WS.match(text, i + 1).end()
            body[name], i = _SCAN(text, start)
            spans[name] = (start, i)
            i = _WS.match(text, i).end()
            sep = text[i:i + 1]
            i = _WS.match(text, i + 1).end()
            if sep == "}":
                break
            if sep != ",":
                raise ValueError("',' or '}' expected")
    if _WS.match(text, i).end() != len(text):
        raise ValueError("extra data")
    return body, spans


def read_shallow(source: bytes | str) -> tuple[dict | Refused | None, int]:
    """`read`, with large top-level lists and strings as the spans of the body where their
    JSON lies (bytes): what the worker sends back. `source` is the body or a file holding
    it."""
    if isinstance(source, str):
        with open(source, "rb") as f:
            source = f.read()
    if json.detect_encoding(source) != "utf-8":  # another encoding, or a BOM: values
        return read(source)
    try:
        text = source.decode("utf-8")
        parsed, spans = _walk(text)
    except (ValueError, StopIteration, RecursionError):
        return read(source)  # not one object: json.loads says why
    body, estimate = read(source, parsed)
    if not isinstance(body, dict):
        return body, 0
    ascii_only = len(text) == len(source)
    at_char = at_byte = 0
    for name, (start, end) in spans.items():  # in the order they came
        if not isinstance(body[name], (list, str)) or end - start <= RAW_MIN // 4:
            continue
        if not ascii_only:  # characters to bytes, counting on from the last span
            start_byte = at_byte + len(text[at_char:start].encode())
            end_byte = start_byte + len(text[start:end].encode())
            at_char, at_byte, start, end = end, end_byte, start_byte, end_byte
        if end - start > RAW_MIN:
            body[name] = _Span((start, end))
    return body, estimate


def dumps(body: dict) -> bytes:
    """The body as JSON, RawJSON values byte for byte as they came (joined without holding
    the interpreter, on a thread for a large body)."""
    if not any(type(v) is RawJSON for v in body.values()):
        return compact(body)
    parts = [b"{"]
    for k, v in body.items():
        if len(parts) > 1:
            parts.append(b", ")
        parts.append(f"{json.dumps(k)}: ".encode())
        parts.append(v.view() if type(v) is RawJSON else json.dumps(v).encode())
    parts.append(b"}")
    return b"".join(parts)


def _memory_file(content: bytes) -> int:
    """A memory file holding the body, written on a thread: `os.write` copies it without
    holding the interpreter."""
    fd = os.memfd_create("llm-gateway-body", os.MFD_CLOEXEC)
    try:
        view, done = memoryview(content), 0
        while done < len(content):
            done += os.write(fd, view[done:])
    except BaseException:
        os.close(fd)
        raise
    return fd


class Reader:
    """The worker processes, started on first need ("spawn": never a fork of the threaded
    proxy), started again if one dies. Large bodies arriving together are read `workers` at
    a time."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def read(self, content: bytes) -> tuple[dict | Refused | None, int]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers,
                                             mp_context=multiprocessing.get_context("spawn"))
        loop = asyncio.get_running_loop()
        fd = await asyncio.to_thread(_memory_file, content) \
            if hasattr(os, "memfd_create") else None
        try:
            source = content if fd is None else f"/proc/{os.getpid()}/fd/{fd}"
            body, estimate = await loop.run_in_executor(self._pool, read_shallow, source)
        except BrokenProcessPool:
            self._pool = None
            raise
        finally:
            if fd is not None:
                os.close(fd)
        if isinstance(body, dict):
            body = {name: RawJSON(content, *value) if type(value) is _Span else value
                    for name, value in body.items()}
        return body, estimate

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
