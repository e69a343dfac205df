"""The operator's selling actions: credit granted to a customer, a model's own sell prices.
Pages that show them: the customer page, the model catalog, the revenue page (ops.py)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from models import Plan, User
from models.selling import FIELDS, usd_text

from . import selling
from .auth import admin_required
from .values import Invalid

bp = Blueprint("sales", __name__, url_prefix="/ops")


@bp.route("/customers/<int:user_id>/credit", methods=["POST"])
@admin_required
def grant(user_id: int):
    user = User.get_or_none(User.id == user_id)
    if user is None:
        abort(404)
    try:
        movement = selling.grant(user, request.form.get("amount", ""),
                                 request.form.get("reason", ""), actor=current_user.user.email)
    except Invalid as e:
        flash(f"No credit granted: {e}.", "error")
    else:
        flash(f"${usd_text(movement.amount_nanousd)} of credit recorded for "
              f"{user.email}.", "info")
    return redirect(url_for("ops.customer", user_id=user.id) + "#credit")


@bp.route("/sell-prices", methods=["POST"])
@admin_required
def sell_price():
    form = request.form
    plan = None
    if form.get("plan"):
        plan = Plan.get_or_none(Plan.id == form.get("plan", type=int))
        if plan is None:
            abort(400)
    try:
        row = selling.set_sell_price(form.get("model", ""), plan,
                                     {k: form.get(k) for k in FIELDS})
    except Invalid as e:
        flash(f"Sell price not saved: {e}.", "error")
    else:
        scope = plan.name if plan else "every plan"
        flash(f"Sell prices of {row.model} on {scope} saved." if row.id else
              f"{row.model} on {scope} is sold at the plan's markup again.", "info")
    return redirect(url_for("ops.models") + "#sell-prices")
