"""The customer's prepaid credit: balance, ledger, whether to spend it once the allowance is
used, automatic top-ups; and buying credit through Stripe (`POST /credit/topup`, with the card
on file or a new one confirmed by Stripe.js: card numbers never reach the gateway)."""

from __future__ import annotations

import logging

import stripe
from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from . import selling, values
from .current import MONEY_ROLES, me, roles_required

log = logging.getLogger(__name__)
bp = Blueprint("credit", __name__, url_prefix="/credit")


@bp.get("")
@roles_required(*MONEY_ROLES)
def index():
    user = me()
    p = current_app.extensions.get("payments")
    card = None
    if p is not None:
        from .payments import subscription_of

        try:
            card = p.card(subscription_of(user))
        except stripe.StripeError:
            log.exception("Stripe did not answer for the card on file")
    return render_template("credit/index.html", user=user, ledger=selling.ledger(user),
                           card=card, billing=p is not None,
                           least=selling.MIN_TOPUP_CENTS // 100,
                           cfg=current_app.config["GATEWAY"])


@bp.post("/settings")
@roles_required(*MONEY_ROLES)
def settings():
    user = me()
    form = request.form
    try:
        selling.set_credit_terms(user, spend=form.get("spend") == "1",
                                 auto=form.get("auto") == "1",
                                 below=form.get("below", ""), amount=form.get("amount", ""))
    except values.Invalid as e:
        flash(str(e), "error")
    else:
        flash("Credit settings saved.", "info")
    return redirect(url_for("credit.index"))


@bp.post("/topup")
@roles_required(*MONEY_ROLES)
def topup():
    """Buy credit: `amount` in dollars, with `payment_method` (a card Stripe.js confirmed) or
    the card on file."""
    from .payments import BillingError, credits

    p = current_app.extensions.get("payments")
    if p is None:
        return jsonify(error="payments are off on this gateway; ask us for credit"), 404
    data = request.get_json(silent=True) or request.form
    try:
        cents = values.cents(str(data.get("amount", "")), "the amount")
        message = credits.top_up(p, me(), cents, data.get("payment_method") or None)
    except (values.Invalid, BillingError) as e:
        return jsonify(error=str(e)), 402
    except stripe.StripeError:
        log.exception("Stripe failed a top-up")
        return jsonify(error="Payments are unavailable right now; nothing was charged. "
                             "Please try again in a minute."), 503
    return jsonify(message=message, balance_usd=selling.ledger(me())["balance_usd"])
