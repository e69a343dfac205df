"""A customer's month as they are charged for it: requests, raw and counted tokens and charges
by model, the allowance left, credit and refusals. What `GET /v1/usage`, the usage page and
the CLI show a customer; it holds no cost (the business's price), by construction."""

from __future__ import annotations

import datetime as dt

from peewee import fn

from .month import month_bounds, month_key
from .rollup import DAY, UsageRollup
from .selling import balance, refusals, usd_text
from .tables import UsageRecord, User, utcnow

R = UsageRecord
S = UsageRollup  # months are whole days: their daily sums are exact
TOKENS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens",
          "reasoning_tokens", "total_tokens", "counted_tokens")


def parse_month(month: str | None) -> dt.datetime | None:
    """The start of a YYYY-MM month; None for none; ValueError for anything else."""
    if not month:
        return None
    start = dt.datetime.strptime(month, "%Y-%m")
    if len(month) != 7:
        raise ValueError(month)
    return start


def by_model(user_id: int, start: dt.datetime, end: dt.datetime) -> list[dict]:
    cols = [fn.SUM(getattr(S, t)) for t in TOKENS]
    rows = (S.select(S.provider, S.model, fn.SUM(S.requests), *cols, fn.SUM(S.charge_nanousd),
                     fn.SUM(S.credit_nanousd))
            .where(S.user_id == user_id, S.period == DAY, S.start >= start, S.start < end,
                   S.requests > 0)
            .group_by(S.provider, S.model).order_by(fn.SUM(S.charge_nanousd).desc(), S.model)
            .tuples())
    out = []
    for provider, model, n, *rest in rows:
        tokens, (charge, credit) = rest[:len(TOKENS)], rest[len(TOKENS):]
        out.append({"provider": provider, "model": model, "requests": int(n or 0),
                    **{t: int(v or 0) for t, v in zip(TOKENS, tokens)},
                    "charge_nanousd": int(charge or 0), "credit_nanousd": int(credit or 0)})
    return out


def tool_calls(user_id: int, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Server-side tool calls (web searches...) by tool: few records carry any, so their JSON
    is summed here rather than in SQL."""
    totals: dict[str, int] = {}
    for rec in R.select(R.tool_calls).where(R.user == user_id, R.created_at >= start,
                                            R.created_at < end, R.tool_calls != ""):
        for tool, n in rec.tools.items():
            totals[tool] = totals.get(tool, 0) + n
    return dict(sorted(totals.items()))


def statement(user: User, month: str | None = None, now: dt.datetime | None = None) -> dict:
    """`user`'s month (YYYY-MM, default this one), every amount an exact decimal string."""
    now = now or utcnow()
    start, end = month_bounds(parse_month(month) or now)
    models = by_model(user.id, start, end)
    plan = user.plan
    current = start <= now < end
    counted = int(S.select(fn.SUM(S.allowance_tokens)).where(  # paid from credit: not counted
        S.user_id == user.id, S.period == DAY, S.start >= start, S.start < end).scalar() or 0)
    allowance = user.allowance(now) if current else None
    total = {t: sum(m[t] for m in models) for t in TOKENS}
    charge = sum(m["charge_nanousd"] for m in models)
    credit = sum(m["credit_nanousd"] for m in models)
    return {
        "object": "usage",
        "month": month_key(start),
        "plan": plan.name,
        "allowance": {
            "mode": "weighted" if plan.weighted else "raw",
            "tokens": allowance if current else plan.monthly_tokens,
            "used": counted,
            "remaining": None if allowance is None else max(0, allowance - counted),
            "resets_at": end.isoformat() + "Z",
        },
        "requests": sum(m["requests"] for m in models),
        "tokens": total,
        "tool_calls": tool_calls(user.id, start, end),
        "charge_usd": usd_text(charge),
        "paid_from_credit_usd": usd_text(credit),
        "models": [{**{k: v for k, v in m.items() if not k.endswith("nanousd")},
                    "charge_usd": usd_text(m["charge_nanousd"]),
                    "paid_from_credit_usd": usd_text(m["credit_nanousd"])} for m in models],
        "credit": {"balance_usd": usd_text(balance(user.id)),
                   "spend_credit": bool(user.spend_credit or plan.pay_as_you_go)},
        "refusals": refusals(user.id, start),
    }
