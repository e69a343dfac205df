"""Usage over time, read from the hourly and daily sums (models/rollup.py), never from the
records: what the operator's overview and the customer's usage page chart and tabulate. Every
bucket of a range is present (zero where nothing happened); money stays integer nano-dollars
until it is shown."""

from __future__ import annotations

import datetime as dt

from peewee import fn

from models import ApiKey, User, utcnow
from models.rollup import DAY, HOUR, UsageRollup

S = UsageRollup
FIELDS = ("requests", "errors", "refusals", "input_tokens", "cache_tokens", "output_tokens",
          "total_tokens", "cost_nanousd", "charge_nanousd")
RANGES = {"48h": (HOUR, dt.timedelta(hours=48)), "30d": (DAY, dt.timedelta(days=30)),
          "90d": (DAY, dt.timedelta(days=90))}


def buckets(period: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    step = dt.timedelta(hours=1) if period == HOUR else dt.timedelta(days=1)
    out, t = [], start
    while t < end:
        out.append(t)
        t += step
    return out


def window(range_name: str, now: dt.datetime | None = None):
    """(period, first bucket, end) of a named range ending with the current bucket."""
    period, span = RANGES.get(range_name, RANGES["48h"])
    now = now or utcnow()
    if period == HOUR:
        end = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    else:
        end = now.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    return period, end - span, end


def _column(name: str):
    if name == "cache_tokens":  # read and written together
        return S.cache_read_tokens + S.cache_write_tokens
    return getattr(S, name)


def _sums(*extra):
    return [*extra, *(fn.SUM(_column(f)).alias(f) for f in FIELDS)]


def _row(values) -> dict:
    return {f: int(v or 0) for f, v in zip(FIELDS, values)}


def _filtered(q, period, start, end, user_id=None, key_id=None, model=None):
    q = q.where(S.period == period, S.start >= start, S.start < end)
    if user_id is not None:
        q = q.where(S.user_id == user_id)
    if key_id:
        q = q.where(S.key_id == key_id)
    if model:
        q = q.where(S.model == model)
    return q


def _as_time(value) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def series(period: str, start: dt.datetime, end: dt.datetime, **where) -> list[dict]:
    """One row per bucket: its start and every sum."""
    q = _filtered(S.select(*_sums(S.start)), period, start, end, **where).group_by(S.start)
    found = {_as_time(r[0]): _row(r[1:]) for r in q.tuples()}
    empty = dict.fromkeys(FIELDS, 0)
    return [{"start": b, **found.get(b, empty)} for b in buckets(period, start, end)]


def totals(period: str, start: dt.datetime, end: dt.datetime, **where) -> dict:
    q = _filtered(S.select(*_sums()), period, start, end, **where)
    return _row(q.tuples()[0])


def top_customers(period, start, end, limit: int = 10) -> list[dict]:
    q = (_filtered(S.select(*_sums(S.user_id)), period, start, end)
         .group_by(S.user_id).order_by(fn.SUM(S.charge_nanousd).desc(),
                                       fn.SUM(S.requests).desc()).limit(limit))
    rows = [(uid, _row(rest)) for uid, *rest in q.tuples()]
    emails = dict(User.select(User.id, User.email).where(
        User.id.in_([uid for uid, _ in rows])).tuples()) if rows else {}
    return [{"user_id": uid, "email": emails.get(uid, f"#{uid}"), **sums} for uid, sums in rows]


def top_models(period, start, end, limit: int = 10, **where) -> list[dict]:
    q = (_filtered(S.select(*_sums(S.model)), period, start, end, **where)
         .where(S.model != "").group_by(S.model)
         .order_by(fn.SUM(S.charge_nanousd).desc(), fn.SUM(S.requests).desc()).limit(limit))
    return [{"model": model, **_row(rest)} for model, *rest in q.tuples()]


def by_key_and_model(user_id: int, start, end, **where) -> list[dict]:
    """A customer's month by key and model (keys by name and prefix; revoked ones too)."""
    q = (_filtered(S.select(*_sums(S.key_id, S.model)), DAY, start, end, user_id=user_id,
                   **where).where(S.requests > 0)
         .group_by(S.key_id, S.model).order_by(fn.SUM(S.charge_nanousd).desc()))
    rows = [(kid, model, _row(rest)) for kid, model, *rest in q.tuples()]
    keys = {k.id: k for k in ApiKey.select().where(ApiKey.id.in_([r[0] for r in rows]))} \
        if rows else {}
    return [{"key": keys.get(kid), "model": model, **sums} for kid, model, sums in rows]


def daily_by_model(user_id: int, start, end, most: int = 6, **where) -> dict:
    """Charges and tokens per day, a series per model (the `most` biggest, the rest as
    "other"): the customer's usage chart."""
    q = (_filtered(S.select(S.start, S.model, fn.SUM(S.charge_nanousd), fn.SUM(S.total_tokens)),
                   DAY, start, end, user_id=user_id, **where)
         .where(S.model != "").group_by(S.start, S.model))
    rows = [(_as_time(day), model, int(c or 0), int(t or 0)) for day, model, c, t in q.tuples()]
    weight: dict[str, int] = {}
    for _, model, charge, tokens in rows:
        weight[model] = weight.get(model, 0) + charge * 1000 + tokens
    kept = sorted(weight, key=weight.get, reverse=True)[:most]
    names = kept + (["other"] if len(weight) > most else [])
    days = buckets(DAY, start, min(end, utcnow() + dt.timedelta(days=1)))
    index = {d: i for i, d in enumerate(days)}
    charge = {n: [0] * len(days) for n in names}
    tokens = {n: [0] * len(days) for n in names}
    for day, model, c, t in rows:
        name = model if model in kept else "other"
        if day in index:
            charge[name][index[day]] += c
            tokens[name][index[day]] += t
    return {"days": [d.strftime("%m-%d") for d in days], "models": names,
            "charge": charge, "tokens": tokens}
