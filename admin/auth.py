"""Sign-in and sign-out."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from models import User, utcnow
from models.security import verify_password

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=5)


class Account(UserMixin):
    """The signed-in user as flask-login sees it."""

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
    user = User.get_or_none(User.id == int(user_id))
    return Account(user) if user else None


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
            flash("Too many failed sign-ins. Try again in a few minutes.", "error")
        elif user and user.active and verify_password(user.password_hash, password):
            user.failed_logins, user.locked_until = 0, None
            user.save()
            login_user(Account(user))
            return redirect(url_for("dashboard.index"))
        else:
            if user:
                user.failed_logins += 1
                if user.failed_logins >= MAX_FAILURES:
                    user.locked_until, user.failed_logins = now + LOCKOUT, 0
                user.save()
            flash("Wrong email or password.", "error")
    return render_template("auth/login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
