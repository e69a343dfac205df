"""The money side of the domain: each customer's subscription as Stripe last told it, their
invoices, the Stripe events already applied, and the monthly notices already mailed."""

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField

from .base import BaseModel
from .tables import Plan, User, utcnow

# A subscription's states as the gateway shows them (Stripe's own states map onto these).
STATUSES = ("none", "active", "past_due", "canceled")


class Subscription(BaseModel):
    """One per customer that ever reached Stripe. `plan` is the paid plan subscribed to; the
    customer's plan (User.plan) follows it while the subscription is in good standing."""

    user = ForeignKeyField(User, unique=True, backref="subscriptions", on_delete="CASCADE")
    stripe_customer = CharField(default="")
    stripe_subscription = CharField(default="")
    status = CharField(default="none")  # one of STATUSES
    plan = ForeignKeyField(Plan, null=True)
    current_period_end = DateTimeField(null=True)
    cancel_at_period_end = BooleanField(default=False)
    next_plan = ForeignKeyField(Plan, null=True)  # a downgrade, due at the period's end
    past_due_since = DateTimeField(null=True)
    downgraded_at = DateTimeField(null=True)  # fell back to the free plan, unpaid
    # Enterprise: the operator's monthly price, or billed outside Stripe by contract.
    custom_price_cents = IntegerField(null=True)
    invoiced_outside = BooleanField(default=False)
    alerts = BooleanField(default=True)  # usage and billing mail; the operator can stop it
    updated_at = DateTimeField(default=utcnow)
    # A change under way (subscribe, change, cancel) holds the customer's billing until then:
    # one at a time across every process; a lease, so a crash frees it.
    busy_until = DateTimeField(null=True)
    # A subscription made before billing was anchored to the 1st: when the billing clock next
    # tries to move its billing day there (None: on the 1st already).
    realign_at = DateTimeField(null=True)


class Invoice(BaseModel):
    stripe_id = CharField(unique=True)
    user = ForeignKeyField(User, backref="invoices", on_delete="CASCADE")
    amount_cents = IntegerField()  # the invoice's total
    paid_cents = IntegerField(default=0)  # what was collected
    currency = CharField(default="usd")
    status = CharField()  # Stripe's: draft, open, paid, void, uncollectible
    period_start = DateTimeField(null=True)
    period_end = DateTimeField(null=True)
    url = CharField(default="")  # the hosted invoice page, where Stripe gives one
    created_at = DateTimeField(default=utcnow)
    paid_at = DateTimeField(null=True)


class StripeEvent(BaseModel):
    """An event applied: the same event delivered again changes nothing."""

    event_id = CharField(unique=True)
    type = CharField()
    received_at = DateTimeField(default=utcnow)


class Notice(BaseModel):
    """A mail sent once per customer, kind and period (usage at 80% and 100%, each month)."""

    user = ForeignKeyField(User, on_delete="CASCADE")
    kind = CharField()
    period = CharField()  # "2026-12"
    sent_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "kind", "period"), True),)


BILLING_TABLES = [Subscription, Invoice, StripeEvent, Notice]
