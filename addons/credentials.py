"""Credentials: the provider's key on the way out, and nowhere after.

Injected in the last `request` hook, only for a call that is really going upstream (no earlier
addon answered it), and redacted from the flow in the first hooks after it left
(`responseheaders`, `error`), so mitmweb's stored and shown flows never hold it.
"""

from __future__ import annotations

from mitmproxy import http

from .auth import remove_query_param
from .call import CALL, Call
from .guard import fail_closed

REDACTED = "[redacted]"


def inject(request: http.Request, carrier: str, secret: str) -> None:
    if carrier == "?key":
        sep = "&" if "?" in request.path else "?"
        request.path = f"{request.path}{sep}key={secret}"
    elif carrier == "authorization":
        request.headers["authorization"] = f"Bearer {secret}"
    else:
        request.headers[carrier] = secret


def redact(request: http.Request, carrier: str) -> None:
    if carrier == "?key":
        path, found = remove_query_param(request.path, "key")
        if found:
            request.path = inject_marker(path)
    elif carrier in request.headers:
        request.headers[carrier] = REDACTED


def inject_marker(path: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}key={REDACTED}"


class Credentials:
    def __init__(self, credentials: dict[str, str]) -> None:
        self.credentials = credentials

    @fail_closed
    def request(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or not call.upstream or flow.response or flow.error:
            return
        if call.customer is None:  # never reached for an unauthenticated call; never inject
            return
        provider = call.provider
        request = flow.request
        for name in provider.strip_headers:
            request.headers.pop(name, None)
        for name, value in provider.default_headers.items():
            request.headers.setdefault(name, value)
        inject(request, provider.credential_in, self.credentials.get(provider.name, ""))
        # Taps must see plain bytes; providers compress when allowed to.
        request.headers["accept-encoding"] = "identity"
        call.injected = True

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        self._redact(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._redact(flow)

    def _redact(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is not None and call.injected:
            redact(flow.request, call.provider.credential_in)
            call.injected = False
