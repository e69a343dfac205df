"""A customer's API keys: create (the secret shown once), list, revoke."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from models import ApiKey

from . import accounts
from .auth import me

bp = Blueprint("keys", __name__, url_prefix="/keys")


def _own_keys():
    return (ApiKey.select().where(ApiKey.user == me(), ApiKey.revoked_at.is_null())
            .order_by(ApiKey.created_at.desc()))


@bp.route("")
@login_required
def index():
    return render_template("keys/index.html", keys=_own_keys())


@bp.route("", methods=["POST"])
@login_required
def create():
    if me().email_verified_at is None:  # a self-service sign-up mints keys once confirmed
        flash("Confirm your email address first: follow the link we mailed you.", "error")
        return redirect(url_for("keys.index"))
    secret, key = accounts.issue_key(me(), request.form.get("name", ""))
    # Rendered, not redirected: the secret must not travel in a URL or live in the session.
    response = current_app.make_response(
        render_template("keys/index.html", keys=_own_keys(), new_secret=secret, new_key=key))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:key_id>/revoke", methods=["POST"])
@login_required
def revoke(key_id: int):
    key = ApiKey.get_or_none(ApiKey.id == key_id, ApiKey.user == me())
    if key is None:
        abort(404)  # someone else's key looks exactly like a missing one
    accounts.revoke_key(key)
    flash(f"Key {key.prefix}… revoked: it stops working within seconds.", "info")
    return redirect(url_for("keys.index"))
