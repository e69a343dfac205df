"""A forgotten password, reset by mail: a link that works once, for an hour.

The link is signed (the app's secret key) and names the user and a fingerprint of the
password hash it may replace: once the password changes, by this link or otherwise, the link
is spent. The page answers the same whether the address has an account or not.
"""

from __future__ import annotations

import hashlib
import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer

from models import User, utcnow
from models.security import password_problem

from . import accounts
from .auth import mail_base, throttles

bp = Blueprint("reset", __name__)

RESET_MAX_AGE = 3600  # seconds a reset link stays valid


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="reset-password")


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def reset_link(user: User) -> str:
    token = _signer().dumps({"u": user.id, "p": _fingerprint(user)})
    return f"{mail_base()}{url_for('reset.reset', token=token)}"


def _user_of(token: str) -> User | None:
    """The user a live, unspent link was made for."""
    try:
        data = _signer().loads(token, max_age=RESET_MAX_AGE)
    except BadData:
        return None
    user = User.get_or_none(User.id == data.get("u"))
    if user is None or not user.active or data.get("p") != _fingerprint(user):
        return None
    return user


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    if request.method == "GET":
        return render_template("reset/forgot.html")
    email = request.form.get("email", "").strip().lower()
    limit = throttles()["reset"]
    wait = max(limit.wait(request.remote_addr), limit.wait(email))
    if wait > 0:
        flash(f"Too many reset requests: try again in {math.ceil(wait / 60)} min.", "error")
        return render_template("reset/forgot.html", email=email), 429
    limit.failed(request.remote_addr)
    limit.failed(email)
    user = User.get_or_none(User.email == email)
    if user is not None and user.active:
        current_app.extensions["mailer"].send(
            user.email, "Reset your llm-gateway password",
            f"Someone (you?) asked to reset the password of your llm-gateway account. Choose "
            f"a new one here:\n\n{reset_link(user)}\n\nThe link works once, for "
            f"{RESET_MAX_AGE // 60} minutes. If you did not ask, ignore this mail: your "
            "password stays as it is.")
    # The same page either way: it must not tell who has an account.
    return render_template("reset/sent.html", email=email), 202


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    user = _user_of(token)
    if user is None:
        flash("This reset link is invalid, expired or used already. Ask for a new one.",
              "error")
        return redirect(url_for("reset.forgot"))
    if request.method == "GET":
        return render_template("reset/reset.html", email=user.email)
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        flash("The two passwords differ.", "error")
        return render_template("reset/reset.html", email=user.email), 400
    if problem := password_problem(new):
        flash(f"Choose another password: {problem}.", "error")
        return render_template("reset/reset.html", email=user.email), 400
    accounts.set_password(user, new)  # spends the link, ends every session
    if user.email_verified_at is None:  # the link came to the address: it is theirs
        User.update(email_verified_at=utcnow()).where(User.id == user.id).execute()
        accounts.announce()
    throttles()["reset"].succeeded(user.email)
    flash("Password changed: sign in with it now.", "info")
    return redirect(url_for("auth.login"))
