"""The calendar month in UTC, the one period of quotas, usage reports and billing, and each
customer's token allowance in it.

Paid plans are billed from the 1st (Stripe's billing cycle anchored there), so the month a
quota counts is the month an invoice pays for. In the month a subscription changes the plan,
the allowance is prorated like the charge: each plan gives its tokens for the share of the
month it held, to the second (subscribing on the 20th of a 31-day month to a 1,000,000-token
plan from a 100,000-token one gives 100,000 x 19/31 + 1,000,000 x 12/31 tokens).
"""

from __future__ import annotations

import datetime as dt


def month_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the month of `now` (naive UTC)."""
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, end


def epoch(when: dt.datetime) -> int:
    """A naive UTC datetime as Unix seconds."""
    return int(when.replace(tzinfo=dt.UTC).timestamp())


def month_key(now: dt.datetime) -> str:
    return now.strftime("%Y-%m")


def next_month_start(now: dt.datetime) -> dt.datetime:
    return month_bounds(now)[1]


def share(tokens: int, since: dt.datetime, until: dt.datetime, now: dt.datetime) -> int:
    """`tokens` a month for the part [since, until) of `now`'s month, rounded down."""
    start, end = month_bounds(now)
    since, until = max(since, start), min(until, end)
    if until <= since:
        return 0
    whole = (end - start).total_seconds()
    return tokens * int((until - since).total_seconds()) // int(whole)


def allowance(monthly_tokens: int | None, month: str, banked: int,
              since: dt.datetime | None, now: dt.datetime) -> int | None:
    """The tokens a customer may use in `now`'s month: their plan's `monthly_tokens` (None:
    unlimited), unless the plan changed this month (`month`), when the earlier plans' share
    (`banked`) plus this plan's share from `since` to the month's end."""
    if monthly_tokens is None:
        return None
    if month != month_key(now) or since is None:
        return monthly_tokens
    return banked + share(monthly_tokens, since, month_bounds(now)[1], now)


def banked_at_change(old_monthly_tokens: int | None, month: str, banked: int,
                     since: dt.datetime | None, used: int, now: dt.datetime) -> int:
    """What the month's plans so far give, at the moment the plan changes: the old plan's share
    from `since` (or the month's start) to now, on top of what was banked before it. An
    unlimited plan gives what was used under it, so the change takes nothing back."""
    start, _ = month_bounds(now)
    if month != month_key(now) or since is None:
        banked, since = 0, start
    if old_monthly_tokens is None:
        return max(banked, used)
    return banked + share(old_monthly_tokens, since, now, now)
