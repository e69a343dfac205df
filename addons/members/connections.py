"""Connections: how many each client address may hold open, and what a flooding one gets.

One process's event loop serves its ready connections in turn, so an address with many busy
connections makes every other customer wait (one address flooding with 128 keep-alive
connections made another customer's calls 15 to 60 times slower). The rules, as nginx's
`limit_conn` and Envoy's per-downstream connection limits:
- an address holds at most `per_address` connections at once in this process; one more is
  closed as it connects, before a byte of it is read. A peer in TRUSTED_PROXIES (a load
  balancer: many clients behind one address) is not capped;
- an answer refusing the caller (401, 403 or 429 from the gateway itself: a bad, revoked or
  throttled key, a customer over its limits) goes with `Connection: close`, so a flood of
  refused calls pays a connection for each;
- an address refused `FLOODING` times within `REFUSED_FOR` seconds is flooding: until its
  refusals stop, each of its new connections waits `flood_delay` seconds before it is read (a
  timer: the loop serves the others meanwhile), so its calls come a few at a time and are
  still answered. A client refused now and then (a rate limit met, a key mistyped) is not
  affected.
"""

from __future__ import annotations

import asyncio
import logging
import time

from mitmproxy import connection, http

from addons.call import CALL, Call
from addons.services import prometheus as metrics
from addons.services.per_address import PerAddress

log = logging.getLogger(__name__)

REFUSED = frozenset({401, 403, 429})
REFUSED_FOR = 10.0  # seconds: the rolling window refusals are counted in
FLOODING = 20  # refusals in that window that make an address a flood
FLOOD_DELAY = 0.5  # seconds a flooding address's new connection waits
LOG_EVERY = 10.0


class Connections:
    PHASE = "accept"

    def __init__(self, per_address: int, flood_delay: float = FLOOD_DELAY,
                 trusted: frozenset[str] = frozenset(), clock=time.monotonic) -> None:
        self.per_address = per_address  # 0: no cap
        self.flood_delay = flood_delay
        self.trusted = trusted
        self.open: dict[str, int] = {}  # capped addresses' open connections
        self.refused = PerAddress(FLOODING, REFUSED_FOR, clock)  # the gateway's refusals
        self.closed = 0  # connections closed over a cap, since start
        self._logged = float("-inf")
        self.clock = clock

    def client_connected(self, client: connection.Client):
        """Closes a connection over the cap; a flooding address's waits (an awaitable)."""
        if not self.per_address:
            return None
        address = client.peername[0]
        if address in self.trusted:
            return None
        n = self.open.get(address, 0) + 1
        self.open[address] = n
        if n > self.per_address:
            client.error = f"over {self.per_address} connections from one address"
            self.closed += 1
            metrics.CONNECTIONS_HELD_BACK.labels("over_cap").inc()
            now = self.clock()
            if now - self._logged > LOG_EVERY:
                self._logged = now
                log.warning("%s holds %d connections, over its cap of %d: closing the ones "
                            "over it (%d so far)", address, n - 1, self.per_address,
                            self.closed)
            return None
        if self.flood_delay and self.refused.wait(address) > 0:  # flooding
            metrics.CONNECTIONS_HELD_BACK.labels("flooding").inc()
            return asyncio.sleep(self.flood_delay)
        return None

    def client_disconnected(self, client: connection.Client) -> None:
        address = client.peername[0]
        n = self.open.get(address)
        if n is not None:
            if n > 1:
                self.open[address] = n - 1
            else:
                del self.open[address]

    def response(self, flow: http.HTTPFlow) -> None:
        """A refusal of the gateway's own: the connection ends with it, and it is counted."""
        resp = flow.response
        if resp.status_code not in REFUSED:
            return
        call: Call | None = flow.metadata.get(CALL)
        if call is None or call.sent_at:  # the provider's answer, not the gateway's refusal
            return
        if flow.request.http_version.startswith("HTTP/1"):
            resp.headers["connection"] = "close"
        address = flow.client_conn.peername[0]
        if self.per_address and address not in self.trusted:
            self.refused.add(address)
