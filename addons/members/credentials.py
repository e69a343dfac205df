"""A provider key on the way out, and nowhere after: the header edits that put one on a
request (`Outbound`, prepared once per key) and `redact`, which takes it off the flow once it
has left, so mitmweb's stored and shown flows never hold it. upstreams.py decides which key."""

from __future__ import annotations

from mitmproxy import http

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

    def apply(self, request: http.Request, again: bool = False) -> None:
        """`again`: the request carries another key already (a call sent again)."""
        keep = self.keep
        fields = [(k, v) for k, v in request.headers.fields
                  if (name := k.lower()) in keep or name.startswith(_PREFIXES)]
        if self.defaults:
            present = {k.lower() for k, _ in fields}
            fields += [(k, v) for k, v in self.defaults if k not in present]
        request.headers.fields = (*fields, *self.add)
        if self.carrier == "?key":
            path = remove_query_param(request.path, "key")[0] if again else request.path
            request.path = with_key(path, self.secret)


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
