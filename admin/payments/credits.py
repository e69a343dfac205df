"""Prepaid credit bought through Stripe: a top-up charged to the card on file (or a new one
collected by Stripe.js) as a PaymentIntent, and credited once Stripe says it succeeded: at once
when the charge went through while the customer waited, else on its `payment_intent.succeeded`
event (read back from Stripe first, like every event). The payment's id makes it count once."""

from __future__ import annotations

from decimal import Decimal

import stripe

from models import User

from .. import selling
from .money import field
from .records import BillingError

KIND = "credit_topup"  # a PaymentIntent's metadata: what it pays for


def top_up(p, user: User, cents: int, payment_method: str | None = None,
           auto: bool = False) -> str:
    """Charge `cents` for credit. Returns what happened, for the customer."""
    if not selling.MIN_TOPUP_CENTS <= cents <= selling.MAX_TOPUP_CENTS:
        raise BillingError(f"a top-up is from ${selling.MIN_TOPUP_CENTS // 100} to "
                           f"${selling.MAX_TOPUP_CENTS // 100:,}")
    sub = p.customer(user)
    if payment_method:
        p.set_card(sub, payment_method)
    customer = p.stripe.v1.customers.retrieve(sub.stripe_customer)
    card = field(field(customer, "invoice_settings") or {}, "default_payment_method")
    if not card:
        raise BillingError("add a card first")
    try:
        intent = p.stripe.v1.payment_intents.create(params={
            "amount": cents, "currency": "usd", "customer": sub.stripe_customer,
            "payment_method": card, "confirm": True, "off_session": True,
            "metadata": {"user_id": str(user.id), "kind": KIND, "auto": "1" if auto else "0"}})
    except stripe.CardError as e:
        raise BillingError(e.user_message or "your card was declined; nothing was added") \
            from None
    if intent["status"] == "succeeded":
        credited(intent)
        return f"${Decimal(cents).scaleb(-2):,.2f} of credit added"
    if intent["status"] in ("processing", "requires_capture"):
        return "payment accepted; the credit is added as soon as Stripe confirms it"
    raise BillingError("your card was declined; nothing was added")


def read_payment(p, intent_id: str):
    return p.stripe.v1.payment_intents.retrieve(intent_id)


def credited(intent, tell: bool = True):
    """A PaymentIntent Stripe holds as succeeded, if it bought credit: the movement made now
    (None if it was credited before, or is no top-up)."""
    metadata = field(intent, "metadata") or {}
    if field(metadata, "kind") != KIND or intent["status"] != "succeeded":
        return None
    return selling.record_topup(int(field(metadata, "user_id")), intent.id,
                                int(intent["amount"]), tell=tell)
