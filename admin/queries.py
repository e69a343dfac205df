"""Usage figures read by the CLI and the pages. Months are calendar months in UTC."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from peewee import JOIN, fn

from models import ApiKey, Plan, UsageRecord, User, usd, utcnow
from models.month import month_bounds as calendar_month
from models.month import month_key
from models.rollup import DAY, UsageRollup
from models.statement import tool_calls

R = UsageRecord
S = UsageRollup  # months and days are whole days: their daily sums are exact


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
    row = (S.select(fn.SUM(S.requests), fn.SUM(S.input_tokens), fn.SUM(S.cache_read_tokens),
                    fn.SUM(S.cache_write_tokens), fn.SUM(S.output_tokens),
                    fn.SUM(S.reasoning_tokens), fn.SUM(S.total_tokens), fn.SUM(S.cost_nanousd),
                    fn.SUM(S.counted_tokens), fn.SUM(S.charge_nanousd), fn.SUM(S.credit_nanousd))
           .where(S.user_id == user.id, S.period == DAY, S.start >= start, S.start < end)
           .tuples().first())
    n, inp, cr, cw, out, rea, total, cost, counted, charge, credit = row
    # Few records are estimates: counted along the index of the customer's records.
    estimated = R.select().where(R.user == user, R.created_at >= start, R.created_at < end,
                                 R.estimated == True).count()  # noqa: E712
    return {
        "month": month_key(start),
        "requests": int(n or 0),
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
    return int(S.select(fn.SUM(S.requests)).where(S.user_id == user.id, S.period == DAY,
                                                  S.start == today).scalar() or 0)


def breakdown(month: str | None = None, user: User | None = None,
              by=("provider", "model")) -> list[dict]:
    """Requests, tokens, cost and charge grouped by the named record fields (and
    customer)."""
    start, end = month_bounds(month)
    cols = [S.user_id if f == "user" else getattr(S, f) for f in by]
    q = (S.select(*cols, fn.SUM(S.requests).alias("requests"),
                  fn.SUM(S.total_tokens).alias("tokens"), fn.SUM(S.cost_nanousd).alias("cost"),
                  fn.SUM(S.charge_nanousd).alias("charge"))
         .where(S.period == DAY, S.start >= start, S.start < end, S.requests > 0)
         .group_by(*cols).order_by(fn.SUM(S.total_tokens).desc()))
    if user is not None:
        q = q.where(S.user_id == user.id)
    return [{**{f: getattr(row, f if f != "user" else "user_id") for f in by},
             "requests": int(row.requests or 0), "tokens": int(row.tokens or 0),
             "cost": usd(row.cost), "charge": usd(row.charge)}
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
    usage = {uid: (int(n or 0), int(t or 0), usd(c)) for uid, n, t, c in
             S.select(S.user_id, fn.SUM(S.requests), fn.SUM(S.total_tokens),
                      fn.SUM(S.cost_nanousd))
             .where(S.period == DAY, S.start >= start, S.start < end).group_by(S.user_id)
             .tuples()}
    # People invited into accounts, with none of their own, are members, not customers.
    q = User.select(User, Plan).join(Plan).where(User.member_only == False).order_by(  # noqa: E712
        User.email)
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
    rows = (S.select(S.key_id, fn.SUM(S.requests), fn.SUM(S.total_tokens),
                     fn.SUM(S.charge_nanousd))
            .where(S.key_id.in_(ids), S.period == DAY, S.start >= start, S.start < end)
            .group_by(S.key_id).tuples())
    return {kid: {"requests": int(n or 0), "tokens": int(t or 0), "charge_nanousd": int(c or 0)}
            for kid, n, t, c in rows}
