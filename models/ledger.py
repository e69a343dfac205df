"""What the usage records say about limits: this month's tokens and the last minute's requests
per customer, the state a limiter is rebuilt from (at start, or a shared store found empty)."""

from __future__ import annotations

import datetime as dt

from peewee import fn

from .month import month_bounds
from .tables import ApiKey, DeadLetter, UsageRecord

WINDOW = 60.0


def month_start(now: dt.datetime) -> dt.datetime:
    return month_bounds(now)[0]


def tokens_this_month(now: dt.datetime, users=None) -> dict[int, int]:
    """Tokens counted against each customer's allowance (of `users`, default all) since the
    start of `now`'s month (UTC, naive): raw or weighted as each call counted, less the calls
    paid from credit."""
    query = UsageRecord.select(UsageRecord.user, fn.SUM(UsageRecord.counted_tokens)).where(
        UsageRecord.created_at >= month_start(now), UsageRecord.credit_nanousd == 0)
    if users is not None:
        query = query.where(UsageRecord.user.in_(list(users)))
    used = {uid: int(total or 0) for uid, total in query.group_by(UsageRecord.user).tuples()}
    # Records set aside by the writer were used all the same.
    letters = DeadLetter.select(DeadLetter.user_id, fn.SUM(DeadLetter.counted_tokens)).where(
        DeadLetter.created_at >= month_start(now), DeadLetter.credit_nanousd == 0)
    if users is not None:
        letters = letters.where(DeadLetter.user_id.in_(list(users)))
    for uid, total in letters.group_by(DeadLetter.user_id).tuples():
        used[uid] = used.get(uid, 0) + int(total or 0)
    return used


def recent_requests(now: dt.datetime, apart: tuple[str, ...] = ()
                    ) -> dict[int, list[tuple[float, str]]]:
    """Each customer's requests of the last minute that count against the plan's rate:
    (timestamp, request id). The endpoints `apart` (token counting, limited apart) are left
    out."""
    recent: dict[int, list[tuple[float, str]]] = {}
    since = now - dt.timedelta(seconds=WINDOW)
    for uid, created, rid in (UsageRecord.select(UsageRecord.user, UsageRecord.created_at,
                                                 UsageRecord.request_id)
                              .where(UsageRecord.created_at > since,
                                     UsageRecord.endpoint.not_in(list(apart)))
                              .tuples()):
        recent.setdefault(uid, []).append((created.replace(tzinfo=dt.UTC).timestamp(), rid))
    return recent


def key_spend_this_month(now: dt.datetime, keys=None) -> dict[int, int]:
    """What each key (of `keys`, default every key with a spend cap) was charged since the
    start of `now`'s month, in nano-dollars at sell prices: the state its cap is checked on."""
    if keys is None:
        keys = ApiKey.select(ApiKey.id).where(ApiKey.monthly_cap_nanousd.is_null(False))
    query = (UsageRecord.select(UsageRecord.api_key, fn.SUM(UsageRecord.charge_nanousd))
             .where(UsageRecord.created_at >= month_start(now), UsageRecord.api_key.in_(keys))
             .group_by(UsageRecord.api_key))
    return {kid: int(total or 0) for kid, total in query.tuples()}


def recent_by_key(now: dt.datetime, apart: tuple[str, ...] = ()
                  ) -> dict[int, list[tuple[float, str]]]:
    """The last minute's requests of each key with a rate of its own, as `recent_requests`."""
    recent: dict[int, list[tuple[float, str]]] = {}
    since = now - dt.timedelta(seconds=WINDOW)
    keys = ApiKey.select(ApiKey.id).where(ApiKey.rpm.is_null(False))
    for kid, created, rid in (UsageRecord.select(UsageRecord.api_key, UsageRecord.created_at,
                                                 UsageRecord.request_id)
                              .where(UsageRecord.created_at > since,
                                     UsageRecord.api_key.in_(keys),
                                     UsageRecord.endpoint.not_in(list(apart)))
                              .tuples()):
        recent.setdefault(kid, []).append((created.replace(tzinfo=dt.UTC).timestamp(), rid))
    return recent
