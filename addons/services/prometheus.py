"""The gateway's Prometheus metrics (the official `prometheus_client`): one registry per process
and its counters, served on METRICS_ADDRESS (host:port; unset: off), an address of its own so
the public port never shows them. Worker i of `--workers N` serves on port + i. The Metrics
member counts the calls; the usage writer counts cost, dead letters and database errors, the
shared limiter Redis errors.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily

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
CONNECTIONS_HELD_BACK = Counter(
    "llm_gateway_connections_held_back", "Client connections closed over the per-address cap "
    "(over_cap) or held back from a flooding address (flooding)", ["reason"], registry=REGISTRY)
class Attempts:
    """Attempts sent with each provider key, by outcome: read from the key pool's own counts
    when scraped (`source`), so an attempt costs the hot path no metric update."""

    source = None  # () -> iterable of (provider, key name, outcome, attempts)

    def collect(self):
        family = CounterMetricFamily(
            "llm_gateway_upstream_attempts", "Attempts sent with each provider key, by outcome "
            "(ok, rate_limited, revoked, no_credit, transient, dropped)",
            labels=["provider", "key", "outcome"])
        for provider, key, outcome, n in (self.source() if self.source else ()):
            family.add_metric([provider, key, outcome], n)
        yield family


UPSTREAM_ATTEMPTS = Attempts()
REGISTRY.register(UPSTREAM_ATTEMPTS)
UPSTREAM_KEY_STATE = Gauge("llm_gateway_upstream_key_state", "Each provider key's state: "
                           "0 serving, 1 cooling, 2 disabled", ["provider", "key"],
                           registry=REGISTRY)

# A refusal's reason from its status (and, for 429, whether a retry can help).


def serve(address: str | None, index: int = 0) -> None:
    """Serve the metrics on `address` (host:port), port + index for worker `index`."""
    if not address:
        return
    host, _, port = address.rpartition(":")
    start_http_server(int(port) + index, addr=host or "127.0.0.1", registry=REGISTRY)
    log.warning("metrics on http://%s:%d/metrics", host or "127.0.0.1", int(port) + index)
