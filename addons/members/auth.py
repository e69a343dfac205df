"""Auth: who is calling.

The customer key may come in any carrier an SDK or curl uses (`x-api-key`, `Authorization:
Bearer`, `x-goog-api-key`, `?key=`). All of them are removed whatever the route, so a customer
key never travels upstream nor shows in mitmweb; the credentials member puts the provider's on.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import time
from urllib.parse import unquote_plus

from mitmproxy import http

from addons.call import CALL, Call
from addons.services.keycache import KeyCache
from addons.services.per_address import PerAddress
from models.security import hash_key

log = logging.getLogger(__name__)

KEY_HEADERS = (b"x-api-key", b"authorization", b"x-goog-api-key")
# What a gateway key looks like; anything else is refused without a look-up.
KEY_SHAPE = re.compile(r"gw-[A-Za-z0-9_-]{20,64}")


def split_query(path: str, taken) -> tuple[str, list[tuple[str, str]]]:
    """Take the `name=value` pairs whose raw name `taken(name)` accepts out of the raw query,
    leaving the other bytes as they were; return the path and the pairs taken."""
    base, sep, query = path.partition("?")
    if not sep:
        return path, []
    kept, found = [], []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if taken(name):
            found.append((name, value))
        else:
            kept.append(pair)
    return (f"{base}?{'&'.join(kept)}" if kept else base), found


def remove_query_param(path: str, name: str) -> tuple[str, list[str]]:
    """Drop every `name=` pair; return the path and their values."""
    path, found = split_query(path, name.__eq__)
    return path, [v for _, v in found]


# Query parameters that carry credentials in some API or other, compared percent-decoded,
# lower-cased and without `-` and `_`: none may travel upstream beside the injected key, in any
# spelling (`KEY=`, `%6Bey=`, `access_token=`, `api-key=`...).
CREDENTIAL_PARAMS = frozenset({
    "key", "apikey", "xapikey", "xgoogapikey", "accesstoken", "token", "authtoken", "idtoken",
    "oauthtoken", "bearer", "auth", "authorization", "credential", "credentials", "secret",
    "clientsecret", "password", "passwd", "session", "sessionid", "sig", "signature",
})


def credential_like(name: str) -> bool:
    return unquote_plus(name).lower().replace("-", "").replace("_", "") in CREDENTIAL_PARAMS


def take_query_credentials(path: str) -> tuple[str, list[str]]:
    """Drop every credential-like parameter from the raw query; return the path and the values
    of plain `key=` (a query carrier, where a customer's key may come)."""
    path, found = split_query(path, credential_like)
    return path, [v for name, v in found if name == "key"]


def take_customer_key(request: http.Request) -> str | None:
    """Remove every credential carrier from the request; return the first key found."""
    found: list[str] = []
    kept = []
    for name, value in request.headers.fields:  # one pass over the raw fields
        lname = name.lower()
        if lname not in KEY_HEADERS:
            kept.append((name, value))
            continue
        text = value.decode("utf-8", "surrogateescape").strip()
        if lname == b"authorization":
            scheme, _, text = text.partition(" ")
            if scheme.lower() != "bearer":
                continue
        found.append(text.strip())
    if len(kept) != len(request.headers.fields):
        request.headers.fields = tuple(kept)
    if "?" in request.path:
        path, in_query = take_query_credentials(request.path)
        if path != request.path:
            request.path = path
        found += in_query
    return next((k for k in found if k), None)


class FailedKeys(PerAddress):
    """Invalid keys per client address in a rolling minute. An address past `allowed` is
    refused before any look-up: a flood of made-up keys costs the database nothing and the
    other customers no latency (a known key is answered from memory before this is asked)."""

    def __init__(self, allowed: int = 30, window: float = 60.0, clock=time.monotonic) -> None:
        super().__init__(allowed, window, clock)


def client_address(flow: http.HTTPFlow, trusted: frozenset[str]) -> str:
    """Who sent the request: the peer, or behind a proxy the operator trusts, the address that
    proxy put last in X-Forwarded-For."""
    peer = flow.client_conn.peername[0]
    if peer in trusted:
        forwarded = flow.request.headers.get_all("x-forwarded-for")
        if forwarded:
            return forwarded[-1].rsplit(",", 1)[-1].strip() or peer
    return peer


class Auth:
    PHASE = "identify"

    def __init__(self, keys: KeyCache, failed: FailedKeys | None = None,
                 trusted_proxies: frozenset[str] = frozenset()) -> None:
        self.keys = keys
        self.failed = failed or FailedKeys()
        self.trusted_proxies = trusted_proxies

    def requestheaders(self, flow: http.HTTPFlow):
        call: Call | None = flow.metadata.get(CALL)
        if call is None or flow.response or flow.error:
            return None
        key = take_customer_key(flow.request)
        if not key:
            flow.response = call.answers_as.error_response(
                "authentication", "No API key provided. Send your gateway key (gw-...) as "
                "x-api-key, Authorization: Bearer, x-goog-api-key or ?key=.",
                request_id=call.request_id)
            return None
        if not KEY_SHAPE.fullmatch(key):
            return self._admit(flow, call, None)
        digest = hash_key(key)
        found, customer = self.keys.cached(digest)
        if found:
            return self._admit(flow, call, customer)
        wait = self.failed.wait(client_address(flow, self.trusted_proxies))
        if wait > 0:
            wait = max(1, math.ceil(wait))
            flow.response = call.answers_as.error_response(
                "rate_limit", f"Too many requests with invalid API keys from your address. "
                f"Please try again in {wait}s.", headers={"retry-after": str(wait)},
                retry_after=wait, request_id=call.request_id)
            return None
        return self._look_up(flow, call, digest)  # a miss: the database, off the loop

    async def _look_up(self, flow: http.HTTPFlow, call: Call, digest: str) -> None:
        try:
            customer = await self.keys.resolve_digest(digest)
        except Exception:
            log.exception("key look-up failed")
            flow.response = call.answers_as.error_response(
                "bad_gateway", "The gateway could not check your key; please retry.",
                request_id=call.request_id)
            return
        self._admit(flow, call, customer)

    def _admit(self, flow: http.HTTPFlow, call: Call, customer) -> None:
        if customer is None:
            self.failed.add(client_address(flow, self.trusted_proxies))
            flow.response = call.answers_as.error_response(
                "authentication", "Invalid API key: unknown, revoked or suspended.",
                request_id=call.request_id)
        elif customer.key is not None and (refusal := self._key_refusal(flow, call, customer)):
            flow.response = refusal
        else:
            call.customer = customer

    def _key_refusal(self, flow: http.HTTPFlow, call: Call, customer) -> http.Response | None:
        """The key's own expiry and client networks."""
        key = customer.key
        if key.expires is not None and time.time() >= key.expires:
            return call.answers_as.error_response(
                "authentication", f"This API key expired at {key.expires_text}. Create a new "
                "key, or ask the account's owner to extend it.", request_id=call.request_id)
        if key.networks:
            address = client_address(flow, self.trusted_proxies)
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                ip = None
            if ip is None or not any(ip in net for net in key.networks):
                return call.answers_as.error_response(
                    "permission", f"This API key may not be used from your address "
                    f"({address}): it is limited to other networks.",
                    request_id=call.request_id)
        return None
