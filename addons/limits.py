"""Limits: may this request go? Model access, monthly tokens, requests per minute.

Refusals are answered in the route's provider language. Every response on an API route carries
the customer's own limits; the upstream's rate-limit and organisation headers describe the
business's provider account, so they never reach the customer.
"""

from __future__ import annotations

import math
import time

from mitmproxy import http

from models.catalog import catalog_name

from .call import CALL, Call
from .guard import fail_closed
from .limiter import Limiter

UPSTREAM_ONLY_HEADERS = ("openai-organization", "openai-project", "anthropic-organization-id",
                         "set-cookie")
UPSTREAM_ONLY_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "anthropic-priority-")


def duration(seconds: float) -> str:
    """OpenAI's reset format: Go-style durations such as 250ms, 12s, 6m0s, 27h3m0s."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    s = math.ceil(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h{m}m{sec}s"
    return f"{m}m{sec}s" if m else f"{sec}s"


def reset_time(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))


class Limits:
    def __init__(self, limiter: Limiter, default_max_output: int) -> None:
        self.limiter = limiter
        self.default_max_output = default_max_output

    @fail_closed
    def request(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or not call.upstream or flow.response or flow.error:
            return
        customer, provider = call.customer, call.provider
        plan = customer.plan
        if plan.allowed_models and call.model and not self._allowed(call.model, plan):
            flow.response = provider.error_response(
                "permission", f"The model {call.model!r} is not available on the {plan.name} "
                f"plan. Models on this plan: {', '.join(sorted(plan.allowed_models))}.",
                request_id=call.request_id)
            return
        if call.endpoint.usage and not call.endpoint.free:
            out = provider.max_output(call.body or {}) or self.default_max_output
            estimate = call.input_estimate + out
            decision = self.limiter.reserve(customer, estimate)
            if not decision.ok:
                self._refuse_quota(flow, call, estimate, decision.retry_after)
                return
            call.reserved = estimate
        decision = self.limiter.admit_request(customer)
        if not decision.ok:
            self.limiter.settle(customer, call.reserved, 0)
            call.reserved = 0
            wait = max(1, math.ceil(decision.retry_after))
            flow.response = provider.error_response(
                "rate_limit", f"Rate limit reached: the {plan.name} plan allows "
                f"{plan.requests_per_minute} requests per minute. Please try again in {wait}s.",
                headers={"retry-after": str(wait)}, retry_after=wait,
                request_id=call.request_id)

    @staticmethod
    def _allowed(model: str, plan) -> bool:
        return model in plan.allowed_models or catalog_name(model, plan.allowed_models) is not None

    def _refuse_quota(self, flow, call: Call, estimate: int, until_reset: float) -> None:
        plan = call.customer.plan
        flow.response = call.provider.error_response(
            "quota", f"Monthly token quota exhausted: the {plan.name} plan includes "
            f"{plan.monthly_tokens:,} tokens a month, and this request could need up to "
            f"{estimate:,} more. The quota resets at {reset_time(until_reset)}.",
            # Not transient: tell the SDKs not to retry into a wall.
            headers={"x-should-retry": "false"}, request_id=call.request_id)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or flow.response is None:
            return
        headers = flow.response.headers
        # One pass over the raw fields: cheaper than a MultiDict operation per header.
        fields = [(k, v) for k, v in headers.fields if not _upstream_only(k)]
        fields.append((b"x-request-id", call.request_id.encode()))
        if call.customer is not None:
            s = self.limiter.standing(call.customer)
            fields += [(b"x-ratelimit-limit-requests", b"%d" % s.rpm),
                       (b"x-ratelimit-remaining-requests", b"%d" % s.remaining_requests),
                       (b"x-ratelimit-reset-requests", duration(s.reset_requests).encode())]
            if s.token_limit is not None:
                fields += [(b"x-ratelimit-limit-tokens", b"%d" % s.token_limit),
                           (b"x-ratelimit-remaining-tokens", b"%d" % s.remaining_tokens),
                           (b"x-ratelimit-reset-tokens", duration(s.reset_tokens).encode())]
        headers.fields = tuple(fields)


def _upstream_only(name: bytes) -> bool:
    name = name.lower()
    return name in _UPSTREAM_ONLY or name.startswith(_UPSTREAM_PREFIXES)


# The gateway's own request id replaces the upstream's (which names the business's account).
_UPSTREAM_ONLY = {h.encode() for h in UPSTREAM_ONLY_HEADERS} | {b"x-request-id"}
_UPSTREAM_PREFIXES = tuple(p.encode() for p in UPSTREAM_ONLY_PREFIXES)
