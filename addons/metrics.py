"""Prometheus metrics of one gateway process (the official `prometheus_client`), served on
METRICS_ADDRESS (host:port; unset: off), an address of its own so the public port never
shows them. Worker i of `--workers N` serves on port + i.

The chain's `Metrics` member counts each API call once its answer is settled: requests by
provider and status, refusals by reason, tokens by provider and kind, upstream latency and
time to first byte. Gauges are read when scraped: open streams, the usage writer's queue.
The usage writer counts cost and database errors, the shared limiter Redis errors.
"""

from __future__ import annotations

import logging

from mitmproxy import http
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from .call import CALL, Call
from .inflight import InFlight

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("llm_gateway_requests", "API requests answered", ["provider", "status"],
                   registry=REGISTRY)
REFUSALS = Counter("llm_gateway_refusals", "API requests the gateway answered itself, by reason",
                   ["reason"], registry=REGISTRY)
TOKENS = Counter("llm_gateway_tokens", "Tokens metered", ["provider", "kind"], registry=REGISTRY)
COST = Counter("llm_gateway_cost_usd", "Upstream cost of the metered tokens (USD)", ["provider"],
               registry=REGISTRY)
LATENCY = Histogram("llm_gateway_upstream_latency_seconds", "Upstream calls, start to end",
                    ["provider"], registry=REGISTRY,
                    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))
TTFB = Histogram("llm_gateway_upstream_ttfb_seconds", "Upstream calls, start to first byte",
                 ["provider"], registry=REGISTRY,
                 buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
OPEN_STREAMS = Gauge("llm_gateway_open_streams", "Streams in flight", registry=REGISTRY)
WRITER_QUEUE = Gauge("llm_gateway_usage_writer_queue", "Usage records waiting to be written",
                     registry=REGISTRY)
REDIS_ERRORS = Counter("llm_gateway_redis_errors", "Shared-limit operations Redis failed",
                       registry=REGISTRY)
DEAD_LETTERS = Counter("llm_gateway_usage_dead_letters", "Usage records the database refused, "
                       "set aside (python -m admin dead-letters)", registry=REGISTRY)
DATABASE_ERRORS = Counter("llm_gateway_database_errors", "Usage batches the database failed",
                          registry=REGISTRY)

# A refusal's reason from its status (and, for 429, whether a retry can help).
_REASONS = {400: "invalid_request", 401: "authentication", 403: "permission", 404: "not_found",
            413: "too_large", 431: "head_too_large", 502: "gateway_error", 503: "unavailable"}
_KINDS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")


def reason(response: http.Response) -> str:
    if response.status_code == 429:
        return "quota" if response.headers.get("x-should-retry") == "false" else "rate_limit"
    return _REASONS.get(response.status_code, str(response.status_code))


class Metrics:
    PHASE = "answer"

    def __init__(self, inflight: InFlight, writer=None) -> None:
        self.inflight = inflight
        OPEN_STREAMS.set_function(lambda: sum(1 for _, c in inflight if c.streamed))
        if writer is not None:
            WRITER_QUEUE.set_function(writer.backlog)
        # Label children, found once: `labels()` hashes and locks on every call.
        self._requests: dict[tuple[str, int], object] = {}
        self._providers: dict[str, tuple] = {}  # name: (tokens by kind, ttfb, latency)

    def response(self, flow: http.HTTPFlow) -> None:
        self._count(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._count(flow)

    def _count(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or call.counted:
            return
        call.counted = True
        status = flow.response.status_code if flow.response is not None else 0
        key = (call.provider.name, status)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = REQUESTS.labels(*key)
        child.inc()
        settled = call.usage
        if settled is None:  # never went upstream: the gateway answered
            if flow.response is not None and status >= 400:
                REFUSALS.labels(reason(flow.response)).inc()
            return
        provider = call.provider.name
        children = self._providers.get(provider)
        if children is None:
            children = self._providers[provider] = (
                [TOKENS.labels(provider, kind.removesuffix("_tokens")) for kind in _KINDS],
                TTFB.labels(provider), LATENCY.labels(provider))
        tokens, ttfb, latency = children
        u = settled.usage
        for kind, child in zip(_KINDS, tokens):
            if n := getattr(u, kind):
                child.inc(n)
        if call.ttfb is not None:
            ttfb.observe(call.ttfb)
        latency.observe(call.last_activity - call.started)


def serve(address: str | None, index: int = 0) -> None:
    """Serve the metrics on `address` (host:port), port + index for worker `index`."""
    if not address:
        return
    host, _, port = address.rpartition(":")
    start_http_server(int(port) + index, addr=host or "127.0.0.1", registry=REGISTRY)
    log.warning("metrics on http://%s:%d/metrics", host or "127.0.0.1", int(port) + index)
