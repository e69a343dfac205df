"""Bounded decoding of compressed request bodies: inflated only up to the body limit, so that
a few hundred kilobytes of gzip, deflate, brotli or zstd cannot become gigabytes in memory."""

from __future__ import annotations

import zlib

import brotli

try:
    from compression import zstd  # Python 3.14
except ImportError:  # what mitmproxy itself uses before 3.14
    from backports import zstd


class TooLarge(ValueError):
    pass


class Undecodable(ValueError):
    pass


def inflate(data: bytes, encodings: str, limit: int) -> bytes:
    """`data` decoded from the Content-Encoding list `encodings` (last applied first), never
    more than `limit` bytes at any step."""
    for enc in reversed([e.strip().lower() for e in encodings.split(",")]):
        if enc not in ("", "identity"):
            data = _decode(data, enc, limit)
    return data


def _decode(data: bytes, enc: str, limit: int) -> bytes:
    try:
        if enc in ("gzip", "x-gzip"):
            return _zlib(zlib.decompressobj(16 + zlib.MAX_WBITS), data, limit)
        if enc == "deflate":  # zlib-wrapped as the standard says, or raw as some clients send
            try:
                return _zlib(zlib.decompressobj(), data, limit)
            except zlib.error:
                return _zlib(zlib.decompressobj(-zlib.MAX_WBITS), data, limit)
        if enc == "br":
            d = brotli.Decompressor()
            out = d.process(data, output_buffer_limit=limit + 1)
            return _checked(out, limit, d.is_finished())
        if enc == "zstd":
            d = zstd.ZstdDecompressor()
            return _checked(d.decompress(data, max_length=limit + 1), limit, d.eof)
    except (zlib.error, brotli.error, zstd.ZstdError) as e:
        raise Undecodable(f"the {enc} body could not be decoded ({e})") from None
    raise Undecodable(f"unsupported content-encoding {enc!r}")


def _zlib(d, data: bytes, limit: int) -> bytes:
    out = d.decompress(data, limit + 1)
    return _checked(out, limit, d.eof and not d.unconsumed_tail)


def _checked(out: bytes, limit: int, finished: bool) -> bytes:
    if len(out) > limit:
        raise TooLarge(f"the body inflates past {limit:,} bytes")
    if not finished:
        raise Undecodable("the compressed body is cut short")
    return out
