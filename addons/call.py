"""Facts about one API call, in `flow.metadata[CALL]`: each field is written by the one member
that decides it (named beside it) and read by the others."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mitmproxy import http

from addons.providers import Endpoint, Provider
from addons.wire.usage import Settlement, StreamParser

CALL = "gateway"


@dataclass(frozen=True, slots=True)
class PlanInfo:
    name: str
    requests_per_minute: int
    monthly_tokens: int | None  # this month's allowance (models/month.py); None: unlimited
    allowed_models: frozenset[str]  # empty: every model
    plan_id: int = 0  # the operator's sell prices for it, in the price book
    markup_bp: int = 0  # sell prices elsewhere: the cost plus this (basis points)
    # A weighted allowance's reference price (nano-dollars per million counted tokens);
    # None: the allowance counts raw tokens.
    reference: int | None = None
    max_in_flight: int | None = None  # calls at once; None: no cap


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """A key's own limits (models/key_limits.py), as the key cache holds them."""

    rpm: int | None = None
    monthly_cap: int | None = None  # nano-dollars at sell prices, this calendar month
    models: frozenset[str] = frozenset()  # empty: the plan's
    expires: float | None = None  # epoch seconds
    networks: tuple = ()  # ipaddress networks; empty: anywhere
    expires_text: str = ""


@dataclass(frozen=True, slots=True)
class Customer:
    """Who a key belongs to, as the key cache holds it."""

    user_id: int
    email: str
    key_id: int
    key_prefix: str
    plan: PlanInfo
    # Pays from prepaid credit once the allowance is used (always, on a plan without one).
    spend_credit: bool = False
    key: KeyPolicy | None = None  # None: the key has no limits of its own


@dataclass(eq=False, slots=True)
class Call:
    # The router: what the call is.
    provider: Provider
    endpoint: Endpoint | None  # None: answered by the gateway itself (/v1/models)
    path: str  # upstream path after the version segment, without the query
    request_id: str
    # The unified API (/v1/chat/completions ...): the provider whose shape the customer
    # speaks (OpenAI's), while `provider` serves it; and the translation of its answers.
    speaks: Provider | None = None
    translation: object | None = None  # the provider's translator, set by the router
    unified: bool = False  # came on a unified route, whoever serves it
    started: float = field(default_factory=time.monotonic)
    browser: bool = False  # came with an Origin: the answer carries CORS headers
    body: dict | None = None  # the parsed request, until it is sent
    large_body: bool = False  # over bodies.LARGE: its memory is given back once it is done
    model: str | None = None
    tier: str | None = None  # the processing tier asked for (the provider's tier_of)
    input_estimate: int = 0  # the prompt's tokens, estimated from its text
    # Auth: who is calling.
    customer: Customer | None = None
    # Metering and the limits: the body rewritten (usage asked for, an output cap set).
    body_changed: bool = False
    strip_usage_chunk: bool = False  # metering asked for a usage chunk the client did not
    hidden_reasoning: bool = False  # metering: the answer may reason out of the stream's sight
    # The limits: tokens held against the monthly quota until the call is settled, or
    # (paid from credit) nano-dollars held against the balance.
    reserved: int = 0
    credit_held: int = 0
    paid_by_credit: bool = False
    granted_output: int = 0  # output tokens reserved for: the cap granted times the answers
    key_held: int = 0  # nano-dollars held against the key's monthly cap
    # Ownership: the answer stores objects the customer will own (owners.py).
    stores: bool = False
    # Upstreams: the provider key the call went out with (a pool.Key), the keys it was sent
    # with, and whether that credential is on flow.request right now.
    upstream_key: object | None = None
    upstream_fields: tuple | None = None  # the limits: the upstream answer's own header fields
    tried: tuple = ()
    retries: int = 0  # provider failures sent again
    sent_at: float = 0.0
    injected: bool = False
    # Metering: how the answer came and what it used.
    streamed: bool = False
    ttfb: float | None = None
    parser: StreamParser | None = None
    last_activity: float = field(default_factory=time.monotonic)  # sent, or last byte since
    usage: Settlement | None = None  # settled once the call ends
    answer: dict | None = None  # a translated call's buffered answer, as parsed (translate.py)
    charge: int = 0  # nano-dollars at the plan's sell prices
    counted_tokens: int = 0  # what it counts against the allowance
    # Timeouts: the upstream went quiet for too long.
    timed_out: bool = False
    # Error responses: what the client gets instead of mitmproxy's error page.
    error_response: http.Response | None = None
    # The access log: this call's line is written.
    logged: bool = False
    # Metrics: this call is counted.
    counted: bool = False
    in_flight: bool = False  # counted against the plan's cap on calls at once, until settled

    @property
    def answers_as(self) -> Provider:
        """The provider whose error shape the customer reads."""
        return self.speaks or self.provider

    @property
    def upstream(self) -> bool:
        return self.endpoint is not None

    def summary(self) -> dict:
        """What mitmweb may show and store: no secrets, only plain values."""
        return {
            "request_id": self.request_id,
            "provider": self.provider.name,
            "endpoint": self.endpoint.name if self.endpoint else "models",
            "customer": self.customer.email if self.customer else None,
            "key": self.customer.key_prefix if self.customer else None,
            "model": self.model,
        }

    def __deepcopy__(self, memo) -> dict:
        # mitmweb copies and saves flow.metadata; it gets the summary, not the live state.
        return self.summary()
