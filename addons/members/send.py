"""The request as it leaves: the body re-encoded where the gateway changed it, and the call
entered in the in-flight registry, for the calls no earlier member answered."""

from __future__ import annotations

import asyncio
import time

from mitmproxy import http

from addons.call import CALL, Call
from addons.services.inflight import InFlight
from addons.wire import bodies
from addons.wire import headers as fields


class Send:
    PHASE = "send"

    def __init__(self, inflight: InFlight) -> None:
        self.inflight = inflight

    def request(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or not call.upstream or flow.response or flow.error:
            return
        if call.customer is None:  # the last gate before upstream: never unauthenticated
            raise RuntimeError("an API call reached the send step without a customer")
        if call.body_changed:  # usage asked for, or an output cap set by the limits
            if call.large_body:
                return self._dumped_aside(flow, call)
            fields.set_body(flow.request, bodies.dumps(call.body))
        self._sent(flow, call)
        return None

    async def _dumped_aside(self, flow: http.HTTPFlow, call: Call) -> None:
        """A large body's bytes joined on a thread: the copy runs without the GIL."""
        fields.set_body(flow.request, await asyncio.to_thread(bodies.dumps, call.body))
        self._sent(flow, call)

    def _sent(self, flow: http.HTTPFlow, call: Call) -> None:
        call.body = None  # read by now; an open stream should not hold the parsed prompt
        call.last_activity = time.monotonic()  # the idle timer starts as it leaves
        self.inflight.add(flow, call)
