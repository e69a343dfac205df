"""What a provider is, as data: everything that differs between providers lives in one
`Provider` per provider, and the addons ask it instead of branching on names."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mitmproxy import http

from addons.wire.usage import Format

# Internal refusal kinds and their HTTP status; each provider words them its own way.
STATUS = {
    "invalid_request": 400,
    "authentication": 401,
    "permission": 403,
    "not_found": 404,
    "model_not_found": 404,
    "too_large": 413,
    "head_too_large": 431,
    "rate_limit": 429,
    "quota": 429,
    "credit": 429,  # out of prepaid credit: what the provider says when its own runs out
    "bad_gateway": 502,
    "unavailable": 503,
    "timeout": 504,
}


def _one(body: dict) -> int:
    return 1


# What a failed upstream answer says about the key that was sent (upstreams.py acts on it):
RATE_LIMITED = "rate_limited"  # the key's own limit: it cools until the provider's reset
REVOKED = "revoked"  # refused (401/403): out until the operator acts
NO_CREDIT = "no_credit"  # the account behind the key has no credit: out until the operator acts
TRANSIENT = "transient"  # the provider failed (5xx, 529): another try may work


def status_fault(status: int, body: dict | None) -> str | None:
    """The statuses every provider means alike; the rest is the customer's own answer."""
    if status == 429:
        return RATE_LIMITED
    if status in (401, 403):
        return REVOKED
    if status == 402:
        return NO_CREDIT
    if status >= 500:
        return TRANSIENT
    return None


def error_of(body) -> dict:
    """The `error` object of an error body (Gemini's OpenAI dialect wraps it in a list)."""
    if isinstance(body, list) and body:
        body = body[0]
    err = body.get("error") if isinstance(body, dict) else None
    return err if isinstance(err, dict) else {}


@dataclass(frozen=True)
class OutputCap:
    """How a generating endpoint's request caps its output, in the provider's own fields:
    `asked` reads the cap (None: none set), `apply` sets or lowers it (keeping dependent fields
    valid), `least` is the smallest cap the request can be answered with, `choices` how many
    answers it asks for (each up to the cap)."""

    asked: Callable[[dict], int | None]
    apply: Callable[[dict, int], None]
    least: Callable[[dict], int] = _one
    choices: Callable[[dict], int] = _one


def always(body) -> bool:
    return True


@dataclass(frozen=True)
class Tagged:
    """Objects the provider stores under the business's one account and lists to whoever
    asks, told apart by the customer's tag: written in the body that stores or updates one
    (`body(body, tag)`: whether it changed; raises for a body it cannot join), set as a list's
    filter (`query(query, tag)`), and taken out of the answer the customer reads (`answer(
    content)`: the new content, or None to leave it)."""

    body: Callable[[dict, str], bool] | None = None
    query: Callable[[str, str], str] | None = None
    answer: Callable[[bytes], bytes | None] | None = None


@dataclass(frozen=True)
class Endpoint:
    """One allowed endpoint family. `pattern` matches the path after the version segment."""

    name: str
    methods: frozenset[str]
    pattern: re.Pattern
    usage: Format | None = None  # how its answers report usage; None: consumes no tokens
    free: bool = False  # token counting: free, never metered as consumption
    json_body: bool = True  # POST bodies must be JSON objects
    streams_by_path: bool = False  # Gemini's :streamGenerateContent streams without a flag
    output: OutputCap | None = None  # generates output: how its cap is read and set
    # Upstream objects (stored responses) the request names, by (path, body): each must
    # belong to the caller. `creates`: whether the request (its body) stores objects the
    # caller then owns (the answer names them).
    refers: Callable[[str, dict | None], tuple[str, ...]] | None = None
    creates: Callable[[dict | None], bool] | None = None
    tagged: Tagged | None = None  # stored objects told apart by a tag written in them
    # The provider's own model list (or one model): (answer, may the caller use this model?)
    # -> the answer with only those it may, or None for a single model it may not.
    lists_models: Callable[[dict, Callable[[str], bool]], dict | None] | None = None


def endpoint(name, methods, pattern, **kw) -> Endpoint:
    return Endpoint(name, frozenset(methods.split()), re.compile(pattern + r"\Z"), **kw)


@dataclass(frozen=True)
class ErrorStyle:
    """Builds the provider's error body for a refusal kind."""

    build: Callable[[int, str, str, dict], dict]
    status: dict = field(default_factory=dict)  # the provider's own status for a kind

    def body(self, kind: str, message: str, **extra) -> tuple[int, bytes]:
        status = self.status.get(kind) or STATUS[kind]
        return status, json.dumps(self.build(status, kind, message, extra)).encode()


@dataclass(frozen=True)
class Provider:
    name: str
    upstream: str  # origin: the provider's own by default, the operator's from upstream_env
    default_version: str
    versions: frozenset[str]
    endpoints: tuple[Endpoint, ...]
    errors: ErrorStyle
    credential_in: str  # where the upstream key goes: a header name, or "?key" for the query
    model_of: Callable[[str, dict | None], str | None]  # (path after version, JSON body)
    # Client headers the API needs, besides the common ones (FORWARDED): nothing else is
    # forwarded, so cookies, proxy credentials, forwarding headers and billing selectors the
    # business did not choose never reach the provider.
    forward_headers: frozenset[str] = frozenset()
    upstream_env: str = ""  # the environment variable that points it elsewhere
    credential_env: str = ""  # the environment variable holding the business's key
    # Answer headers about the business's account upstream, never shown to a customer (a
    # name ending in "-" is a prefix).
    upstream_only: tuple[str, ...] = ()
    default_headers: dict[str, str] = field(default_factory=dict)  # set when the client did not
    # A request the gateway will not forward though the provider would take it: (path, body)
    # -> (message, param), or None.
    refuse: Callable[[str, dict], tuple[str, str] | None] = lambda path, body: None
    # Whether the answer to this body reasons where the stream does not show it (OpenAI's
    # reasoning models): a stream of it cut before its usage came cannot be estimated from
    # its text, and is charged what was reserved for it.
    hides_reasoning: Callable[[dict], bool] = lambda body: False
    # The processing tier a body asks for (OpenAI's service_tier), and the tiers that cost
    # more than a model's prices: served only where the catalog prices them for the model.
    tier_of: Callable[[dict], str | None] = lambda body: None
    surcharged_tiers: frozenset[str] = frozenset()
    # The query sent upstream for the client's (raw, percent-encoded): parameters that would
    # change the answer's shape so that its usage cannot be read are dropped, or the request
    # refused (QueryRefused). The default sends it as it came.
    query: Callable[[str], str] = lambda raw: raw
    # Other APIs served under this provider's route (Gemini's OpenAI-compatible one): the first
    # segment after the version names one; it shares the name, origin and credential.
    dialects: dict[str, Provider] = field(default_factory=dict)
    # What a failed answer (status, parsed body or None) says about the key sent: one of the
    # fault kinds above, or None when the answer is the customer's own (a bad request).
    fault: Callable[[int, object], str | None] = status_fault

    def split_version(self, rest: list[str]) -> tuple[str, list[str]]:
        """The API version segment of `rest`, or the default when the client left it out."""
        if rest and rest[0] in self.versions:
            return rest[0], rest[1:]
        return self.default_version, rest

    def find_endpoint(self, method: str, path: str) -> Endpoint | None:
        for ep in self.endpoints:
            if method in ep.methods and ep.pattern.match(path):
                return ep
        return None

    def error_response(self, kind: str, message: str, headers: dict | None = None,
                       **extra) -> http.Response:
        status, body = self.errors.body(kind, message, **extra)
        return http.Response.make(status, body, {"content-type": "application/json",
                                                 **(headers or {})})


def listed(key: str, prefix: str = "", first_last: bool = False):
    """A model list's filter, for lists of objects under `key` whose `id` (or `name`, less
    `prefix`) names the model; a single model object (GET models/<id>) is kept or refused."""

    def model_name(m) -> str:
        name = m.get("id") or m.get("name") or "" if isinstance(m, dict) else ""
        return name.removeprefix(prefix) if isinstance(name, str) else ""

    def keep(obj: dict, may) -> dict | None:
        items = obj.get(key)
        if not isinstance(items, list):  # one model
            return obj if may(model_name(obj)) else None
        kept = [m for m in items if may(model_name(m))]
        obj = {**obj, key: kept}
        if first_last:  # Anthropic's page bounds
            obj["first_id"] = kept[0].get("id") if kept else None
            obj["last_id"] = kept[-1].get("id") if kept else None
        return obj

    return keep


class QueryRefused(ValueError):
    """A query parameter the gateway cannot honour and still meter; the message says why."""


def body_model(path: str, body: dict | None) -> str | None:
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


def positive_int(v) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None


def proto_int(v) -> int | None:
    """A positive integer as proto3's JSON mapping takes one (Google's APIs): a number with no
    fraction (8 or 8.0) or a string of digits ("8")."""
    digits = isinstance(v, str) and v.isascii() and v.isdigit()
    whole = isinstance(v, float) and v.is_integer()
    return positive_int(int(v) if digits or whole else v)


def first_int(body: dict, *names: str) -> int | None:
    for name in names:
        if (v := positive_int(body.get(name))) is not None:
            return v
    return None


# Headers every API may need from the client; anything else must be named by the provider.
FORWARDED = frozenset({
    "host", "content-type", "content-length", "content-encoding", "transfer-encoding",
    "accept", "user-agent", "idempotency-key",
})
FORWARDED_PREFIXES = ("x-stainless-",)  # the official SDKs' own telemetry headers
