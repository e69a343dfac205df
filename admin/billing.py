"""The Plan & billing pages and Stripe's webhook (`POST /billing/webhook`, on the gateway's port).

A card is collected by Stripe.js (a SetupIntent confirmed in the browser: card numbers never
reach the gateway); the subscription is made here with it, and the plan changes only when
Stripe's events, verified by signature and read back from Stripe, say the payment went through.
"""

from __future__ import annotations

import logging

import stripe
from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_login import current_user

from models import Invoice, Plan, StripeEvent, Subscription
from models.selling import balance, usd_text

from . import csrf
from .current import MONEY_ROLES, me, roles_required
from .payments import BillingError, Payments, subscription_of, summary

log = logging.getLogger(__name__)
bp = Blueprint("billing", __name__, url_prefix="/billing")


def payments() -> Payments:
    found = current_app.extensions.get("payments")
    if found is None:
        abort(404)  # billing is off: no STRIPE_SECRET_KEY
    return found


@bp.get("")
@roles_required(*MONEY_ROLES)
def index():
    p, user = payments(), me()
    sub = subscription_of(user)
    try:
        card = p.card(sub)
    except stripe.StripeError:
        log.exception("Stripe did not answer for the card on file")
        card = None
    plans = [pl for pl in Plan.select().order_by(Plan.id)
             if pl.id in (user.plan_id, sub.plan_id) or pl.public and (
                 pl.price_cents is not None or sub.custom_price_cents is not None)]
    invoices = (Invoice.select().where(Invoice.user == user)
                .order_by(Invoice.created_at.desc(), Invoice.id.desc()))
    return render_template("billing/index.html", user=user, sub=sub, card=card, plans=plans,
                           invoices=invoices, cfg=current_app.config["GATEWAY"],
                           credit_balance=usd_text(balance(user.id)))


@bp.get("/status")
@roles_required(*MONEY_ROLES)
def status():
    payments()
    return jsonify(summary(me()))


@bp.post("/setup")
@roles_required(*MONEY_ROLES)
def setup():
    """A SetupIntent for Stripe.js to confirm the card with."""
    p = payments()
    try:
        sub = p.customer(me())
        intent = p.stripe.v1.setup_intents.create(params={
            "customer": sub.stripe_customer, "usage": "off_session"})
    except stripe.StripeError:
        log.exception("Stripe refused a SetupIntent")
        return unavailable()
    return jsonify(client_secret=intent["client_secret"])


def unavailable():
    return jsonify(error="Payments are unavailable right now; nothing was charged. "
                         "Please try again in a minute."), 503


@bp.post("/subscribe")
@roles_required(*MONEY_ROLES)
def subscribe():
    p, user = payments(), me()
    data = request.get_json(silent=True) or request.form
    plan = Plan.get_or_none(Plan.id == _int(data.get("plan")))
    if plan is None:
        return jsonify(error="choose a plan"), 400
    try:
        message = p.subscribe(user, plan, data.get("payment_method") or None)
    except BillingError as e:
        return jsonify(error=str(e)), 402
    except stripe.CardError as e:
        return jsonify(error=e.user_message or "your card was declined"), 402
    except stripe.StripeError:
        log.exception("Stripe failed a subscription change")
        return unavailable()
    return jsonify(message=message, plan=plan.name)


@bp.post("/cancel")
@roles_required(*MONEY_ROLES)
def cancel():
    try:
        return jsonify(message=payments().cancel(me()))
    except stripe.StripeError:
        log.exception("Stripe failed a cancellation")
        return unavailable()


@bp.post("/pay")
@roles_required(*MONEY_ROLES)
def pay():
    """Pay the open invoices, with a new card when one is given."""
    p, user = payments(), me()
    data = request.get_json(silent=True) or request.form
    try:
        sub = p.customer(user)
        if data.get("payment_method"):
            p.set_card(sub, data["payment_method"])
        paid = p.pay_open_invoices(user)
    except BillingError as e:
        return jsonify(error=str(e)), 402
    except stripe.StripeError:
        log.exception("Stripe failed a payment of open invoices")
        return unavailable()
    return jsonify(message=f"{paid} invoice(s) paid" if paid else "nothing was due")


@bp.post("/webhook")
@csrf.exempt
def webhook():
    """Stripe's events: signed, each applied once, a failure answered 500 so Stripe retries."""
    p = payments()
    secret = current_app.config["GATEWAY"].stripe_webhook_secret
    try:
        event = stripe.Webhook.construct_event(request.get_data(),
                                               request.headers.get("Stripe-Signature"), secret)
    except (ValueError, stripe.SignatureVerificationError):
        return jsonify(error="invalid or stale signature"), 400
    if StripeEvent.select().where(StripeEvent.event_id == event["id"]).exists():
        return jsonify(received=True, duplicate=True)
    try:
        user, mail = p.apply_event(event)
    except Exception:
        log.exception("Stripe event %s (%s) not applied; Stripe will retry it",
                      event["id"], event["type"])
        return jsonify(error="not applied; retry"), 500
    if user is not None:
        p.send(user, mail)
    return jsonify(received=True)


@bp.app_context_processor
def billing_state():
    """For every page: whether billing is on, and the past-due banner."""
    on = "payments" in current_app.extensions
    past_due = False
    if on and current_user.is_authenticated:
        sub = Subscription.get_or_none(Subscription.user == current_user.user.id)
        past_due = sub is not None and sub.status == "past_due"
    return {"billing_on": on, "past_due": past_due}


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
