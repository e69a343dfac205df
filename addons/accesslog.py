"""Access log: one JSON line per API request, refused or proxied, on stdout (or a file).

Fields: time, request id, customer, key prefix (never the key), provider, endpoint, model,
status, tokens, latency. Settled usage comes from metering through `flow.metadata["usage"]`.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from mitmproxy import http

from .call import CALL, Call


def make_logger(target: str) -> logging.Logger | None:
    """`stdout` (default), `off`, or a file path."""
    if target == "off":
        return None
    logger = logging.getLogger("gateway.access")
    logger.propagate = False  # plain JSON lines, not mitmproxy's console format
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    handler = (logging.StreamHandler(sys.stdout) if target == "stdout"
               else logging.FileHandler(target))
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    return logger


class AccessLog:
    def __init__(self, logger: logging.Logger | None) -> None:
        self.logger = logger

    def response(self, flow: http.HTTPFlow) -> None:
        self._log(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._log(flow)

    def _log(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or self.logger is None or flow.metadata.get("gateway.logged"):
            return
        flow.metadata["gateway.logged"] = True
        usage = flow.metadata.get("usage") or {}
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "request_id": call.request_id,
            "customer": call.customer.email if call.customer else None,
            "key": call.customer.key_prefix if call.customer else None,
            "provider": call.provider.name,
            "endpoint": call.endpoint.name if call.endpoint else "models",
            "model": call.model,
            "method": flow.request.method,
            "status": flow.response.status_code if flow.response else 0,
            "streamed": call.streamed,
            "input_tokens": usage.get("input_tokens"),
            "output_tokens": usage.get("output_tokens"),
            "total_tokens": usage.get("total_tokens"),
            "complete": usage.get("complete"),
            "latency_ms": round((time.monotonic() - call.started) * 1000),
            "error": flow.error.msg if flow.error else None,
        }
        self.logger.info(json.dumps(entry, separators=(",", ":")))
