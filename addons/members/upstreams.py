"""Upstreams: which of the business's keys a call goes out with, and what a failed attempt
means for it. The last member before upstream: the key is put on only for a call that really
goes, and taken off the flow (mitmweb keeps flows) in the first hooks after it left.

A failed attempt reaches `upstream_failed` before any byte of it reached the client (the patch
in runtime/patches.py holds it back): a key rate limited cools until the provider's reset and
the call goes at once with another key; a key refused (401/403) or out of credit is taken out
until the operator acts, and the call goes with another; a provider failure (5xx, 529, a
connection that failed or closed) is tried again after a jittered backoff, with another key
where there is one, UPSTREAM_RETRIES times within UPSTREAM_CONNECT_TIMEOUT and the client's own
deadline. Only the attempt that answers goes on to metering: the customer pays once."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time

from mitmproxy import http

from addons.call import CALL, Call
from addons.members.credentials import Outbound, redact
from addons.providers.base import NO_CREDIT, RATE_LIMITED, REVOKED, TRANSIENT, error_of
from addons.services.pool import ROOM_EVERY, Key, Pool
from addons.wire import ratelimits
from models.upstreams import DROPPED

log = logging.getLogger(__name__)

COOL_DEFAULT = 30.0  # seconds, when a 429 says nothing of when its limit resets
BACKOFF = 0.25  # seconds before the first retry of a provider failure, doubled after
BACKOFF_MOST = 2.0


def backoff(n: int) -> float:
    """The wait before retry `n` (1, 2, ...): doubling, with full jitter on its upper half."""
    base = min(BACKOFF * 2 ** (n - 1), BACKOFF_MOST)
    return base / 2 + random.random() * base / 2


def cooling_for(resp: http.Response, body, now: float) -> float:
    """How long a rate-limited key rests: the provider's own word, else COOL_DEFAULT."""
    headers = resp.headers
    for wait in (ratelimits.retry_after(headers, now), ratelimits.reset_after(headers, now),
                 ratelimits.retry_delay(error_of(body))):
        if wait is not None:
            return max(wait, 0.05)
    return COOL_DEFAULT


def client_deadline(request: http.Request) -> float | None:
    """The SDK's own timeout for the call (`x-stainless-timeout`, seconds), if it says."""
    value = request.headers.get("x-stainless-timeout")
    try:
        return float(value) if value else None
    except ValueError:
        return None


class Upstreams:
    PHASE = "send"

    def __init__(self, pool: Pool, retries: int = 2, deadline: float = 10.0,
                 record=None, refused=None) -> None:
        self.pool = pool
        self.retries = retries  # provider failures tried again, at most, per call
        self.deadline = deadline  # seconds from the call's start within which it is retried
        self.record = record  # fn(key, outcome, status, seconds, call, until): each attempt
        self.refused = refused  # fn(user id, reason): a call no key could take is a refusal

    # --- out ---

    def request(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or not call.upstream or flow.response or flow.error:
            return
        if call.customer is None:  # never reached for an unauthenticated call; never inject
            return
        key = self.pool.choose(call.provider.name, call.model)
        if key is None:
            flow.response = self._none_left(call, native=False)
            return
        self._put_on(flow, call, key)

    def _put_on(self, flow: http.HTTPFlow, call: Call, key: Key) -> None:
        provider = call.provider
        out = key.outbound.get(id(provider))  # a dialect has its own carrier
        if out is None:
            out = key.outbound[id(provider)] = Outbound(provider, key.spec.secret)
        out.apply(flow.request, again=call.upstream_key is not None)
        call.upstream_key = key
        call.tried = (*call.tried, key) if call.tried else (key,)
        call.sent_at = time.monotonic()
        call.injected = True

    def _none_left(self, call: Call, native: bool) -> http.Response:
        """No key can take the call: a 429 until the soonest reset when keys are cooling
        (the SDKs wait `retry-after`), else a 503. `native`: in the provider's own shape
        (the answer phase translates it for a unified call), else the caller's."""
        shape = call.provider if native else call.answers_as
        wait = self.pool.soonest(call.provider.name, call.model)
        if self.refused is not None:
            self.refused(call.customer.user_id, "upstream")
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            return shape.error_response(
                "rate_limit", f"The provider's rate limit is reached on every key this gateway "
                f"has for {call.model or call.provider.name}; retry in {seconds}s. Nothing was "
                "charged.", headers={"retry-after": str(seconds),
                                     "retry-after-ms": str(int(wait * 1000))},
                request_id=call.request_id, retry_after=seconds)
        what = f"{call.provider.name} {call.model or ''}".strip()
        if self.pool.configured_for(call.provider.name, call.model):
            why = "its keys are out of service and the operator has been told"
        else:
            why = "none of its keys is configured for this model"
        return shape.error_response(
            "unavailable", f"This gateway cannot serve {what} right now: {why}. Nothing was "
            "charged.", request_id=call.request_id)

    # --- a failed attempt ---

    async def upstream_failed(self, attempt) -> None:
        flow = attempt.flow
        call: Call | None = flow.metadata.get(CALL)
        key: Key | None = call.upstream_key if call is not None else None
        if key is None:
            return
        resp, status = flow.response, flow.response.status_code if flow.response else 0
        body = None
        if resp is None:
            fault = DROPPED
        else:
            try:
                body = json.loads(resp.content or b"null")
            except (ValueError, UnicodeDecodeError):
                body = None
            fault = call.provider.fault(status, body)
        seconds = time.monotonic() - call.sent_at
        if fault is None:  # the request's own error: the key answered it
            self._record(key, "ok", status, seconds, call)
            return
        until = 0.0
        if fault == RATE_LIMITED:
            if not self.pool.others(key, call.model):  # nothing to step to: the 429 goes on
                self._record(key, fault, status, seconds, call)
                return
            rest = cooling_for(resp, body, time.time())
            until = time.time() + rest
            self.pool.cool(key, call.model, rest, status, call.request_id)
        elif fault in (REVOKED, NO_CREDIT):
            log.error("%s key %s (…%s) %s: taken out until the operator puts it back",
                      key.spec.provider, key.name, key.spec.fingerprint,
                      "refused (revoked?)" if fault == REVOKED else "is out of credit")
            self.pool.disable(key, fault, status, call.request_id)
        self._record(key, fault, status, seconds, call, until)
        nxt = await self._next(flow, call, key, fault)
        if nxt is None:
            if fault in (RATE_LIMITED, REVOKED, NO_CREDIT) and flow.live:
                flow.response = self._none_left(call, native=True)
            return  # a provider failure goes on as it came (a dropped one: mitmproxy's error)
        log.info("%s: %s key %s %s (%s); sent again with %s", call.request_id,
                 key.spec.provider, key.name, fault, status or "no answer", nxt.name)
        self._put_on(flow, call, nxt)
        attempt.resend = True

    async def _next(self, flow: http.HTTPFlow, call: Call, key: Key, fault: str) -> Key | None:
        """The key for the next attempt, after the backoff a provider failure waits; None when
        the call should not be tried again."""
        provider, model = call.provider.name, call.model
        if fault not in (TRANSIENT, DROPPED):  # the key's own fault: another, at once
            return self.pool.choose(provider, model, call.tried)
        if call.retries >= self.retries:
            return None
        call.retries += 1
        wait = backoff(call.retries)
        limit = min(self.deadline, client_deadline(flow.request) or math.inf)
        if time.monotonic() - call.started + wait > limit:
            return None
        await asyncio.sleep(wait)
        if not flow.live:
            return None
        # Another key where there is one; else the same again, if it still serves.
        return (self.pool.choose(provider, model, call.tried)
                or self.pool.choose(provider, model))

    def _record(self, key: Key, outcome: str, status: int, seconds: float, call: Call,
                until: float = 0.0) -> None:
        call.sent_at = 0.0  # this attempt is recorded
        if self.record is not None:
            self.record(key, outcome, status, seconds, call, until)

    @staticmethod
    def server_connect_error(data) -> None:
        """mitmproxy keeps a connection that failed to open among the client's, with its
        error, and answers every later request to that origin on the same client connection
        with that error, without trying. The failure has been reported to the stream by now
        (the error travels with the completion); forgotten, the next attempt connects anew."""
        data.server.error = None

    # --- the answer ---

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or call.upstream_key is None:
            return
        key = call.upstream_key
        resp = flow.response
        if resp is not None and call.sent_at:  # the attempt that answered, unrecorded
            now = time.monotonic()
            # The provider's word on the key's room steers the choice among several keys; it
            # changes smoothly, so a few readings a second are enough.
            if (call.upstream_fields and now - key.room_read > ROOM_EVERY
                    and len(self.pool.keys.get(key.spec.provider) or ()) > 1):
                key.room_read = now
                room = ratelimits.room(call.upstream_fields)
                if room is not None:
                    self.pool.set_room(key, room)
            self._record(key, "ok", resp.status_code, now - call.sent_at, call)
        self._redact(flow, call)

    def error(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or call.upstream_key is None:
            return
        if call.sent_at and flow.response is None:  # no answer, not tried again
            self._record(call.upstream_key, DROPPED, 0, time.monotonic() - call.sent_at, call)
        self._redact(flow, call)

    @staticmethod
    def _redact(flow: http.HTTPFlow, call: Call) -> None:
        if call.injected:
            redact(flow.request, call.provider.credential_in)
            call.injected = False
