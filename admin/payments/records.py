"""The gateway's side of billing: each customer's billing record, made once under any race,
held for one change at a time, and the plan a customer falls back to."""

from __future__ import annotations

import contextlib
import datetime as dt

from models import Plan, Subscription, User, utcnow

from .. import values


class BillingError(Exception):
    """A payment step refused, with a message for the customer (a declined card...)."""


class Busy(BillingError):
    """Another billing change of the customer's is under way."""


def set_terms(user: User, custom_price: str, invoiced_outside: bool, alerts: bool) -> None:
    """The operator's terms for a customer: a monthly price of their own (Enterprise; empty for
    none), billed outside Stripe or not, and usage and billing mail on or off."""
    cents = values.cents(custom_price, "The monthly price") if custom_price.strip() else None
    sub = billing_row(user)
    Subscription.update(custom_price_cents=cents, invoiced_outside=invoiced_outside,
                        alerts=alerts).where(Subscription.id == sub.id).execute()


def free_plan() -> Plan:
    """The plan a customer falls back to: the cheapest one with a price of zero."""
    return (Plan.select().where(Plan.price_cents == 0).order_by(Plan.id).first()
            or Plan.get(Plan.name == "Explorer"))


def subscription_of(user: User) -> Subscription:
    sub = Subscription.get_or_none(Subscription.user == user)
    return sub if sub is not None else Subscription(user=user)


def billing_row(user: User) -> Subscription:
    """The customer's billing record, made if missing (two requests at once make one)."""
    Subscription.insert(user=user).on_conflict_ignore().execute()
    return Subscription.get(Subscription.user == user)


CLAIM = dt.timedelta(seconds=60)  # longer than any Stripe call sequence here takes


@contextlib.contextmanager
def claimed(user: User):
    """The customer's billing, held for one change: a second change at the same time (another
    tab, a double click, another process) is refused instead of making a second subscription.
    Yields the billing record, read after the claim."""
    row = billing_row(user)
    now = utcnow()
    got = Subscription.update(busy_until=now + CLAIM).where(
        Subscription.id == row.id,
        Subscription.busy_until.is_null() | (Subscription.busy_until < now)).execute()
    if not got:
        raise Busy("another change to your subscription is under way; reload the page "
                           "in a moment")
    try:
        yield Subscription.get_by_id(row.id)
    finally:
        Subscription.update(busy_until=None).where(Subscription.id == row.id).execute()
