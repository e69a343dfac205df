"""What billing shows: a customer's billing for their page and the CLI, the money collected, the
monthly recurring revenue, and the customer's page in Stripe's dashboard."""

from __future__ import annotations

import datetime as dt

from peewee import fn

from models import Invoice, Subscription, User

from .money import monthly_cents
from .records import subscription_of


def summary(user: User) -> dict:
    """What the page and `python -m admin billing` show of a customer's billing."""
    sub = subscription_of(user)
    invoices = (Invoice.select().where(Invoice.user == user)
                .order_by(Invoice.created_at.desc(), Invoice.id.desc()))
    return {
        "plan": user.plan.name,
        "status": sub.status,
        "stripe_customer": sub.stripe_customer or None,
        "stripe_subscription": sub.stripe_subscription or None,
        "current_period_end": sub.current_period_end.isoformat() + "Z"
        if sub.current_period_end else None,
        "invoices": [{"id": i.stripe_id, "amount_cents": i.amount_cents,
                      "status": i.status,
                      "period_start": i.period_start.isoformat() + "Z"
                      if i.period_start else None,
                      "period_end": i.period_end.isoformat() + "Z"
                      if i.period_end else None} for i in invoices],
    }


def collected_cents(start: dt.datetime, end: dt.datetime) -> int:
    """Money actually collected: invoices paid in [start, end)."""
    total = (Invoice.select(fn.SUM(Invoice.paid_cents))
             .where(Invoice.paid_at >= start, Invoice.paid_at < end).scalar())
    return int(total or 0)


def mrr_cents() -> int:
    """Monthly recurring revenue: what the live subscriptions bill each month."""
    live = Subscription.select().where(Subscription.status.in_(("active", "past_due")),
                                       Subscription.stripe_subscription != "")
    return sum(monthly_cents(s) or 0 for s in live)


def dashboard_url(cfg, stripe_customer: str) -> str:
    """The customer in Stripe's dashboard (its test-mode pages for a test key)."""
    test = (cfg.stripe_secret_key or "").startswith(("sk_test_", "rk_test_"))
    return f"https://dashboard.stripe.com/{'test/' if test else ''}customers/{stripe_customer}"
