"""Usage alerts: a mail at 80% and at 100% of a customer's monthly token quota, once a month
each. Fed by the usage writer after each batch it commits (its thread, never the event loop):
each customer's month total is summed from the records at most every RECHECK seconds (so every
process's records count) and carried forward by the batches in between."""

from __future__ import annotations

import time
from collections import defaultdict

from peewee import fn

from models import UsageRecord, User, usd, utcnow
from models.ledger import tokens_this_month
from models.month import month_bounds, month_key

from . import notices

RECHECK = 30.0  # seconds between sums from the records, per customer
LEVELS = ((100, "usage_100"), (80, "usage_80"))  # the highest crossed is mailed


class UsageAlerts:
    def __init__(self, mailer, recheck: float = RECHECK) -> None:
        self.mailer, self.recheck = mailer, recheck
        # user: (period, tokens, when summed, quota, the user)
        self._totals: dict[int, tuple] = {}
        self._done: set[tuple[int, str, str]] = set()  # (user, kind, period) mailed or passed

    def written(self, rows: list[dict]) -> None:
        now = utcnow()
        period = month_key(now)
        added: dict[int, int] = defaultdict(int)
        for r in rows:
            if not r.get("credit_nanousd"):  # paid from credit: not the allowance
                added[r["user"]] += int(r.get("counted_tokens", r.get("total_tokens")) or 0)
        for uid, tokens in added.items():
            if tokens and (uid, "usage_100", period) not in self._done:
                self._check(uid, tokens, period, now)

    def _check(self, uid: int, tokens: int, period: str, now) -> None:
        known, clock = self._totals.get(uid), time.monotonic()
        if known is None or known[0] != period or clock - known[2] > self.recheck:
            user = User.get_or_none(User.id == uid)  # the plan may have changed too
            quota = user.allowance(now) if user is not None else None
            total = tokens_this_month(now, [uid]).get(uid, 0) if quota else 0
            self._totals[uid] = (period, total, clock, quota, user)
        else:
            _, total, summed, quota, user = known
            total += tokens
            self._totals[uid] = (period, total, summed, quota, user)
        if not quota:
            return
        for percent, kind in LEVELS:
            if total * 100 >= quota * percent:
                if (uid, kind, period) not in self._done:
                    notices.once(self.mailer, user, kind, period, _detail(user, total, quota, now))
                    self._done.add((uid, kind, period))
                    if percent == 100 and (uid, "usage_80", period) not in self._done:
                        notices.mark(user, "usage_80", period)  # passed over: no later mail
                        self._done.add((uid, "usage_80", period))
                return


def _detail(user: User, total: int, quota: int, now) -> str:
    """What an alert says was used: counted tokens of the allowance, and the month's charges."""
    start, end = month_bounds(now)
    charged = UsageRecord.select(fn.SUM(UsageRecord.charge_nanousd)).where(
        UsageRecord.user == user, UsageRecord.created_at >= start,
        UsageRecord.created_at < end).scalar()
    what = "counted tokens" if user.plan.weighted else "tokens"
    return f"{total:,} of {quota:,} {what} (${usd(charged or 0):,.2f} charged this month)"
