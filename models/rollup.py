"""Usage summed by hour and by day, per customer, key and model: what the charts and tables
read, so that a page sums a few hundred rows rather than a year of records.

The usage writer adds each batch of records here in the batch's own transaction (`add`), so
the sums always equal the records; refusals (calls a limit refused, which leave no record) are
added as they are counted. Migration 15 built the sums of the records made before it.
"""

from __future__ import annotations

import datetime as dt

from peewee import EXCLUDED, BigIntegerField, CharField, DateTimeField, IntegerField

from .base import BaseModel, db, is_sqlite

HOUR, DAY = "h", "d"
SUMS = ("requests", "errors", "refusals", "input_tokens", "cache_read_tokens",
        "cache_write_tokens", "output_tokens", "reasoning_tokens", "total_tokens",
        "counted_tokens", "allowance_tokens", "cost_nanousd", "charge_nanousd", "credit_nanousd",
        "latency_ms")


class UsageRollup(BaseModel):
    period = CharField(max_length=1)  # HOUR or DAY
    start = DateTimeField()  # the hour's or the day's start, naive UTC
    user_id = IntegerField()  # the account (not a foreign key: sums outlive nothing)
    key_id = IntegerField(default=0)  # 0: none (a refusal is counted per account)
    provider = CharField(default="")
    model = CharField(default="")
    requests = BigIntegerField(default=0)
    errors = BigIntegerField(default=0)  # answered with a status of 400 or more
    refusals = BigIntegerField(default=0)  # refused by a limit before going upstream
    input_tokens = BigIntegerField(default=0)  # uncached
    cache_read_tokens = BigIntegerField(default=0)
    cache_write_tokens = BigIntegerField(default=0)
    output_tokens = BigIntegerField(default=0)
    reasoning_tokens = BigIntegerField(default=0)
    total_tokens = BigIntegerField(default=0)
    counted_tokens = BigIntegerField(default=0)  # against the allowance, raw or weighted
    allowance_tokens = BigIntegerField(default=0)  # counted, of calls not paid from credit
    cost_nanousd = BigIntegerField(default=0)
    charge_nanousd = BigIntegerField(default=0)
    credit_nanousd = BigIntegerField(default=0)
    latency_ms = BigIntegerField(default=0)  # summed: divided by requests for the mean

    class Meta:
        indexes = (
            (("period", "start", "user_id", "key_id", "provider", "model"), True),
            (("user_id", "period", "start"), False),
        )


def hour_of(when: dt.datetime) -> dt.datetime:
    return when.replace(minute=0, second=0, microsecond=0)


def day_of(when: dt.datetime) -> dt.datetime:
    return when.replace(hour=0, minute=0, second=0, microsecond=0)


_TOKENS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens",
           "reasoning_tokens", "total_tokens", "counted_tokens", "cost_nanousd",
           "charge_nanousd", "credit_nanousd", "latency_ms")


def summed(records: list[dict]) -> dict[tuple, dict]:
    """Usage records (the writer's dicts) summed by (period, start, user, key, provider,
    model): by the hour first, the days from the hours (the writer's thread shares the
    interpreter with the proxy: a few operations a record)."""
    hours: dict[tuple, list] = {}
    for r in records:
        g = r.get
        key = (hour_of(r["created_at"]), r["user"], g("api_key") or 0, g("provider") or "",
               g("model") or "")
        acc = hours.get(key)
        if acc is None:
            acc = hours[key] = [0] * (len(_TOKENS) + 3)
        acc[0] += 1
        if (g("status") or 0) >= 400:
            acc[1] += 1
        for i, name in enumerate(_TOKENS, 3):
            acc[i] += g(name) or 0
        if not g("credit_nanousd"):
            acc[2] += g("counted_tokens") or 0  # the allowance: calls not paid from credit
    groups: dict[tuple, dict] = {}
    for (hour, *rest), acc in hours.items():
        sums = dict(zip(("requests", "errors", "allowance_tokens", *_TOKENS), acc))
        sums["refusals"] = 0
        groups[(HOUR, hour, *rest)] = sums
        day = groups.get((DAY, day_of(hour), *rest))
        if day is None:
            groups[(DAY, day_of(hour), *rest)] = dict(sums)
        else:
            for name, value in sums.items():
                day[name] += value
    return groups


def refusals_summed(refusals: list[tuple[int, dt.datetime]]) -> dict[tuple, dict]:
    """Refusals, (user, when), summed as `summed` sums records."""
    groups: dict[tuple, dict] = {}
    for uid, when in refusals:
        for period, start in ((HOUR, hour_of(when)), (DAY, day_of(when))):
            key = (period, start, uid, 0, "", "")
            groups.setdefault(key, {"refusals": 0})["refusals"] += 1
    return groups


def add(groups: dict[tuple, dict]) -> None:
    """Add summed groups to the table, in the caller's transaction: one statement."""
    if not groups:
        return
    R = UsageRollup
    rows = [{"period": p, "start": s, "user_id": u, "key_id": k, "provider": v, "model": m,
             **sums} for (p, s, u, k, v, m), sums in groups.items()]
    names = sorted({name for row in rows for name in row} & set(SUMS))
    for row in rows:
        for name in names:
            row.setdefault(name, 0)
    for i in range(0, len(rows), 200):  # within every database's limit on parameters
        R.insert_many(rows[i:i + 200]).on_conflict(
            conflict_target=[R.period, R.start, R.user_id, R.key_id, R.provider, R.model],
            update={getattr(R, n): getattr(R, n) + getattr(EXCLUDED, n) for n in names},
        ).execute()


def backfill() -> None:
    """Sum the usage records made before the table existed (migration 15): one statement per
    period, in the database."""
    for period, unit in ((HOUR, "hour"), (DAY, "day")):
        if is_sqlite():
            fmt = "%Y-%m-%d %H:00:00" if unit == "hour" else "%Y-%m-%d 00:00:00"
            start = f"strftime('{fmt}', created_at)"
        else:
            start = f"date_trunc('{unit}', created_at)"
        summed = ", ".join(f"SUM({name})" for name in _TOKENS)
        db.execute_sql(
            'INSERT INTO "usagerollup" (period, start, user_id, key_id, provider, model, '
            f"requests, errors, refusals, allowance_tokens, {', '.join(_TOKENS)}) "
            f"SELECT '{period}', {start}, user_id, COALESCE(api_key_id, 0), provider, model, "
            "COUNT(*), SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0, "
            "SUM(CASE WHEN credit_nanousd = 0 THEN counted_tokens ELSE 0 END), "
            f'{summed} FROM "usagerecord" GROUP BY {start}, user_id, COALESCE(api_key_id, 0), '
            "provider, model")
