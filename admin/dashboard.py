"""The signed-in customer's home: plan, this month's usage, API keys."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from models import ApiKey, utcnow

from . import gateway_changed
from .queries import month_usage
from .keys import create_key

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@login_required
def index():
    user = current_user.user
    keys = user.keys.where(ApiKey.revoked_at.is_null()).order_by(ApiKey.created_at.desc())
    return render_template("dashboard/index.html", user=user, plan=user.plan, keys=keys,
                           usage=month_usage(user))


@bp.route("/keys", methods=["POST"])
@login_required
def new_key():
    from flask import request

    name = request.form.get("name", "").strip()[:64] or "default"
    secret, key = create_key(current_user.user, name)
    flash("Your new key is shown once. Copy it now.", "info")
    keys = current_user.user.keys.where(ApiKey.revoked_at.is_null())
    return render_template("dashboard/index.html", user=current_user.user,
                           plan=current_user.user.plan, keys=keys, new_secret=secret,
                           usage=month_usage(current_user.user))


@bp.route("/keys/<int:key_id>/revoke", methods=["POST"])
@login_required
def revoke_key(key_id: int):
    key = ApiKey.get_or_none(ApiKey.id == key_id, ApiKey.user == current_user.user)
    if key is None:
        abort(404)
    key.revoked_at = utcnow()
    key.save()
    gateway_changed(current_app)
    flash(f"Key {key.prefix}… revoked.", "info")
    return redirect(url_for("dashboard.index"))
