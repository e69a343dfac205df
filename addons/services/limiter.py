"""Plan limits in memory: a rolling 60-second request log and a monthly token ledger.

Everything here runs on the event loop and never waits: admission is a few dict and deque
operations. `Limiter` is the interface the limits member talks to (`admit`, `settle`,
`standing`, `rpm`, `start`, `stop`); `RedisLimiter` (redis_limiter.py) implements it for several
gateway processes. `restore()` rebuilds this one from the database at start so limits survive
restarts.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import deque
from typing import NamedTuple

from addons.call import Customer
from models.month import epoch, month_bounds

WINDOW = 60.0


def month_end(ts: float) -> float:
    """The UTC instant the month containing `ts` ends."""
    return epoch(month_bounds(dt.datetime.fromtimestamp(ts, dt.UTC).replace(tzinfo=None))[1])


class Decision(NamedTuple):  # tuples: one or two are built for every request
    ok: bool
    retry_after: float = 0.0  # seconds until a request would be admitted
    refused: str = "rate"  # or "key_rate": the key's own rate


class Credit(NamedTuple):
    """What a call would cost from prepaid credit: its input estimate at the sell price
    (nano-dollars), and each output token's sell price (nano-dollars, fractional)."""

    fixed: int
    per_output: float


class Grant(NamedTuple):
    """A reservation: the output cap granted to each answer, and the tokens (or, paid from
    credit, the nano-dollars) now held."""

    ok: bool
    output: int = 0
    reserved: int = 0
    available: int | None = None  # what the quota had left before it (None: unlimited)
    retry_after: float = 0.0  # refused: seconds until the quota resets
    credit: int = 0  # nano-dollars held against the credit balance (paid from credit)
    refused: str = "quota"  # refused: "quota", "credit" where credit could have paid, or
    # "key_cap" (the key's own monthly spend cap)
    key_held: int = 0  # nano-dollars held against the key's monthly cap


UNBOUNDED = 2**53  # an output cap no allowance limits (output with no price)


def fit(available: int, fixed: int, answers: int, weight: float) -> int:
    """The output cap each of `answers` answers can have within `available`, after `fixed`,
    at `weight` a token. Floats as the shared store's script computes them, so both decide
    alike (exact for weight 1)."""
    if weight <= 0:
        return UNBOUNDED if available >= fixed else -1
    return math.floor((available - fixed) / (answers * weight))


def held(fixed: int, output: int, answers: int, weight: float) -> int:
    return fixed + math.ceil(output * answers * weight)


class Admission(NamedTuple):
    """May a request go: the window and the quota decided together, the key's own limits
    and the plan's cap on calls at once with them. `refused`: "rate", "quota", "credit",
    "key_rate", "key_cap", "in_flight" or "unavailable" (a shared store that did not answer)."""

    ok: bool
    refused: str | None = None
    output: int = 0  # the output cap granted to each answer
    reserved: int = 0  # tokens now held against the quota
    available: int | None = None  # what the quota had left before it (None: unlimited)
    retry_after: float = 0.0  # refused: seconds until it would be admitted
    period: str = ""  # the quota period the reservation is held in (a shared store's)
    credit: int = 0  # paid from credit: the nano-dollars held (`reserved` is then 0)
    key_held: int = 0  # nano-dollars held against the key's monthly cap
    in_flight: bool = False  # counted against the plan's cap on calls at once: `finish` it


IN_FLIGHT_RETRY = 1.0  # seconds: a call at once over the cap may go when one ends


class Standing(NamedTuple):
    """A customer's limits as the rate-limit headers report them."""

    rpm: int
    remaining_requests: int
    reset_requests: float  # seconds until the window frees a slot
    token_limit: int | None
    remaining_tokens: int | None
    reset_tokens: float  # seconds until the month ends


class Limiter:
    available = True  # in memory: nothing to be unavailable
    refuses_all = False  # what an outage means for calls: nothing here

    def healthy(self) -> bool:
        return True

    def __init__(self, clock=time.time, counting_rpm: int = 100) -> None:
        self.clock = clock
        # Token counting has an allowance of its own (the providers limit it apart too): the
        # plan's rate or `counting_rpm`, whichever is higher.
        self.counting_rpm = counting_rpm
        self._windows: dict[int, deque[float]] = {}
        self._counting: dict[int, deque[float]] = {}
        self._used: dict[int, int] = {}  # settled tokens this month, by user
        self._reserved: dict[int, int] = {}
        self._month_end = month_end(clock())
        # Prepaid credit, nano-dollars: added (the ledger's movements, as the database has
        # them), spent (settled here since the start), held by calls in flight.
        self._added: dict[int, int] = {}
        self._spent: dict[int, int] = {}
        self._held: dict[int, int] = {}
        # Keys with limits of their own: their windows, and spend this month (nano-dollars:
        # settled, and held by calls in flight).
        self._key_windows: dict[int, deque[float]] = {}
        self._key_spent: dict[int, int] = {}
        self._key_held: dict[int, int] = {}
        self._in_flight: dict[int, int] = {}  # calls at once, of plans with a cap on them

    def start(self) -> None:
        """Nothing runs beside it (a shared limiter sends its settlements)."""

    def stop(self) -> None:
        """Nothing to send at shutdown."""

    # --- requests per minute ---

    def _window(self, user_id: int, now: float, counting: bool = False) -> deque[float]:
        windows = self._counting if counting else self._windows
        win = windows.get(user_id)
        if win is None:
            win = windows[user_id] = deque()
        while win and win[0] <= now - WINDOW:
            win.popleft()
        return win

    def rpm(self, customer: Customer, counting: bool = False) -> int:
        rpm = customer.plan.requests_per_minute
        return max(rpm, self.counting_rpm) if counting else rpm

    def admit_request(self, customer: Customer, counting: bool = False) -> Decision:
        """Admit and count a request (a token count in its own window), or say how long until
        one would be admitted."""
        now = self.clock()
        win = self._window(customer.user_id, now, counting)
        rpm = self.rpm(customer, counting)
        if len(win) >= rpm:
            # The slot frees when the request rpm places back leaves the window.
            return Decision(False, win[len(win) - rpm] + WINDOW - now)
        key = customer.key
        if key is not None and key.rpm and not counting:
            kwin = self._key_windows.get(customer.key_id)
            if kwin is None:
                kwin = self._key_windows[customer.key_id] = deque()
            while kwin and kwin[0] <= now - WINDOW:
                kwin.popleft()
            if len(kwin) >= key.rpm:
                return Decision(False, kwin[len(kwin) - key.rpm] + WINDOW - now, "key_rate")
            kwin.append(now)
        win.append(now)
        return Decision(True)

    def admit(self, customer: Customer, counting: bool = False, reserve: bool = False,
              fixed: int = 0, output: int = 0, answers: int = 1, least: int = 0,
              request_id: str = "", weight: float = 1.0,
              credit: Credit | None = None,  # the order limits.py passes
              key_charge: Credit | None = None) -> Admission:
        """The quota (when `reserve`: see `reserve`) and then the window; a request refused
        by either holds nothing. `key_charge`: what the call would cost at sell prices, where
        the key has a monthly spend cap. On a plan with a cap on calls at once, an admitted
        call counts against it until `finish` (token counting aside: free, quick, and sent
        many at once, as its own allowance)."""
        at_once = None if counting else customer.plan.max_in_flight
        if at_once is not None and self._in_flight.get(customer.user_id, 0) >= at_once:
            return Admission(False, "in_flight", retry_after=IN_FLIGHT_RETRY)
        grant = None
        if reserve:
            grant = self.reserve(customer, fixed, output, answers, least, weight, credit,
                                 key_charge)
            if not grant.ok:
                return Admission(False, grant.refused, available=grant.available,
                                 retry_after=grant.retry_after)
        decision = self.admit_request(customer, counting)
        if not decision.ok:
            if grant is not None:
                self.settle(customer, grant.reserved, 0, credit_held=grant.credit,
                            key_held=grant.key_held)
            return Admission(False, decision.refused, retry_after=decision.retry_after)
        counted = at_once is not None
        if counted:
            self._in_flight[customer.user_id] = self._in_flight.get(customer.user_id, 0) + 1
        if grant is None:
            return Admission(True, in_flight=counted)
        return Admission(True, None, grant.output, grant.reserved, grant.available,
                         credit=grant.credit, key_held=grant.key_held, in_flight=counted)

    def finish(self, customer: Customer, request_id: str = "") -> None:
        """An admitted call counted against the cap on calls at once has ended."""
        _take(self._in_flight, customer.user_id, 1)

    # --- monthly tokens ---

    def _roll_month(self, now: float) -> None:
        if now < self._month_end:
            return
        self._used, self._month_end = {}, month_end(now)
        self._key_spent = {}

    def reserve(self, customer: Customer, fixed: int, output: int = 0, answers: int = 1,
                least: int = 0, weight: float = 1.0, credit: Credit | None = None,
                key_charge: Credit | None = None) -> Grant:
        """Hold `fixed` counted tokens (the input) plus `answers` times an output cap at
        `weight` counted tokens a token: `output`, or as much as the quota has left if that is
        less, but never below `least` (else refused). So in-flight requests together can never
        hold more than the quota. With `credit` (the customer spends credit, the model has a
        price), a call the allowance cannot answer in full is paid from credit instead, held
        the same way against the balance. With `key_charge` (the key's monthly spend cap) the
        output cap is lowered to what the key's cap has left too, and that spend is held."""
        limit = customer.plan.monthly_tokens
        now = self.clock()
        self._roll_month(now)
        uid = customer.user_id
        available = None
        cap = customer.key.monthly_cap if key_charge is not None and customer.key else None
        if cap is not None:
            kid = customer.key_id
            left = cap - self._key_spent.get(kid, 0) - self._key_held.get(kid, 0)
            most = fit(left, key_charge.fixed, answers, key_charge.per_output)
            if left <= 0 or most < least:
                return Grant(False, available=max(0, left), retry_after=self._month_end - now,
                             refused="key_cap")
            output = min(output, most)
        if limit is not None:
            available = limit - self._used.get(uid, 0) - self._reserved.get(uid, 0)
            most = (available - fixed) // answers if weight == 1.0 else fit(
                available, fixed, answers, weight)
            if credit is not None and most < max(output, least):
                grant = self._from_credit(uid, credit, output, answers, least, available,
                                          self._month_end - now)
                if grant.ok:
                    return grant._replace(key_held=self._hold_key(customer, key_charge, cap,
                                                                  grant.output, answers))
                if most < least:
                    return grant
            output = min(output, most)
            if output < least:
                return Grant(False, available=max(0, available),
                             retry_after=self._month_end - now)
        hold = fixed + output * answers if weight == 1.0 else held(fixed, output, answers, weight)
        self._reserved[uid] = self._reserved.get(uid, 0) + hold
        return Grant(True, output, hold, available,
                     key_held=self._hold_key(customer, key_charge, cap, output, answers))

    def _hold_key(self, customer: Customer, charge: Credit | None, cap: int | None,
                  output: int, answers: int) -> int:
        if cap is None:
            return 0
        hold = held(charge.fixed, output, answers, charge.per_output)
        self._key_held[customer.key_id] = self._key_held.get(customer.key_id, 0) + hold
        return hold

    def _from_credit(self, uid: int, credit: Credit, output: int, answers: int, least: int,
                     available: int, until_reset: float) -> Grant:
        balance = self.balance(uid)
        output = min(output, fit(balance, credit.fixed, answers, credit.per_output))
        if output < least or balance <= 0:
            return Grant(False, available=max(0, available), retry_after=until_reset,
                         refused="credit")
        hold = held(credit.fixed, output, answers, credit.per_output)
        self._held[uid] = self._held.get(uid, 0) + hold
        return Grant(True, output, 0, available, credit=hold)

    def balance(self, uid: int) -> int:
        """Credit left to spend, in nano-dollars: added, less spent and held."""
        return self._added.get(uid, 0) - self._spent.get(uid, 0) - self._held.get(uid, 0)

    def credits(self, added: dict[int, int]) -> None:
        """Each customer's credit movements summed, as the database has them now (top-ups,
        grants)."""
        self._added.update(added)

    def settle(self, customer: Customer, reserved: int, used: int, period: str = "",
               credit_held: int = 0, credit_used: int = 0, key_held: int = 0,
               key_spent: int = 0) -> None:
        """Replace a reservation with what the request really used: counted tokens, or (paid
        from credit) nano-dollars; and against a capped key, its charge."""
        self._roll_month(self.clock())
        uid = customer.user_id
        _take(self._reserved, uid, reserved)
        _take(self._held, uid, credit_held)
        if key_held or key_spent:
            kid = customer.key_id
            _take(self._key_held, kid, key_held)
            if key_spent:
                self._key_spent[kid] = self._key_spent.get(kid, 0) + key_spent
        if used:
            self._used[uid] = self._used.get(uid, 0) + used
        if credit_used:
            self._spent[uid] = self._spent.get(uid, 0) + credit_used

    def standing(self, customer: Customer, own: int = 0, counting: bool = False) -> Standing:
        """The customer's limits as an answer reports them; `own`: the answering call's own
        reservation, not counted against what remains (it is about to be settled)."""
        now = self.clock()
        self._roll_month(now)
        uid = customer.user_id
        win = self._window(uid, now, counting)
        rpm = self.rpm(customer, counting)
        reset = (win[0] + WINDOW - now) if win else 0.0
        limit = customer.plan.monthly_tokens
        remaining = None
        if limit is not None:
            held = self._used.get(uid, 0) + self._reserved.get(uid, 0) - own
            remaining = max(0, limit - held)
        return Standing(rpm, max(0, rpm - len(win)), max(0.0, reset), limit, remaining,
                        self._month_end - now)

    def restore(self, used: dict[int, int], recent: dict[int, list[float]],
                added: dict[int, int] | None = None, spent: dict[int, int] | None = None,
                key_spent: dict[int, int] | None = None,
                key_recent: dict[int, list[float]] | None = None) -> None:
        """Start from this month's recorded usage, the last minute's admitted requests and
        the credit ledger; and each key's spend this month and last minute's requests."""
        self._roll_month(self.clock())
        self._used = dict(used)
        for uid, stamps in recent.items():
            self._windows[uid] = deque(sorted(stamps))
        self._added, self._spent = dict(added or {}), dict(spent or {})
        self._key_spent = dict(key_spent or {})
        for kid, stamps in (key_recent or {}).items():
            self._key_windows[kid] = deque(sorted(stamps))


def _take(held: dict[int, int], uid: int, amount: int) -> None:
    if amount:
        left = held.get(uid, 0) - amount
        if left > 0:
            held[uid] = left
        else:
            held.pop(uid, None)
