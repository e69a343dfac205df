"""Credentials: the provider's key on the way out, and nowhere after.

Injected in the last `request` hook, only for a call that is really going upstream (no earlier
addon answered it), and redacted from the flow in the first hooks after it left
(`responseheaders`, `error`), so mitmweb's stored and shown flows never hold it.
"""

from __future__ import annotations

from mitmproxy import http

from addons.call import CALL, Call
from addons.members.auth import remove_query_param
from addons.providers import FORWARDED, FORWARDED_PREFIXES, Provider

REDACTED = "[redacted]"
_REDACTED = REDACTED.encode()


_PREFIXES = tuple(p.encode() for p in FORWARDED_PREFIXES)


class Outbound:
    """A provider's header edits, prepared once: one pass over the fields per request instead of
    a MultiDict operation per header. Only the headers the provider's API needs are kept."""

    def __init__(self, provider: Provider, secret: str) -> None:
        self.carrier = provider.credential_in
        self.secret = secret
        header = None if self.carrier == "?key" else self.carrier.encode()
        # Taps must see plain bytes (providers compress when allowed to): accept-encoding is
        # replaced, like the credential's own header.
        self.keep = {h.encode() for h in FORWARDED | provider.forward_headers} - {
            b"accept-encoding", header}
        self.defaults = [(k.encode(), v.encode()) for k, v in provider.default_headers.items()]
        self.add = [(b"accept-encoding", b"identity")]
        if header is not None:
            value = f"Bearer {secret}" if header == b"authorization" else secret
            self.add.append((header, value.encode()))

    def apply(self, request: http.Request) -> None:
        keep = self.keep
        fields = [(k, v) for k, v in request.headers.fields
                  if (name := k.lower()) in keep or name.startswith(_PREFIXES)]
        if self.defaults:
            present = {k.lower() for k, _ in fields}
            fields += [(k, v) for k, v in self.defaults if k not in present]
        request.headers.fields = (*fields, *self.add)
        if self.carrier == "?key":
            request.path = with_key(request.path, self.secret)


def redact(request: http.Request, carrier: str) -> None:
    if carrier == "?key":
        path, found = remove_query_param(request.path, "key")
        if found:
            request.path = with_key(path, REDACTED)
        return
    name = carrier.encode()
    request.headers.fields = tuple((k, _REDACTED) if k.lower() == name else (k, v)
                                   for k, v in request.headers.fields)


def with_key(path: str, value: str) -> str:
    """The path with `key=value` appended to its query."""
    return f"{path}{'&' if '?' in path else '?'}key={value}"


class Credentials:
    PHASE = "send"

    def __init__(self, credentials: dict[str, str]) -> None:
        self.credentials = credentials
        self._outbound: dict[int, Outbound] = {}

    def request(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or not call.upstream or flow.response or flow.error:
            return
        if call.customer is None:  # never reached for an unauthenticated call; never inject
            return
        provider = call.provider
        if not self.credentials.get(provider.name):  # the router refuses these first
            raise RuntimeError(f"no key for {provider.name}: not sent")  # fails closed
        out = self._outbound.get(id(provider))  # a dialect has its own carrier
        if out is None:
            out = self._outbound[id(provider)] = Outbound(
                provider, self.credentials.get(provider.name, ""))
        out.apply(flow.request)
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
