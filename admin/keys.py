"""A customer's API keys: create (the secret shown once), list with this month's spend, set
each key's own limits, revoke."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from models import ApiKey

from . import accounts, key_limits
from .current import KEY_ROLES, me, person, role, roles_required
from .queries import key_month_usage

bp = Blueprint("keys", __name__, url_prefix="/keys")

def _visible(query):
    """The account's keys; a member sees and manages only the keys they made."""
    query = query.where(ApiKey.user == me())
    return query.where(ApiKey.created_by == person()) if role() == "member" else query


def _own_keys():
    return (_visible(ApiKey.select()).where(ApiKey.revoked_at.is_null())
            .order_by(ApiKey.created_at.desc()))


def _own_key(key_id: int) -> ApiKey:
    key = _visible(ApiKey.select()).where(ApiKey.id == key_id,
                                          ApiKey.revoked_at.is_null()).first()
    if key is None:
        abort(404)  # someone else's key looks exactly like a missing one
    return key


def _limits_typed(form) -> dict:
    """The limits form's fields, the customer's own: within the plan."""
    return key_limits.parse(me().plan, rpm=form.get("rpm", ""),
                            monthly_usd=form.get("monthly_usd", ""),
                            models=form.getlist("models") or form.get("models_text", ""),
                            expires=form.get("expires", ""), cidrs=form.get("cidrs", ""))


def _page(**extra):
    keys = list(_own_keys())
    return render_template("keys/index.html", keys=keys, usage=key_month_usage(keys),
                           plan=me().plan, **extra)


@bp.route("")
@roles_required(*KEY_ROLES)
def index():
    return _page()


@bp.route("", methods=["POST"])
@roles_required(*KEY_ROLES)
def create():
    if me().email_verified_at is None:  # a self-service sign-up mints keys once confirmed
        flash("Confirm your email address first: follow the link we mailed you.", "error")
        return redirect(url_for("keys.index"))
    try:
        limits = _limits_typed(request.form)
    except key_limits.Invalid as e:
        flash(f"Key not created: {e}.", "error")
        return redirect(url_for("keys.index"))
    secret, key = accounts.issue_key(me(), request.form.get("name", ""), limits, by=person())
    # Rendered, not redirected: the secret must not travel in a URL or live in the session.
    response = current_app.make_response(_page(new_secret=secret, new_key=key))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:key_id>")
@roles_required(*KEY_ROLES)
def detail(key_id: int):
    key = _own_key(key_id)
    return render_template("keys/detail.html", key=key, usage=key_month_usage([key]).get(key.id),
                           plan=me().plan, usd_text=key_limits.usd_text)


@bp.route("/<int:key_id>/limits", methods=["POST"])
@roles_required(*KEY_ROLES)
def limits(key_id: int):
    key = _own_key(key_id)
    try:
        accounts.set_key_limits(key, _limits_typed(request.form))
    except key_limits.Invalid as e:
        flash(f"Limits not saved: {e}.", "error")
    else:
        flash(f"Limits of {key.prefix}… saved: they apply within seconds.", "info")
    return redirect(url_for("keys.detail", key_id=key.id))


@bp.route("/<int:key_id>/revoke", methods=["POST"])
@roles_required(*KEY_ROLES)
def revoke(key_id: int):
    key = _visible(ApiKey.select()).where(ApiKey.id == key_id).first()
    if key is None:
        abort(404)
    accounts.revoke_key(key)
    flash(f"Key {key.prefix}… revoked: it stops working within seconds.", "info")
    return redirect(url_for("keys.index"))
