"""Metrics, the chain's member that counts each API call once its answer is settled: requests
by provider and status, refusals by reason, tokens by provider and kind, upstream latency and
time to first byte (the counters are services/prometheus.py's). Gauges are read when scraped:
open streams, the usage writer's queue.
"""

from __future__ import annotations

import logging

from mitmproxy import http

from addons.call import CALL, Call
from addons.services.inflight import InFlight
from addons.services.prometheus import (
    LATENCY,
    OPEN_STREAMS,
    REFUSALS,
    REQUESTS,
    TOKENS,
    TTFB,
    WRITER_QUEUE,
)

log = logging.getLogger(__name__)

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
