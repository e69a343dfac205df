"""The operator's pages: customers, plans, keys, usage and money, models, upstreams."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from peewee import fn

from models import ApiKey, Invoice, ModelPrice, Plan, Subscription, User, keyring, utcnow
from models.changes import held_credit
from models.members import Membership
from models.month import month_key
from models.selling import FIELDS, refusals

from . import accounts, catalog, key_limits, margins, payments, selling
from . import upstreams as provider_keys
from .auth import admin_required
from .queries import (
    breakdown,
    customer_month_table,
    key_month_usage,
    month_bounds,
    recent_months,
    valid_month,
)
from .values import Invalid

bp = Blueprint("ops", __name__, url_prefix="/ops")


# --- Customers ----------------------------------------------------------------------------------


@bp.route("/customers")
@admin_required
def customers():
    q = request.args.get("q", "")
    return render_template("ops/customers.html", rows=customer_month_table(search=q), q=q,
                           plans=Plan.select().order_by(Plan.id))


@bp.route("/customers", methods=["POST"])
@admin_required
def create_customer():
    plan = Plan.get_or_none(Plan.id == request.form.get("plan", type=int))
    if plan is None:
        flash("Enter an email address and choose a plan.", "error")
        return redirect(url_for("ops.customers"))
    try:
        user, password = accounts.create_user(
            request.form.get("email", ""), plan,
            role="admin" if request.form.get("role") == "admin" else "user")
    except accounts.Invalid as e:
        flash(f"No account created: {e}.", "error")
        return redirect(url_for("ops.customers"))
    return _show_customer(user, temp_password=password)


def _customer(user_id: int) -> User:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/customers/<int:user_id>")
@admin_required
def customer(user_id: int):
    user = _customer(user_id)
    return _show_customer(user)


def _show_customer(user: User, temp_password: str | None = None):
    """A temporary password is rendered once, never flashed: flashes live in the cookie."""
    keys = user.keys.order_by(ApiKey.created_at.desc())
    sub = payments.subscription_of(user)
    cfg = current_app.config["GATEWAY"]
    response = current_app.make_response(render_template(
        "ops/customer.html", customer=user, keys=keys, rows=breakdown(None, user),
        ledger=selling.ledger(user, held_credit(cfg.redis_url, user.id, month_key(utcnow()))),
        refusals=refusals(user.id),
        members=Membership.select(Membership, User).join(
            User, on=(Membership.member == User.id)).where(Membership.account == user),
        plans=Plan.select().order_by(Plan.id), temp_password=temp_password, sub=sub,
        invoices=Invoice.select().where(Invoice.user == user).order_by(Invoice.created_at.desc()),
        stripe_link=payments.dashboard_url(cfg, sub.stripe_customer)
        if sub.stripe_customer else None))
    if temp_password:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/customers/<int:user_id>/plan", methods=["POST"])
@admin_required
def change_plan(user_id: int):
    user = _customer(user_id)
    plan = Plan.get_or_none(Plan.id == request.form.get("plan", type=int))
    if plan is None:
        abort(400)
    accounts.set_plan(user, plan)
    flash(f"{user.email} is now on {plan.name}; the new limits apply at once.", "info")
    return redirect(url_for("ops.customer", user_id=user.id))


@bp.route("/customers/<int:user_id>/billing", methods=["POST"])
@admin_required
def set_billing(user_id: int):
    """A custom monthly price (Enterprise), billed outside Stripe or not, and mail on or off."""
    user = _customer(user_id)
    try:
        payments.set_terms(user, request.form.get("custom_price") or "",
                           invoiced_outside=request.form.get("invoiced_outside") == "1",
                           alerts=request.form.get("alerts") == "1")
    except Invalid as e:
        flash(f"{e}.", "error")
    else:
        flash(f"Billing settings of {user.email} saved.", "info")
    return redirect(url_for("ops.customer", user_id=user.id))


@bp.route("/customers/<int:user_id>/status", methods=["POST"])
@admin_required
def set_status(user_id: int):
    user = _customer(user_id)
    accounts.set_active(user, request.form.get("active") == "1")
    flash(f"{user.email} {'reactivated' if user.active else 'suspended: their keys stop working'}.",
          "info")
    return redirect(url_for("ops.customer", user_id=user.id))


@bp.route("/customers/<int:user_id>/password", methods=["POST"])
@admin_required
def reset_password(user_id: int):
    user = _customer(user_id)
    return _show_customer(user, temp_password=accounts.set_password(user))


# --- Plans --------------------------------------------------------------------------------------


@bp.route("/plans")
@admin_required
def plans():
    in_use = dict(User.select(User.plan, fn.COUNT(User.id)).group_by(User.plan).tuples())
    return render_template("ops/plans.html", plans=Plan.select().order_by(Plan.id),
                           in_use=in_use, models=ModelPrice.select().order_by(ModelPrice.model))


@bp.route("/plans", methods=["POST"])
@bp.route("/plans/<int:plan_id>", methods=["POST"])
@admin_required
def save_plan(plan_id: int | None = None):
    plan = None if plan_id is None else Plan.get_or_none(Plan.id == plan_id)
    if plan_id is not None and plan is None:
        abort(404)
    try:
        plan = accounts.save_plan_as_typed(plan, request.form)
    except Invalid as e:
        flash(f"Plan not saved: {e}.", "error")
    else:
        flash(f"Plan {plan.name} saved.", "info")
    return redirect(url_for("ops.plans"))


@bp.route("/plans/<int:plan_id>/delete", methods=["POST"])
@admin_required
def delete_plan(plan_id: int):
    plan = Plan.get_or_none(Plan.id == plan_id)
    if plan is None:
        abort(404)
    users = User.select().where(User.plan == plan).count()
    subs = Subscription.select().where((Subscription.plan == plan)
                                       | (Subscription.next_plan == plan)).count()
    if users:
        flash(f"{plan.name} is in use by {users} customer(s): move them first.", "error")
    elif subs:
        flash(f"{plan.name} is billed in {subs} subscription(s) (now or at their next "
              "period): make it private instead, so no one new can choose it.", "error")
    else:
        plan.delete_instance()
        flash(f"Plan {plan.name} deleted.", "info")
    return redirect(url_for("ops.plans"))


# --- Keys ---------------------------------------------------------------------------------------


@bp.route("/keys")
@admin_required
def keys():
    q = (ApiKey.select(ApiKey, User).join(User).order_by(ApiKey.created_at.desc()).limit(500))
    return render_template("ops/keys.html", keys=q)


def _key(key_id: int) -> ApiKey:
    found = ApiKey.get_or_none(ApiKey.id == key_id)
    if found is None:
        abort(404)
    return found


@bp.route("/keys/<int:key_id>")
@admin_required
def key(key_id: int):
    found = _key(key_id)
    return render_template("ops/key.html", key=found, plan=found.user.plan,
                           usage=key_month_usage([found]).get(found.id),
                           usd_text=key_limits.usd_text)


@bp.route("/keys/<int:key_id>/limits", methods=["POST"])
@admin_required
def key_limits_set(key_id: int):
    """The operator's limits for a key: not held to the plan (which applies all the same)."""
    found = _key(key_id)
    form = request.form
    try:
        accounts.set_key_limits(found, key_limits.parse(
            found.user.plan, rpm=form.get("rpm", ""), monthly_usd=form.get("monthly_usd", ""),
            models=form.get("models_text", ""), expires=form.get("expires", ""),
            cidrs=form.get("cidrs", ""), within_plan=False))
    except key_limits.Invalid as e:
        flash(f"Limits not saved: {e}.", "error")
    else:
        flash(f"Limits of {found.prefix}… saved: they apply within seconds.", "info")
    return redirect(url_for("ops.key", key_id=found.id))


@bp.route("/keys/<int:key_id>/revoke", methods=["POST"])
@admin_required
def revoke_key(key_id: int):
    key = _key(key_id)
    accounts.revoke_key(key)
    flash(f"Key {key.prefix}… of {key.user.email} revoked.", "info")
    back = request.form.get("next", "")
    return redirect(back if back.startswith("/ops/") else url_for("ops.keys"))


# --- Usage and money ----------------------------------------------------------------------------


@bp.route("/usage")
@admin_required
def usage():
    """Money: collected, usage sold, upstream cost and margin (margins.py), with charts."""
    month = valid_month(request.args.get("month"))
    report = margins.report(month)
    mrr = None
    if "payments" in current_app.extensions:
        mrr = Decimal(payments.mrr_cents()) / 100
    months = report["by_month"]
    return render_template("ops/usage.html", r=report, mrr=mrr, months=recent_months(),
                           month=month, totals=_month_row(report), chart={
                               "months": [m["month"] for m in months],
                               "collected": [m["collected_usd"] for m in months],
                               "charges": [m["charges_usd"] for m in months],
                               "cost": [m["cost_usd"] for m in months],
                               "models": [r["model"] for r in report["by_model"][:10]],
                               "model_charges": [r["charges_usd"]
                                                 for r in report["by_model"][:10]],
                               "model_cost": [r["cost_usd"] for r in report["by_model"][:10]],
                               **_chart("customer", "email", report["by_customer"]),
                               **_chart("plan", "plan", report["by_plan"])})


def _chart(name: str, label: str, rows: list[dict]) -> dict:
    """The ten rows that brought in or cost the most, for a chart of collected, usage sold
    and upstream cost."""
    top = sorted(rows, key=lambda r: -max(Decimal(r["collected_usd"]), Decimal(r["cost_usd"]),
                                          Decimal(r["charges_usd"])))[:10]
    return {f"{name}s": [r[label] for r in top],
            f"{name}_collected": [r["collected_usd"] for r in top],
            f"{name}_charges": [r["charges_usd"] for r in top],
            f"{name}_cost": [r["cost_usd"] for r in top]}


def _month_row(report: dict) -> dict:
    """The chosen month's totals, from its own month's row."""
    for row in report["by_month"]:
        if row["month"] == report["month"]:
            return row
    start, end = month_bounds(report["month"])
    n, charge, cost = margins.totals(start, end)
    paid = sum(margins.collected(start, end).values())
    return {"month": report["month"], "requests": n, **margins.money_row(paid, charge, cost)}


# --- Model catalog ------------------------------------------------------------------------------




@bp.route("/models")
@admin_required
def models():
    return render_template("ops/models.html",
                           models=ModelPrice.select().order_by(ModelPrice.provider,
                                                               ModelPrice.model),
                           plans=Plan.select().order_by(Plan.id), fields=catalog.PRICE_FIELDS,
                           sell_prices=selling.sell_price_rows(), sell_fields=FIELDS)


@bp.route("/models", methods=["POST"])
@bp.route("/models/<int:model_id>", methods=["POST"])
@admin_required
def save_model(model_id: int | None = None):
    model = None if model_id is None else ModelPrice.get_or_none(ModelPrice.id == model_id)
    if model_id is not None and model is None:
        abort(404)
    try:
        model = catalog.save_model(model, request.form, known_providers())
    except Invalid as e:
        flash(f"Model not saved: {e}.", "error")
    else:
        flash(f"Prices for {model.model} saved; new requests are priced with them.", "info")
    return redirect(url_for("ops.models"))


# --- Upstreams ----------------------------------------------------------------------------------


def known_providers() -> set[str]:
    """The gateway's providers; without a gateway (the app on its own), the catalog's."""
    found = {r["provider"] for r in current_app.extensions["upstreams"]()}
    return found or {p for (p,) in ModelPrice.select(ModelPrice.provider).distinct().tuples()}


@bp.route("/upstreams")
@admin_required
def upstreams():
    live = current_app.extensions["upstream_keys"]
    cfg = current_app.config["GATEWAY"]
    try:
        keys, problem = provider_keys.key_rows(cfg.env, live.live if live else None), None
    except keyring.KeyFileError as e:
        keys, problem = [], str(e)
    return render_template("ops/upstreams.html", rows=current_app.extensions["upstreams"](),
                           keys=keys, problem=problem)


@bp.post("/upstreams/enable")
@admin_required
def enable_upstream():
    name = request.form.get("key", "")
    spec = provider_keys.find(current_app.config["GATEWAY"].env, name)
    if spec is None:
        flash(f"No provider key named {name}.", "error")
        return redirect(url_for("ops.upstreams"))
    provider_keys.enable(spec)
    if live := current_app.extensions["upstream_keys"]:
        live.enable(spec.id)
    flash(f"{spec.provider} key {spec.name} is back in service.", "info")
    return redirect(url_for("ops.upstreams"))
