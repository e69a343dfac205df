"""Events per client address in a rolling window: whether an address is past its allowance,
and for how long (the invalid-key throttle, the flood detection of the connections member)."""

from __future__ import annotations

import time
from collections import deque

from cachetools import TTLCache


class PerAddress:
    """`allowed` events per `window` seconds for each address; an entry lives a window after
    its last event, and at most `maxsize` addresses are remembered."""

    def __init__(self, allowed: int, window: float, clock=time.monotonic,
                 maxsize: int = 100_000) -> None:
        self.allowed, self.window, self.clock = allowed, window, clock
        self._seen: TTLCache = TTLCache(maxsize=maxsize, ttl=window, timer=clock)

    def wait(self, address: str) -> float:
        """Seconds until the address is back within its allowance (0 or less: it is)."""
        stamps = self._seen.get(address)
        if stamps is None or len(stamps) < self.allowed:
            return 0.0
        return stamps[-self.allowed] + self.window - self.clock()

    def add(self, address: str) -> None:
        stamps = self._seen.get(address)
        if stamps is None:
            stamps = deque(maxlen=self.allowed)
        stamps.append(self.clock())
        self._seen[address] = stamps  # (re)set: the entry lives a window after the last
