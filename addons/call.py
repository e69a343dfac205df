"""Facts about one API call that the addons pass along in `flow.metadata[CALL]`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .providers import Endpoint, Provider
from .usage import StreamParser

CALL = "gateway"


@dataclass(frozen=True, slots=True)
class PlanInfo:
    name: str
    requests_per_minute: int
    monthly_tokens: int | None  # None: unlimited
    allowed_models: frozenset[str]  # empty: every model


@dataclass(frozen=True, slots=True)
class Customer:
    """Who a key belongs to, as the key cache holds it."""

    user_id: int
    email: str
    key_id: int
    key_prefix: str
    plan: PlanInfo


@dataclass(eq=False, slots=True)
class Call:
    provider: Provider
    endpoint: Endpoint | None  # None: answered by the gateway itself (/v1/models)
    path: str  # upstream path after the version segment, without the query
    request_id: str
    started: float = field(default_factory=time.monotonic)
    browser: bool = False  # came with an Origin: the answer carries CORS headers
    customer: Customer | None = None
    body: dict | None = None
    body_changed: bool = False  # the gateway rewrote the parsed body: send it re-encoded
    model: str | None = None
    input_estimate: int = 0  # the prompt's tokens, estimated from its text
    reserved: int = 0  # tokens held against the monthly quota until settled
    streamed: bool = False
    ttfb: float | None = None
    parser: StreamParser | None = None
    strip_usage_chunk: bool = False
    injected: bool = False  # the upstream credential is on flow.request right now
    last_activity: float = field(default_factory=time.monotonic)  # last byte from upstream
    timed_out: bool = False

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
