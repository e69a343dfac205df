"""Incremental stream framing: Server-Sent Events and streamed JSON arrays.

Pure and byte-oriented: feed chunks exactly as they arrive off the wire, split anywhere, and
get complete events or objects back. State is one partial line or object, never the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(slots=True)
class SSEEvent:
    event: str
    data: str
    raw: bytes = b""  # the event's bytes as received, kept only when asked for
    tail: bool = False  # only bytes: the LF of the last event's CRLF, split off by a chunk end


class SSEDecoder:
    """SSE per the WHATWG rules: CRLF, LF or CR line ends, blank line dispatches, ':' comments,
    several data lines joined by LF. A CR at the end of one chunk and LF at the start of the next
    are one line end."""

    __slots__ = ("_partial", "_skip_lf", "_event", "_data", "_keep_raw", "_raw")

    def __init__(self, keep_raw: bool = False) -> None:
        self._partial = b""
        self._skip_lf = False
        self._event = ""
        self._data: list[str] = []
        self._keep_raw = keep_raw
        self._raw: list[bytes] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        if self._skip_lf and chunk[:1] == b"\n":
            if self._keep_raw:
                if self._raw:
                    self._raw.append(b"\n")
                else:  # the CR was the blank line of an event already dispatched
                    events.append(SSEEvent("", "", b"\n", tail=True))
            chunk = chunk[1:]
        self._skip_lf = False
        if not chunk:
            return events
        lines = (self._partial + chunk).splitlines(keepends=True)
        if lines[-1][-1:] in (b"\n", b"\r"):
            self._partial = b""
            self._skip_lf = lines[-1][-1:] == b"\r"
        else:
            self._partial = lines.pop()
        for line in lines:
            if self._keep_raw:
                self._raw.append(line)
            self._line(line.rstrip(b"\r\n"), events)
        return events

    def pending_raw(self) -> bytes:
        """Bytes received but not yet part of a dispatched event (with keep_raw)."""
        return b"".join(self._raw) + self._partial

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                raw = b"".join(self._raw) if self._keep_raw else b""
                events.append(SSEEvent(self._event, "\n".join(self._data), raw))
            elif self._keep_raw and events:
                # A stray blank line belongs to the previous event's bytes.
                events[-1].raw += b"".join(self._raw)
            elif self._keep_raw and self._raw:
                events.append(SSEEvent("", "", b"".join(self._raw)))
            self._event, self._data, self._raw = "", [], []
            return
        if line[:1] == b":":
            return
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value.decode("utf-8", "replace"))
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")


_JSON_SPECIAL = re.compile(rb'[{}"\\]')


class JSONArraySplitter:
    """Splits a streamed JSON array `[{...},{...}]` (or one bare object) into its top-level
    objects as they complete. Braces inside strings and escaped quotes are skipped."""

    __slots__ = ("_depth", "_in_str", "_escape", "_buf")

    def __init__(self) -> None:
        self._depth = 0
        self._in_str = False
        self._escape = False
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        out: list[bytes] = []
        start = 0 if self._depth else None
        pos = 0
        if self._escape and chunk:
            self._escape = False
            pos = 1
        for m in _JSON_SPECIAL.finditer(chunk, pos):
            i = m.start()
            if i < pos:  # the byte after a backslash
                continue
            c = chunk[i]
            if self._in_str:
                if c == 0x5C:  # backslash: skip the escaped byte, maybe in the next chunk
                    if i + 1 < len(chunk):
                        pos = i + 2
                    else:
                        self._escape = True
                elif c == 0x22:
                    self._in_str = False
                continue
            if self._depth == 0:
                if c != 0x7B:  # a string or stray byte between objects
                    continue
                start = i
            if c == 0x22:
                self._in_str = True
            elif c == 0x7B:
                self._depth += 1
            elif c == 0x7D:
                self._depth -= 1
                if self._depth == 0:
                    self._buf += chunk[start : i + 1]
                    out.append(bytes(self._buf))
                    self._buf.clear()
                    start = None
        if self._depth and start is not None:
            self._buf += chunk[start:]
        return out
