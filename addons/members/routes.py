"""Routes: a request's method and path to the provider endpoint it names and the path it goes
to upstream, or the refusal it gets. Pure: no flows, no I/O.

`/v1/<provider>/<rest>` is checked against the provider's allow-list, with the default API
version put in front unless `<rest>` names one. The raw path and query pass byte for byte;
anything that could step outside the endpoint (dot segments, encoded slashes or dots,
backslashes, empty segments) is refused before it can carry a credential.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import unquote

from addons.providers import UNROUTED, Endpoint, Provider
from addons.providers.base import QueryRefused

# Bytes never allowed in a path segment, raw or percent-decoded: separators, parameter and
# fragment marks (`;`, `#`, an encoded `?`: upstream servers may read them as structure),
# controls, DEL.
_BAD_SEGMENT = re.compile(r"[/\\%;#?\x00-\x20\x7f]")




class PathRefused(ValueError):
    pass


_PLAIN_PATH = re.compile(r"(?:/[A-Za-z0-9_:~-][A-Za-z0-9._:~-]*)+")


def split_segments(raw_path: str) -> list[str]:
    """The decoded segments of a path, refusing anything that could change its meaning."""
    if _PLAIN_PATH.fullmatch(raw_path) and "/.." not in raw_path:
        return raw_path[1:].split("/")  # nothing encoded, no dot segment: the common case
    if not raw_path.startswith("/"):
        raise PathRefused("the path must start with /")
    segments = raw_path[1:].split("/")
    decoded = []
    for seg in segments:
        if seg == "":
            raise PathRefused("empty path segment")
        try:
            plain = unquote(seg, errors="strict")
        except UnicodeDecodeError:
            raise PathRefused("malformed percent-encoding") from None
        if plain in (".", "..") or _BAD_SEGMENT.search(plain):
            raise PathRefused(f"illegal path segment {seg!r}")
        decoded.append(plain)
    return decoded


class Refusal(NamedTuple):
    """A request answered by the gateway, in `provider`'s error shape."""

    provider: Provider
    kind: str
    message: str
    code: str | None = None


class Named(NamedTuple):
    """An API path naming a provider (`segments`: the decoded path, as under
    /v1/<provider>/); `unified`: it came on a unified route, OpenAI's shape for any model."""

    provider: Provider
    segments: list[str]
    unified: bool = False


class Route(NamedTuple):
    """An endpoint of a provider, and the path (with query) it is sent to upstream."""

    provider: Provider
    endpoint: Endpoint
    path: str  # the endpoint's path after the version, without the query
    upstream: str  # after the provider's origin prefix: version, path, query


MODELS = "models"  # GET /v1/models: answered by the gateway itself
# The unified API: OpenAI's paths for every model; the body's model names who serves it.
# Below them (a stored completion or response, its messages, items, compaction) the objects
# are OpenAI's own: served there, the body's model (compaction) still naming who serves it.
UNIFIED = frozenset({("chat", "completions"), ("responses",), ("embeddings",)})
BY_MODEL = frozenset({"chat/completions", "responses", "embeddings", "responses/compact",
                      "responses/input_tokens"})  # the path after the version
_UNIFIED_FIRST = {path[0]: len(path) for path in UNIFIED}  # its first segment: its length
USAGE = "usage"  # GET /v1/usage: the caller's own month, answered by the gateway itself


def name(providers: dict[str, Provider], method: str, path: str) -> Named | Refusal | str | None:
    """Which provider an API path names: None for a path outside /v1 (the admin app's), MODELS,
    USAGE, or the refusal of a malformed path or an unknown provider."""
    if path != "/v1" and not path.startswith("/v1/"):
        return None
    try:
        segments = split_segments(path)
    except PathRefused as e:
        return Refusal(UNROUTED, "invalid_request", f"Invalid request path: {e}.", "invalid_path")
    if segments == ["v1", "models"] and method in ("GET", "HEAD"):
        return MODELS
    if segments == ["v1", "usage"] and method in ("GET", "HEAD"):
        return USAGE
    if len(segments) > 1 and segments[1] in _UNIFIED_FIRST and tuple(
            segments[1:1 + _UNIFIED_FIRST[segments[1]]]) in UNIFIED \
            and UNROUTED.name in providers:
        return Named(providers[UNROUTED.name], ["v1", UNROUTED.name, *segments[1:]], True)
    provider = providers.get(segments[1]) if len(segments) > 1 else None
    if provider is None:
        return Refusal(UNROUTED, "not_found", f"Unknown route {path}. Use /v1/<provider>/... "
                       f"with one of: {', '.join(sorted(providers))}.", "unknown_route")
    return Named(provider, segments)


def route(named: Named, method: str, path: str, query: str) -> Route | Refusal:
    """The endpoint a named provider's path is for (a dialect's, where the path names one),
    and what is sent upstream; or why not."""
    provider, segments, _ = named
    version, rest = provider.split_version(segments[2:])
    if rest and rest[0] in provider.dialects:
        provider = provider.dialects[rest[0]]
    plain = "/".join(rest)
    ep = provider.find_endpoint(method, plain)
    if ep is None:
        return Refusal(provider, "not_found", f"{method} {path} is not an endpoint this gateway "
                       f"serves for {provider.name}.")
    try:
        query = provider.query(query)
    except QueryRefused as e:
        return Refusal(provider, "invalid_request", str(e))
    raw_rest = "/".join(rest) if named.unified else path.split("/", 3)[3]
    if named.unified or segments[2] not in provider.versions:
        raw_rest = f"{version}/{raw_rest}"
    return Route(provider, ep, plain, f"{raw_rest}?{query}" if query else raw_rest)
