"""Header reads on the hot path: a plain loop over the raw fields, several times cheaper than
mitmproxy's MultiDict look-up (which lower-cases and re-encodes every name on every read)."""

from __future__ import annotations

from mitmproxy.http import Headers

# What the providers take in a request's head (the strictest asks for less than 64 KiB).
MAX_HEAD_BYTES = 64 * 1024


def first(headers: Headers, name: bytes) -> bytes | None:
    """The first value of header `name` (lower case), or None."""
    for k, v in headers.fields:
        if k.lower() == name:
            return v
    return None


def body(message) -> bytes | None:
    """The decoded body; the raw bytes as they are when nothing is encoded (the usual case:
    the gateway asks providers for identity), without a MultiDict look-up."""
    if first(message.headers, b"content-encoding") is None:
        return message.raw_content
    return message.get_content(strict=False)
