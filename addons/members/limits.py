"""Limits: may this request go? Model access, monthly tokens, requests per minute; and the
monthly quota's reservations, held from admission until metering has settled the call.

Refusals are answered in the route's provider language. Every response on an API route carries
the customer's own limits; the upstream's rate-limit and organisation headers describe the
business's provider account, so they never reach the customer.
"""

from __future__ import annotations

import json
import math
import time

from mitmproxy import http

from addons.call import CALL, Call
from addons.members import cors
from addons.providers import UPSTREAM_ONLY
from addons.services.limiter import Admission, Credit, Limiter
from models import usd
from models.catalog import catalog_name
from models.selling import PER_MTOK

UNPRICED = ("refuse", "serve")
NOT_SERVED = ("does not exist or is not available through this gateway; GET /v1/models lists "
              "the models you can use.")
UPSTREAM_ONLY_HEADERS = ("set-cookie", *(h for h in UPSTREAM_ONLY if not h.endswith("-")))
UPSTREAM_ONLY_PREFIXES = tuple(h for h in UPSTREAM_ONLY if h.endswith("-"))


def duration(seconds: float) -> str:
    """A reset as the x-ratelimit-* headers give it: Go-style durations such as 250ms, 12s, 6m0s,
    27h3m0s."""
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
    """Admission. On a token-limited plan a generating request always has an output cap: the
    one it asked for, lowered to what the quota has left, or when it set none, the model's own
    maximum (from the catalog) so lowered. The cap is written into the provider's own field
    and reserved (times the answers asked for), so requests in flight together can never be
    metered past the quota by more than the error of their input estimates. The reservation
    is settled here too, against the usage metering set on the call (this member comes after
    metering, so its `response` and `error` see it); a call that never went settles at zero."""

    PHASE = "admit"

    def __init__(self, limiter: Limiter, default_max_output: int, prices=None,
                 unpriced: str = "refuse", refused=None) -> None:
        if unpriced not in UNPRICED:
            raise ValueError(f"UNPRICED_MODELS must be one of {', '.join(UNPRICED)}, "
                             f"not {unpriced!r}")
        self.limiter = limiter
        self.unpriced = unpriced  # a model missing from the catalog: "refuse" or "serve"
        self.default_max_output = default_max_output  # for models missing from the catalog
        self.prices = prices  # a PriceBook: each model's own output maximum
        self.held: dict[int, tuple[Call, str]] = {}  # admitted calls, their quota period
        self.refused = refused  # (user id, reason): counts each refusal for the customer

    def response(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is not None:
            self._settle(call)
            if call.upstream and call.endpoint.lists_models is not None:
                self._list_models(flow, call)

    def _list_models(self, flow: http.HTTPFlow, call: Call) -> None:
        """The provider's model list shows the caller only the models it may use (the
        business's upstream account may serve many more); one model it may not is a 404."""
        resp = flow.response
        if resp is None or not 200 <= resp.status_code < 300:
            return
        try:
            obj = json.loads(resp.content or b"null")
        except (ValueError, UnicodeDecodeError):
            return
        if not isinstance(obj, dict):
            return
        plan = call.customer.plan
        key = call.customer.key
        kept = call.endpoint.lists_models(
            obj, lambda model: self._on_plan(model, plan) and self._served(model)
            and (key is None or not key.models or _matches(model, key.models)))
        if kept is None:
            flow.response = call.answers_as.error_response(
                "model_not_found", f"The model {NOT_SERVED}", request_id=call.request_id)
        elif kept is not obj:
            resp.content = json.dumps(kept).encode()

    def error(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is not None:
            self._settle(call)

    def done(self) -> None:
        for call, _ in list(self.held.values()):  # metering's `done` settled them just before
            self._settle(call)

    def _settle(self, call: Call) -> None:
        held = self.held.pop(id(call), None)
        if held is None:
            return
        if call.in_flight:
            call.in_flight = False
            self.limiter.finish(call.customer, call.request_id)
        key = call.key_held, (call.charge if call.customer.key is not None else 0)
        if call.paid_by_credit:
            self.limiter.settle(call.customer, 0, 0, held[1], call.credit_held, call.charge,
                                *key)
        else:
            self.limiter.settle(call.customer, call.reserved, call.counted_tokens, held[1],
                                0, 0, *key)
        call.reserved = call.credit_held = call.key_held = 0

    def request(self, flow: http.HTTPFlow):
        call: Call | None = flow.metadata.get(CALL)
        if call is None or not call.upstream or flow.response or flow.error:
            return None
        customer, ep = call.customer, call.endpoint
        consumes = ep.usage is not None and not ep.free
        refusal = self._model_refusal(call, consumes)
        if refusal is not None:
            flow.response = refusal
            if refusal.status_code in (403, 404) and self.refused is not None:
                self.refused(customer.user_id, "model")
            return None
        ask = self._ask(call) if consumes else None
        if ask and ask[3] is not None and ask[3] < ask[2]:
            # Below the API's own minimum (the endpoint's `least`: a fixed floor, or above a
            # thinking budget): the provider's 400, not a quota refusal.
            flow.response = call.answers_as.error_response(
                "invalid_request", f"The output cap asked for ({ask[3]}) is below the "
                f"smallest this API accepts for this request ({ask[2]}).",
                request_id=call.request_id)
            return None
        if ask:
            key = customer.key
            charge = self._key_charge(call) if key is not None and \
                key.monthly_cap is not None else None
            admission = self.limiter.admit(customer, ep.free, True,
                                           *self._reservation(call, ask), key_charge=charge)
        else:
            admission = self.limiter.admit(customer, ep.free, request_id=call.request_id)
        if isinstance(admission, Admission):
            self._admitted(flow, call, admission, ask)
            return None
        return self._admitted_later(flow, call, admission, ask)  # a shared store: awaited

    async def _admitted_later(self, flow, call: Call, pending, ask) -> None:
        self._admitted(flow, call, await pending, ask)

    def _reservation(self, call: Call, ask) -> tuple:
        """What admission holds, as `Limiter.admit`'s arguments from `fixed` on: the input
        estimate and the output cap, in counted tokens at the model's sell prices on a
        weighted plan, with what credit would pay for them where the customer spends credit
        (the price book's terms, worked out once per plan and model)."""
        customer = call.customer
        plan = customer.plan
        estimate = call.input_estimate
        if (plan.reference or customer.spend_credit) and self.prices is not None:
            terms = self.prices.admission_terms(plan, call.model, customer.spend_credit)
            if terms is not None:
                per_input, weight, credit_input, credit_output = terms
                credit = None if credit_input is None else Credit(
                    -(-estimate * credit_input // PER_MTOK), credit_output)
                fixed = estimate if per_input is None else -(-estimate * per_input
                                                             // plan.reference)
                return fixed, ask[0], ask[1], ask[2], call.request_id, weight, credit
        return estimate, ask[0], ask[1], ask[2], call.request_id

    def _key_charge(self, call: Call) -> Credit:
        """What the call would cost at the plan's sell prices, for the key's spend cap: its
        input estimate, and each output token (nothing, for a model without a price)."""
        terms = self.prices.admission_terms(call.customer.plan, call.model, True) \
            if self.prices is not None else None
        if terms is None:
            return Credit(0, 0.0)
        return Credit(-(-call.input_estimate * terms[2] // PER_MTOK), terms[3])

    def _ask(self, call: Call) -> tuple[int, int, int, int | None]:
        """(output cap wanted, answers, least cap, cap asked): what to reserve for."""
        body, out = call.body or {}, call.endpoint.output
        if out is None:  # embeddings: input only
            return 0, 1, 0, None
        asked = out.asked(body)
        return asked or self._model_max(call.model), out.choices(body), out.least(body), asked

    def _admitted(self, flow: http.HTTPFlow, call: Call, a: Admission, ask) -> None:
        if not a.ok and self.refused is not None and a.refused != "unavailable":
            self.refused(call.customer.user_id, a.refused)
        if a.ok:
            call.reserved, call.credit_held, call.key_held = a.reserved, a.credit, a.key_held
            call.in_flight = a.in_flight
            call.paid_by_credit = a.credit > 0
            call.granted_output = a.output * ask[1] if ask else 0
            self.held[id(call)] = (call, a.period)  # settled once metering has settled it
            out = call.endpoint.output
            if ask and out is not None and a.available is not None and a.output != ask[3]:
                out.apply(call.body or {}, a.output)  # set where none was, or lowered
                call.body_changed = True
        elif a.refused == "quota":
            self._refuse_quota(flow, call, call.input_estimate + ask[2] * ask[1], a.available,
                               a.retry_after)
        elif a.refused == "credit":
            flow.response = call.answers_as.error_response(
                "credit", "Prepaid credit exhausted: this month's allowance is used and your "
                "credit balance cannot pay for this request. Add credit or upgrade your plan "
                "on the billing page.", headers={"x-should-retry": "false"},
                request_id=call.request_id)
        elif a.refused == "key_cap":
            key = call.customer.key
            flow.response = call.answers_as.error_response(
                "quota", f"This API key's monthly spend cap of ${_dollars(key.monthly_cap)} is "
                f"reached (${_dollars(a.available or 0)} left; this request could cost more). "
                f"It resets at {reset_time(a.retry_after)}; the account's owner can raise it.",
                headers={"x-should-retry": "false"}, request_id=call.request_id)
        elif a.refused == "key_rate":
            wait = max(1, math.ceil(a.retry_after))
            flow.response = call.answers_as.error_response(
                "rate_limit", f"Rate limit reached: this API key allows "
                f"{call.customer.key.rpm} requests per minute. Please try again in {wait}s.",
                headers={"retry-after": str(wait)}, retry_after=wait,
                request_id=call.request_id)
        elif a.refused == "in_flight":
            plan = call.customer.plan
            flow.response = call.answers_as.error_response(
                "rate_limit", f"Too many requests in flight: the {plan.name} plan allows "
                f"{plan.max_in_flight} at once, and that many of yours are still running. "
                "Please retry when one has finished.", headers={"retry-after": "1"},
                retry_after=1, request_id=call.request_id)
        elif a.refused == "rate":
            plan, free = call.customer.plan, call.endpoint.free
            wait = max(1, math.ceil(a.retry_after))
            what = "token-counting requests" if free else "requests"
            flow.response = call.answers_as.error_response(
                "rate_limit", f"Rate limit reached: the {plan.name} plan allows "
                f"{self.limiter.rpm(call.customer, free)} {what} per minute. Please try again "
                f"in {wait}s.", headers={"retry-after": str(wait)}, retry_after=wait,
                request_id=call.request_id)
        else:  # the shared limits did not answer: refused by the operator's policy
            wait = max(1, math.ceil(a.retry_after))
            flow.response = call.answers_as.error_response(
                "unavailable", "The gateway cannot check your plan's limits right now; "
                f"please retry in {wait}s.", headers={"retry-after": str(wait)},
                request_id=call.request_id)

    def _model_refusal(self, call: Call, consumes: bool) -> http.Response | None:
        """The model a call names: named at all where the call generates, on the plan, and in
        the catalog unless the operator serves unpriced models. A model the caller may not
        use is answered as the provider answers a model it does not have (404), which the
        SDKs and tools show as such, not as an authentication failure."""
        plan, model = call.customer.plan, call.model
        provider = call.speaks or call.provider  # the shape the customer reads
        if model is None:
            if consumes and call.body is not None:
                return provider.error_response(
                    "invalid_request", "model: a model name (a string) is required.",
                    param="model", request_id=call.request_id)
            return None
        if not self._on_plan(model, plan):
            return provider.error_response(
                "model_not_found", f"The model {model!r} is not available on the {plan.name} "
                f"plan. Models on this plan: {', '.join(sorted(plan.allowed_models))}.",
                request_id=call.request_id)
        key = call.customer.key
        if key is not None and key.models and not _matches(model, key.models):
            return provider.error_response(
                "permission", f"This API key may not use the model {model!r}. Models it may "
                f"use: {', '.join(sorted(key.models))}.", request_id=call.request_id)
        if consumes and not self._served(model):
            return provider.error_response(
                "model_not_found", f"The model {model!r} {NOT_SERVED}",
                request_id=call.request_id)
        if consumes and call.tier in call.provider.surcharged_tiers and not self._served_in(
                model, call.tier):
            return provider.error_response(
                "invalid_request", f"service_tier {call.tier!r} is not available for the "
                f"model {model!r} through this gateway: leave it out for the default tier.",
                param="service_tier", request_id=call.request_id)
        return None

    def _served_in(self, model: str, tier: str) -> bool:
        """A dearer tier: priced for the model by the catalog, or the operator serves what
        it does not price."""
        return (self.unpriced == "serve" or self.prices is None
                or self.prices.prices_tier(model, tier))

    def _on_plan(self, model: str, plan) -> bool:
        return not plan.allowed_models or self._allowed(model, plan)

    def _served(self, model: str) -> bool:
        """In the catalog, or unpriced models served by the operator's choice."""
        return (self.unpriced == "serve" or self.prices is None
                or self.prices.entry(model) is not None)

    def _model_max(self, model: str | None) -> int:
        found = self.prices.max_output(model) if self.prices is not None and model else None
        return found or self.default_max_output

    @staticmethod
    def _allowed(model: str, plan) -> bool:
        return _matches(model, plan.allowed_models)

    def _refuse_quota(self, flow, call: Call, needed: int, available: int | None,
                      until_reset: float) -> None:
        plan = call.customer.plan
        counted = "counted tokens (weighted by each model's price)" if plan.reference \
            else "tokens"
        flow.response = call.answers_as.error_response(
            "quota", f"Monthly token quota exhausted: on the {plan.name} plan this month's "
            f"allowance is {plan.monthly_tokens:,} {counted} and {available or 0:,} remain; "
            f"this request needs at least {needed:,} to be answered. The quota resets at "
            f"{reset_time(until_reset)}; upgrade your plan or add credit on the billing page "
            "to go on before then.",
            # Not transient: tell the SDKs not to retry into a wall.
            headers={"x-should-retry": "false"}, request_id=call.request_id)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or flow.response is None:
            return
        headers = flow.response.headers
        # One pass over the raw fields: cheaper than a MultiDict operation per header. The
        # answer's own stay on the call for the key pool (the provider's limits, read there).
        call.upstream_fields = headers.fields
        fields = [(k, v) for k, v in headers.fields if not _upstream_only(k)]
        fields.append((b"x-request-id", call.request_id.encode()))
        if call.browser:
            fields += cors.RESPONSE_HEADERS
        if call.customer is not None:
            s = self.limiter.standing(call.customer, call.reserved,
                                      call.upstream and call.endpoint.free)
            fields += [(b"x-ratelimit-limit-requests", b"%d" % s.rpm),
                       (b"x-ratelimit-remaining-requests", b"%d" % s.remaining_requests),
                       (b"x-ratelimit-reset-requests", duration(s.reset_requests).encode())]
            if s.token_limit is not None:
                fields += [(b"x-ratelimit-limit-tokens", b"%d" % s.token_limit),
                           (b"x-ratelimit-remaining-tokens", b"%d" % s.remaining_tokens),
                           (b"x-ratelimit-reset-tokens", duration(s.reset_tokens).encode())]
        headers.fields = tuple(fields)


def _dollars(nanos: int) -> str:
    return f"{usd(nanos).normalize():f}"


def _matches(model: str, allowed) -> bool:
    """On a list of models: by name, or by the catalog's name of a dated or prefixed one."""
    return model in allowed or catalog_name(model, allowed) is not None


def _upstream_only(name: bytes) -> bool:
    name = name.lower()
    return name in _UPSTREAM_ONLY or name.startswith(_UPSTREAM_PREFIXES)


# The gateway's own request id replaces the upstream's (which names the business's account).
_UPSTREAM_ONLY = {h.encode() for h in UPSTREAM_ONLY_HEADERS} | {b"x-request-id"}
_UPSTREAM_PREFIXES = tuple(p.encode() for p in UPSTREAM_ONLY_PREFIXES)
