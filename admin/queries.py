"""Usage figures read by the CLI and the pages. Months are calendar months in UTC."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from peewee import JOIN, fn

from models import ApiKey, Plan, UsageRecord, User, usd, utcnow
from models.month import month_bounds as calendar_month
from models.month import month_key
from models.statement import tool_calls

R = UsageRecord


def month_bounds(month: str | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a calendar month in UTC; `month` is YYYY-MM, default this month."""
    return calendar_month(dt.datetime.strptime(month, "%Y-%m") if month else utcnow())


def valid_month(month: str | None) -> str | None:
    """`month` if it is a YYYY-MM string, else None (this month)."""
    try:
        return month if month and month_bounds(month) else None
    except ValueError:
        return None


def recent_months(n: int = 12) -> list[str]:
    start, _ = month_bounds()
    months = []
    for _ in range(n):
        months.append(month_key(start))
        start, _ = calendar_month(start - dt.timedelta(days=1))
    return months


def month_usage(user: User, month: str | None = None) -> dict:
    start, end = month_bounds(month)
    row = (R.select(fn.COUNT(R.id), fn.SUM(R.input_tokens), fn.SUM(R.cache_read_tokens),
                    fn.SUM(R.cache_write_tokens), fn.SUM(R.output_tokens),
                    fn.SUM(R.reasoning_tokens), fn.SUM(R.total_tokens), fn.SUM(R.cost_nanousd),
                    fn.SUM(R.estimated.cast("integer")), fn.SUM(R.counted_tokens),
                    fn.SUM(R.charge_nanousd), fn.SUM(R.credit_nanousd))
           .where(R.user == user, R.created_at >= start, R.created_at < end)
           .tuples().first())
    n, inp, cr, cw, out, rea, total, cost, estimated, counted, charge, credit = row
    return {
        "month": month_key(start),
        "requests": n or 0,
        "input_tokens": int(inp or 0),
        "cache_read_tokens": int(cr or 0),
        "cache_write_tokens": int(cw or 0),
        "output_tokens": int(out or 0),
        "reasoning_tokens": int(rea or 0),
        "total_tokens": int(total or 0),
        "tool_calls": tool_calls(user.id, start, end),
        "counted_tokens": int(counted or 0),
        # Exact decimal strings: a JSON number would be read as a float. The cost is the
        # business's (the operator's CLI); the charge is the customer's.
        "cost_usd": f"{usd(cost):f}",
        "charge_usd": f"{usd(charge):f}",
        "paid_from_credit_usd": f"{usd(credit):f}",
        "estimated_records": int(estimated or 0),
    }


def requests_today(user: User) -> int:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return R.select().where(R.user == user, R.created_at >= today).count()


def breakdown(month: str | None = None, user: User | None = None,
              by=("provider", "model")) -> list[dict]:
    """Requests, tokens, cost and charge grouped by the named record fields (and
    customer)."""
    start, end = month_bounds(month)
    cols = [getattr(R, f) for f in by]
    q = (R.select(*cols, fn.COUNT(R.id).alias("requests"),
                  fn.SUM(R.total_tokens).alias("tokens"), fn.SUM(R.cost_nanousd).alias("cost"),
                  fn.SUM(R.charge_nanousd).alias("charge"))
         .where(R.created_at >= start, R.created_at < end)
         .group_by(*cols).order_by(fn.SUM(R.total_tokens).desc()))
    if user is not None:
        q = q.where(R.user == user)
    return [{**{f: getattr(row, f if f != "user" else "user_id") for f in by},
             "requests": row.requests, "tokens": int(row.tokens or 0), "cost": usd(row.cost),
             "charge": usd(row.charge)}
            for row in q]


def activity(user: User, start, end, page: int = 1, per_page: int = 50, key: int | None = None,
             model: str | None = None, status: str = "") -> list:
    """A customer's calls in [start, end), newest first, filtered: read along the index of
    (customer or key, time), a page at a time (no count of all: a month may hold millions)."""
    q = (R.select(R, ApiKey.id, ApiKey.prefix, ApiKey.name).join(ApiKey, JOIN.LEFT_OUTER)
         .where(R.user == user, R.created_at >= start, R.created_at < end)
         .order_by(R.created_at.desc(), R.id.desc()))
    if key:
        q = q.where(R.api_key == key)
    if model:
        q = q.where(R.model == model)
    if status == "ok":
        q = q.where(R.status >= 200, R.status < 400)
    elif status == "error":
        q = q.where((R.status >= 400) | (R.status == 0))
    return list(q.paginate(page, per_page))


def customer_month_table(month: str | None = None, search: str = "") -> list[dict]:
    """Every user with plan, status and this month's usage: the operator's customer list."""
    start, end = month_bounds(month)
    usage = {uid: (n, int(t or 0), usd(c)) for uid, n, t, c in
             R.select(R.user, fn.COUNT(R.id), fn.SUM(R.total_tokens), fn.SUM(R.cost_nanousd))
             .where(R.created_at >= start, R.created_at < end).group_by(R.user).tuples()}
    q = User.select(User, Plan).join(Plan).order_by(User.email)
    if search:
        q = q.where(User.email.contains(search.strip().lower()))
    rows = []
    for u in q:
        n, tokens, cost = usage.get(u.id, (0, 0, Decimal(0)))
        revenue = Decimal(u.plan.price_cents or 0 if u.role == "user" else 0).scaleb(-2)
        rows.append({"user": u, "requests": n, "tokens": tokens, "cost": cost,
                     "revenue": revenue, "margin": revenue - cost})
    return rows


def key_month_usage(keys) -> dict[int, dict]:
    """This month's calls, tokens and charge (nano-dollars) of each key, by the key's index."""
    ids = [k.id for k in keys]
    if not ids:
        return {}
    start, end = month_bounds()
    rows = (R.select(R.api_key, fn.COUNT(R.id), fn.SUM(R.total_tokens), fn.SUM(R.charge_nanousd))
            .where(R.api_key.in_(ids), R.created_at >= start, R.created_at < end)
            .group_by(R.api_key).tuples())
    return {kid: {"requests": n, "tokens": int(t or 0), "charge_nanousd": int(c or 0)}
            for kid, n, t, c in rows}
