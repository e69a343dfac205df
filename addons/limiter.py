"""Plan limits in memory: a rolling 60-second request log and a monthly token ledger.

Everything here runs on the event loop and never waits: admission is a few dict and deque
operations. `Limiter` is the interface a shared store (Redis, say) would implement for several
gateway processes; `restore()` rebuilds it from the database at start so limits survive restarts.
"""

from __future__ import annotations

import calendar
import datetime as dt
import time
from collections import deque
from typing import NamedTuple

from .call import Customer

WINDOW = 60.0


def month_of(ts: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(ts))


def month_end(ts: float) -> float:
    """The UTC instant the month containing `ts` ends."""
    d = dt.datetime.fromtimestamp(ts, dt.UTC)
    days = calendar.monthrange(d.year, d.month)[1]
    end = dt.datetime(d.year, d.month, days, tzinfo=dt.UTC) + dt.timedelta(days=1)
    return end.timestamp()


class Decision(NamedTuple):  # tuples: one or two are built for every request
    ok: bool
    retry_after: float = 0.0  # seconds until a request would be admitted


class Standing(NamedTuple):
    """A customer's limits as the rate-limit headers report them."""

    rpm: int
    remaining_requests: int
    reset_requests: float  # seconds until the window frees a slot
    token_limit: int | None
    remaining_tokens: int | None
    reset_tokens: float  # seconds until the month ends


class Limiter:
    def __init__(self, clock=time.time) -> None:
        self.clock = clock
        self._windows: dict[int, deque[float]] = {}
        self._used: dict[int, int] = {}  # settled tokens this month, by user
        self._reserved: dict[int, int] = {}
        self._month = month_of(clock())
        self._month_end = month_end(clock())

    # --- requests per minute ---

    def _window(self, user_id: int, now: float) -> deque[float]:
        win = self._windows.get(user_id)
        if win is None:
            win = self._windows[user_id] = deque()
        while win and win[0] <= now - WINDOW:
            win.popleft()
        return win

    def admit_request(self, customer: Customer) -> Decision:
        """Admit and count a request, or say how long until one would be admitted."""
        now = self.clock()
        win = self._window(customer.user_id, now)
        rpm = customer.plan.requests_per_minute
        if len(win) < rpm:
            win.append(now)
            return Decision(True)
        # The slot frees when the request rpm places back leaves the window.
        return Decision(False, win[len(win) - rpm] + WINDOW - now)

    # --- monthly tokens ---

    def _roll_month(self, now: float) -> None:
        if now < self._month_end:
            return
        self._month, self._used, self._month_end = month_of(now), {}, month_end(now)

    def reserve(self, customer: Customer, estimate: int) -> Decision:
        limit = customer.plan.monthly_tokens
        now = self.clock()
        self._roll_month(now)
        uid = customer.user_id
        if limit is not None:
            held = self._used.get(uid, 0) + self._reserved.get(uid, 0)
            if held + estimate > limit:
                return Decision(False, self._month_end - now)
        self._reserved[uid] = self._reserved.get(uid, 0) + estimate
        return Decision(True)

    def settle(self, customer: Customer, reserved: int, used: int) -> None:
        """Replace a reservation with what the request really used."""
        self._roll_month(self.clock())
        uid = customer.user_id
        if reserved:
            left = self._reserved.get(uid, 0) - reserved
            if left > 0:
                self._reserved[uid] = left
            else:
                self._reserved.pop(uid, None)
        if used:
            self._used[uid] = self._used.get(uid, 0) + used

    def standing(self, customer: Customer) -> Standing:
        now = self.clock()
        self._roll_month(now)
        uid = customer.user_id
        win = self._window(uid, now)
        rpm = customer.plan.requests_per_minute
        reset = (win[0] + WINDOW - now) if win else 0.0
        limit = customer.plan.monthly_tokens
        remaining = None
        if limit is not None:
            remaining = max(0, limit - self._used.get(uid, 0) - self._reserved.get(uid, 0))
        return Standing(rpm, max(0, rpm - len(win)), max(0.0, reset), limit, remaining,
                        self._month_end - now)

    def used(self, user_id: int) -> int:
        return self._used.get(user_id, 0)

    def restore(self, used: dict[int, int], recent: dict[int, list[float]]) -> None:
        """Start from this month's recorded usage and the last minute's admitted requests."""
        self._roll_month(self.clock())
        self._used = dict(used)
        for uid, stamps in recent.items():
            self._windows[uid] = deque(sorted(stamps))
