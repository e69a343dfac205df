"""Request bodies as JSON: small ones read on the loop, large ones in a worker process.

`json.loads` holds the interpreter while it builds a body's objects (a 26 MB chat history:
~0.15 s, and millions of objects for the collector), which on the proxy's one thread would
stall every other call, in a thread as much as on the loop. So a body over LARGE is read by a
worker process: it parses, estimates the prompt's tokens, and hands back the body shallow:
top-level objects and small values as they are, large lists and strings (the messages, the
system prompt) as their JSON text (`RawJSON`), which the gateway neither reads nor changes and
sends on as it came. The limits and metering only ever read and set top-level scalars and
objects (model, output cap, stream options, a generation config, however large its
response schema), so those always come back as values.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from addons.wire.usage import measure

LARGE = 1024 * 1024  # bytes of body read in the worker
RAW_MIN = 16 * 1024  # a top-level value whose JSON is longer stays text


class RawJSON(str):
    """A top-level value kept as its JSON text."""


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


def read(content: bytes) -> tuple[dict | Refused | None, int]:
    """The body if it is a JSON object (a body nested deeper than the parser takes,
    RecursionError, is bad input too), and its prompt's tokens, estimated."""
    try:
        body = json.loads(content)
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


def read_shallow(content: bytes) -> tuple[dict | None, int]:
    """`read`, with large top-level values as their JSON text: what the worker sends back."""
    body, estimate = read(content)
    if not isinstance(body, dict):
        return body, 0
    shallow = {}
    for name, value in body.items():
        if isinstance(value, (list, str)):
            text = json.dumps(value)
            value = RawJSON(text) if len(text) > RAW_MIN else value
        shallow[name] = value
    return shallow, estimate


def dumps(body: dict) -> bytes:
    """The body as JSON, RawJSON values as they came."""
    if not any(type(v) is RawJSON for v in body.values()):
        return json.dumps(body).encode()
    parts = [f"{json.dumps(k)}: {v if type(v) is RawJSON else json.dumps(v)}"
             for k, v in body.items()]
    return ("{" + ", ".join(parts) + "}").encode()


class Reader:
    """The worker processes, started on first need ("spawn": never a fork of the threaded
    proxy), started again if one dies. Large bodies arriving together are read `workers` at
    a time."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def read(self, content: bytes) -> tuple[dict | None, int]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers,
                                             mp_context=multiprocessing.get_context("spawn"))
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, read_shallow, content)
        except BrokenProcessPool:
            self._pool = None
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
