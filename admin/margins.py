"""The business's margin, as the operator reads it: money collected (subscriptions and top-ups
paid through Stripe), usage sold at sell prices, upstream cost, and the differences, by
customer, plan, model and month; and the margin guard: plans whose full allowance could cost
more than their price allows, and customers who cost more this month than they paid."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from flask import current_app
from peewee import fn

from models import Invoice, ModelPrice, Plan, User, utcnow
from models.catalog import price_sets, read_prices
from models.month import month_bounds, month_key
from models.rollup import DAY, UsageRollup
from models.selling import (
    FIELDS,
    NANOS,
    PER_MTOK,
    CreditMovement,
    nanos_per_mtok,
    operator_prices,
    own_prices,
    refusals,
    sell,
    usd_text,
)
from models.statement import parse_month

S = UsageRollup  # months are whole days: their daily sums are exact
CENT = NANOS // 100


def _bounds(month: str | None) -> tuple[dt.datetime, dt.datetime]:
    return month_bounds(parse_month(month) or utcnow())


def collected(start: dt.datetime, end: dt.datetime) -> dict[int, int]:
    """Nano-dollars paid by each customer in [start, end): invoices paid, credit bought."""
    paid: dict[int, int] = {}
    for uid, cents in (Invoice.select(Invoice.user, fn.SUM(Invoice.paid_cents))
                       .where(Invoice.paid_at >= start, Invoice.paid_at < end)
                       .group_by(Invoice.user).tuples()):
        paid[uid] = paid.get(uid, 0) + int(cents or 0) * CENT
    for uid, nanos in (CreditMovement.select(CreditMovement.user,
                                             fn.SUM(CreditMovement.amount_nanousd))
                       .where(CreditMovement.kind == "topup", CreditMovement.created_at >= start,
                              CreditMovement.created_at < end)
                       .group_by(CreditMovement.user).tuples()):
        paid[uid] = paid.get(uid, 0) + int(nanos or 0)
    return paid


def _sums(start, end, *by) -> list[tuple]:
    """(the `by` columns of the daily sums, requests, charge, cost): months are whole days."""
    return [(*row[:-3], int(row[-3] or 0), *row[-2:]) for row in
            S.select(*by, fn.SUM(S.requests), fn.SUM(S.charge_nanousd), fn.SUM(S.cost_nanousd))
            .where(S.period == DAY, S.start >= start, S.start < end, S.requests > 0)
            .group_by(*by).tuples()]


def money_row(collected_nanos: int | None, charge, cost) -> dict:
    charge, cost = int(charge or 0), int(cost or 0)
    row = {"charges_usd": usd_text(charge), "cost_usd": usd_text(cost),
           "usage_margin_usd": usd_text(charge - cost)}
    if collected_nanos is not None:
        row["collected_usd"] = usd_text(collected_nanos)
        row["margin_usd"] = usd_text(collected_nanos - cost)
    return row


def by_customer(month: str | None = None) -> list[dict]:
    start, end = _bounds(month)
    paid = collected(start, end)
    usage = {uid: (n, charge, cost) for uid, n, charge, cost in _sums(start, end, S.user_id)}
    rows = []
    for u in User.select(User, Plan).join(Plan).where(
            User.id.in_(list(paid.keys() | usage.keys()))):
        n, charge, cost = usage.get(u.id, (0, 0, 0))
        rows.append({"email": u.email, "plan": u.plan.name, "requests": n,
                     **money_row(paid.get(u.id, 0), charge, cost)})
    return sorted(rows, key=lambda r: r["email"])


def by_plan(month: str | None = None) -> list[dict]:
    """Customers grouped by the plan they are on now."""
    start, end = _bounds(month)
    paid = collected(start, end)
    plan_of = dict(User.select(User.id, User.plan).tuples())
    totals: dict[int, list[int]] = {}
    for uid, n, charge, cost in _sums(start, end, S.user_id):
        t = totals.setdefault(plan_of.get(uid), [0, 0, 0, 0])
        t[0] += n
        t[1] += int(charge or 0)
        t[2] += int(cost or 0)
    for uid, nanos in paid.items():
        totals.setdefault(plan_of.get(uid), [0, 0, 0, 0])[3] += nanos
    names = dict(Plan.select(Plan.id, Plan.name).tuples())
    return [{"plan": names.get(pid, "?"), "requests": t[0], **money_row(t[3], t[1], t[2])}
            for pid, t in sorted(totals.items(), key=lambda kv: names.get(kv[0], ""))]


def by_model(month: str | None = None) -> list[dict]:
    start, end = _bounds(month)
    return [{"provider": provider, "model": model, "requests": n, **money_row(None, charge, cost)}
            for provider, model, n, charge, cost in sorted(
                _sums(start, end, S.provider, S.model), key=lambda r: -int(r[3] or 0))]


def by_month(months: int = 12, now: dt.datetime | None = None) -> list[dict]:
    """The last `months` months, oldest first."""
    start, _ = month_bounds(now or utcnow())
    out = []
    for _ in range(months):
        _, end = month_bounds(start)
        paid = sum(collected(start, end).values())
        n, charge, cost = totals(start, end)
        out.append({"month": month_key(start), "requests": n, **money_row(paid, charge, cost)})
        start, _ = month_bounds(start - dt.timedelta(days=1))
    return out[::-1]


def totals(start, end) -> tuple[int, int, int]:
    n, charge, cost = (S.select(fn.SUM(S.requests), fn.SUM(S.charge_nanousd),
                                fn.SUM(S.cost_nanousd))
                       .where(S.period == DAY, S.start >= start, S.start < end).tuples().first())
    return int(n or 0), int(charge or 0), int(cost or 0)


# --- the margin guard ---------------------------------------------------------------------------


def full_allowance_cost(plan: Plan, catalog: list[dict], own: dict) -> int | None:
    """What the plan's whole monthly allowance could cost the business at most (nano-dollars,
    rounded up), spent on the dearest tokens of the models it allows; None when unbounded (an
    unlimited plan)."""
    if plan.monthly_tokens is None:
        return None
    allowed = set(plan.model_list)
    worst = Fraction(0)  # cost of one counted token, nano-dollars times PER_MTOK
    for m in catalog:
        if allowed and m["model"] not in allowed:
            continue
        mine = own_prices(own, plan.id, m["model"])
        for prices in price_sets(m):
            sold = sell(prices, m, plan.markup_bp, mine)
            for short, f in FIELDS.items():
                if prices.get(f) is None:
                    continue
                cost = nanos_per_mtok(prices[f])
                if not plan.weighted:
                    worst = max(worst, Fraction(cost))
                elif sold[short]:
                    worst = max(worst, Fraction(cost * plan.reference_nanousd, sold[short]))
    total = worst * plan.monthly_tokens / PER_MTOK
    return -(-total.numerator // total.denominator)


def guard(month: str | None = None) -> dict:
    """Plans that could lose money and customers who did this month."""
    min_margin = current_app.config["GATEWAY"].min_margin_bp
    catalog = [read_prices(m) for m in ModelPrice.select().dicts()]
    own = operator_prices()
    plans = []
    for plan in Plan.select().order_by(Plan.id):
        worst = full_allowance_cost(plan, catalog, own)
        if worst is None or plan.price_cents is None:
            continue  # unbounded, or a price agreed per customer
        floor = plan.price_cents * CENT * (10_000 - min_margin) // 10_000
        if worst > floor:
            plans.append({"plan": plan.name, "allowance": plan.monthly_tokens,
                          "allowance_mode": "weighted" if plan.weighted else "raw",
                          "price_usd": usd_text(plan.price_cents * CENT),
                          "worst_cost_usd": usd_text(worst),
                          "most_cost_usd": usd_text(floor)})
    customers = [r for r in by_customer(month)
                 if _nanos(r["cost_usd"]) > _nanos(r["collected_usd"])]
    return {"min_margin_percent": f"{Decimal(min_margin).scaleb(-2).normalize():f}",
            "plans": plans,
            "customers": customers}


def _nanos(text: str) -> int:
    return int(Decimal(text) * NANOS)


def report(month: str | None = None) -> dict:
    start, _ = _bounds(month)
    return {"month": month_key(start), "by_customer": by_customer(month),
            "by_plan": by_plan(month), "by_model": by_model(month), "by_month": by_month(),
            "refusals": refusals(None, start), "guard": guard(month)}
