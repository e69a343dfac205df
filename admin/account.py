"""Your own account: change your password, turn the second factor on or off; and, with
OPERATOR_2FA, operators kept here until theirs is set up."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user

from models.security import password_problem, verify_password

from . import accounts, second_factor
from .auth import Account
from .current import person

bp = Blueprint("account", __name__, url_prefix="/account")

PENDING = "totp_pending"  # the secret being set up, until a code from it confirms it
OPEN_WITHOUT_FACTOR = ("account.", "auth.logout", "static")


def operator_needs_factor() -> bool:
    return (current_user.is_authenticated and current_user.is_admin
            and current_app.config["GATEWAY"].operator_2fa and not person().totp_secret)


@bp.before_app_request
def factor_first():
    """OPERATOR_2FA: an operator without a second factor can open only this page."""
    endpoint = request.endpoint or ""
    if operator_needs_factor() and not endpoint.startswith(OPEN_WITHOUT_FACTOR):
        flash("Operators must sign in with a second factor: set it up to go on.", "error")
        return redirect(url_for("account.index"))
    return None


@bp.route("")
@login_required
def index():
    pending = session.get(PENDING)
    qr = second_factor.qr_code(pending, person().email) if pending else None
    return render_template("account/index.html", user=person(), pending=pending, qr=qr,
                           required=current_user.is_admin
                           and current_app.config["GATEWAY"].operator_2fa)


@bp.route("/password", methods=["POST"])
@login_required
def password():
    user, form = person(), request.form
    new = form.get("new_password", "")
    if not verify_password(user.password_hash, form.get("current_password", "")):
        flash("Password not changed: the current password is wrong.", "error")
    elif new != form.get("confirm_password", ""):
        flash("Password not changed: the two new passwords differ.", "error")
    elif problem := password_problem(new):
        flash(f"Password not changed: {problem}.", "error")
    else:
        accounts.set_password(user, new)  # every other session of the user ends
        login_user(Account(user))  # this one goes on, under the new epoch
        current_app.extensions["mailer"].send(
            user.email, "Your llm-gateway password was changed",
            "The password of your llm-gateway account was just changed, and every other "
            "session signed out. If it was not you, reset it now from the sign-in page and "
            "tell the operator.")
        flash("Password changed. Other sessions were signed out.", "info")
    return redirect(url_for("account.index"))


@bp.route("/2fa", methods=["POST"])
@login_required
def start_factor():
    if not person().totp_secret:
        session[PENDING] = second_factor.new_secret()
    return redirect(url_for("account.index") + "#second-factor")


@bp.route("/2fa/confirm", methods=["POST"])
@login_required
def confirm_factor():
    pending, user = session.get(PENDING), person()
    step = second_factor.matching_step(pending, request.form.get("code", "")) if pending \
        else None
    if step is None:
        flash("That code does not match: type the 6 digits your app shows now.", "error")
        return redirect(url_for("account.index") + "#second-factor")
    accounts.set_second_factor(user, pending, step)
    login_user(Account(user))  # this session goes on; the others end
    session.pop(PENDING, None)
    flash("Second factor on: sign-ins ask for a code from your app.", "info")
    return redirect(url_for("account.index"))


@bp.route("/2fa/off", methods=["POST"])
@login_required
def disable_factor():
    user = person()
    if current_user.is_admin and current_app.config["GATEWAY"].operator_2fa:
        flash("Operators must keep a second factor (OPERATOR_2FA).", "error")
    elif not (verify_password(user.password_hash, request.form.get("password", ""))
              and second_factor.accept(user, request.form.get("code", ""))):
        flash("Second factor kept: the password or the code is wrong.", "error")
    else:
        accounts.set_second_factor(user, "", 0)
        login_user(Account(user))
        flash("Second factor off: sign-ins ask for your password alone.", "info")
    return redirect(url_for("account.index"))
