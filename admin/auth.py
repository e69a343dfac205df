"""Sign-in, sign-out, self-service sign-up, and the guards every other page uses."""

from __future__ import annotations

import datetime as dt
import functools

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from peewee import IntegrityError

from models import Plan, User, utcnow
from models.security import hash_password, verify_password

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=5)
MIN_PASSWORD = 10


class Account(UserMixin):
    """The signed-in user as flask-login sees it; `user` is the database row."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = str(user.id)

    @property
    def is_active(self) -> bool:
        return self.user.active

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin


@login_manager.user_loader
def load_account(user_id: str):
    user = User.get_or_none(User.id == int(user_id)) if user_id.isdigit() else None
    return Account(user) if user else None


def admin_required(view):
    """Operator pages: signed-out users go to sign-in, customers get 403."""

    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def me() -> User:
    return current_user.user


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        password = request.form.get("password", "")
        user = User.get_or_none(User.email == email)
        now = utcnow()
        if user and user.locked_until and user.locked_until > now:
            flash("Too many failed sign-ins: this account is locked for a few minutes.", "error")
            return render_template("auth/login.html", email=email), 429
        if user and verify_password(user.password_hash, password):
            if not user.active:
                flash("This account is suspended. Contact the operator.", "error")
                return render_template("auth/login.html", email=email), 403
            user.failed_logins, user.locked_until = 0, None
            user.save()
            login_user(Account(user))
            target = request.args.get("next", "")
            # Only local paths: never an open redirect.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("dashboard.index")
            return redirect(target)
        if user:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until, user.failed_logins = now + LOCKOUT, 0
            user.save()
        flash("Wrong email or password.", "error")
        return render_template("auth/login.html", email=email), 401
    return render_template("auth/login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if not current_app.config["SIGNUP_ENABLED"]:
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        password = request.form.get("password", "")
        if "@" not in email or len(email) > 254:
            flash("Enter a valid email address.", "error")
        elif len(password) < MIN_PASSWORD:
            flash(f"Choose a password of at least {MIN_PASSWORD} characters.", "error")
        else:
            try:
                user = User.create(email=email, password_hash=hash_password(password),
                                   plan=Plan.get(Plan.name == "Explorer"))
            except IntegrityError:
                flash("An account with this email exists. Sign in instead.", "error")
            else:
                login_user(Account(user))
                flash("Welcome! Create an API key to start.", "info")
                return redirect(url_for("keys.index"))
        return render_template("auth/signup.html", email=email), 400
    return render_template("auth/signup.html")
