"""A bound on request heads: mitmproxy 12 buffers an HTTP/1 head until its blank line however
long it grows (`# FIXME: protect against header size DoS` in its _http1.py), so one client
sending an endless header could take the process to gigabytes. `install()` answers 431 and
closes the connection once an unfinished head passes MAX_HEAD_BYTES, as nginx does with its
header buffers; the router refuses finished heads over it on API routes the same way."""

from __future__ import annotations

import json

from mitmproxy.proxy import commands, events
from mitmproxy.proxy.layers.http._http1 import Http1Server

from .providers import openai

# What the providers take in headers (OpenAI asks for less than 64 KiB).
MAX_HEAD_BYTES = 64 * 1024

# Before the head is read the provider is unknown: OpenAI's shape, the lingua franca of SDKs.
_REFUSAL = json.dumps(openai.error_body(
    431, "head_too_large", f"Request header fields too large: the head must be under "
                           f"{MAX_HEAD_BYTES // 1024} KiB.", {})).encode()
RESPONSE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_REFUSAL), _REFUSAL))


def _bounded(read_headers):
    def read_headers_bounded(self, event):
        yield from read_headers(self, event)
        if (isinstance(event, events.DataReceived) and self.state == self.read_headers
                and len(self.buf) > MAX_HEAD_BYTES):
            yield commands.SendData(self.conn, RESPONSE)
            yield commands.CloseConnection(self.conn)
            self.buf = type(self.buf)()  # let the head go now, not with the connection
            self.state = self.done

    read_headers_bounded.bounded = True
    return read_headers_bounded


def install() -> None:
    if not getattr(Http1Server.read_headers, "bounded", False):
        Http1Server.read_headers = _bounded(Http1Server.read_headers)
