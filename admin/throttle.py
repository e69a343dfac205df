"""Sign-in throttling: growing delays, never a lock.

Failures are counted per address and per account at an address. After a few free tries each
further failure doubles the wait before the next try from there (up to a cap), so a guesser is
slowed to a crawl, while a stranger's failures never hold back the real user at their own
address. Unknown emails count like known ones: the answer does not tell them apart.
"""

from __future__ import annotations

import threading
import time

from cachetools import TTLCache


class Throttle:
    def __init__(self, free: int, base: float = 1.0, cap: float = 900.0,
                 forget_after: float = 3600.0, clock=time.monotonic) -> None:
        self.free, self.base, self.cap = free, base, cap
        self.clock = clock
        self._fails: TTLCache = TTLCache(maxsize=100_000, ttl=forget_after, timer=clock)
        self._lock = threading.Lock()  # the admin app serves on several threads

    def wait(self, key) -> float:
        """Seconds before `key` may try again (0: now)."""
        with self._lock:
            n, last = self._fails.get(key, (0, 0.0))
        if n < self.free:
            return 0.0
        return max(0.0, last + min(self.cap, self.base * 2 ** (n - self.free)) - self.clock())

    def failed(self, key) -> None:
        with self._lock:
            n, _ = self._fails.get(key, (0, 0.0))
            self._fails[key] = (n + 1, self.clock())

    def succeeded(self, key) -> None:
        with self._lock:
            self._fails.pop(key, None)
