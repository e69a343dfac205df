"""Usage figures read by the CLI and the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from peewee import fn

from models import UsageRecord, User, utcnow


def month_bounds(month: str | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a calendar month in UTC; `month` is YYYY-MM, default this month."""
    start = (dt.datetime.strptime(month, "%Y-%m") if month
             else utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, end


def month_usage(user: User, month: str | None = None) -> dict:
    start, end = month_bounds(month)
    R = UsageRecord
    row = (R.select(fn.COUNT(R.id), fn.SUM(R.input_tokens), fn.SUM(R.cache_read_tokens),
                    fn.SUM(R.cache_write_tokens), fn.SUM(R.output_tokens),
                    fn.SUM(R.reasoning_tokens), fn.SUM(R.total_tokens), fn.SUM(R.cost_usd),
                    fn.SUM(R.estimated.cast("integer")))
           .where(R.user == user, R.created_at >= start, R.created_at < end)
           .tuples().first())
    n, inp, cr, cw, out, rea, total, cost, estimated = row
    return {
        "month": start.strftime("%Y-%m"),
        "requests": n or 0,
        "input_tokens": int(inp or 0),
        "cache_read_tokens": int(cr or 0),
        "cache_write_tokens": int(cw or 0),
        "output_tokens": int(out or 0),
        "reasoning_tokens": int(rea or 0),
        "total_tokens": int(total or 0),
        "cost_usd": float(round(Decimal(str(cost or 0)), 6)),
        "estimated_records": int(estimated or 0),
    }
