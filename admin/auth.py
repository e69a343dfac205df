"""Sign-in, sign-out, self-service sign-up, and the guards every other page uses."""

from __future__ import annotations

import functools
import math
import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from itsdangerous import BadData, URLSafeTimedSerializer

from models import Plan, User
from models.security import password_problem, verify_password

from . import accounts, second_factor
from .throttle import Throttle

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."


def new_throttles() -> dict[str, Throttle]:
    """Each app's own (a fresh app, fresh counts):
    - pair, address: sign-in failures for one account from one address (5 free) and from one
      address over any accounts (20 free); each further one doubles the wait, up to 15 minutes;
    - signup: sign-ups and confirmation mails from one address: 3 free, then a minute,
      doubling, up to a day;
    - reset: password reset mails, per address and per email: 5 free, then a minute,
      doubling, up to an hour."""
    return {"pair": Throttle(free=5), "address": Throttle(free=20),
            "signup": Throttle(free=3, base=60.0, cap=86400.0, forget_after=86400.0),
            "reset": Throttle(free=5, base=60.0, cap=3600.0, forget_after=3600.0)}


def throttles() -> dict[str, Throttle]:
    return current_app.extensions["throttles"]


class Account(UserMixin):
    """The signed-in user as flask-login sees it; `user` is the database row. The session holds
    the user's id and session epoch: raising the epoch ends every session of the user."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = f"{user.id}.{user.session_epoch}"

    @property
    def is_active(self) -> bool:
        return self.user.active

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin


@login_manager.user_loader
def load_account(session_id: str):
    uid, _, epoch = session_id.partition(".")
    if not (uid.isdigit() and epoch.isdigit()):
        return None
    user = User.get_or_none(User.id == int(uid))
    if user is None or user.session_epoch != int(epoch) or not user.active:
        return None  # signed out everywhere, password changed, or suspended
    return Account(user)


def admin_required(view):
    """Operator pages: signed-out users go to sign-in, customers get 403."""

    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def local_target(target: str) -> str | None:
    """`target` if it is a path on this site, else None. Browsers drop tabs and newlines and
    read a backslash as a slash, so `/\t/evil.example` would leave the site."""
    if (not target.startswith("/") or target.startswith("//")
            or any(c in target for c in "\\\t\r\n") or not target.isprintable()):
        return None
    parts = urlsplit(target)
    return target if not (parts.scheme or parts.netloc) else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        password = request.form.get("password", "")
        pair, address = (email, request.remote_addr), request.remote_addr
        t = throttles()
        wait = max(t["pair"].wait(pair), t["address"].wait(address))
        if wait > 0:
            flash(f"Too many failed sign-ins from here: try again in {math.ceil(wait)} s.",
                  "error")
            return render_template("auth/login.html", email=email), 429
        user = User.get_or_none(User.email == email)
        # Verified even for an unknown email, so both take as long.
        if verify_password(user.password_hash if user else None, password):
            if not user.active:
                flash("This account is suspended. Contact the operator.", "error")
                return render_template("auth/login.html", email=email), 403
            t["pair"].succeeded(pair)
            target = local_target(request.args.get("next", "")) or url_for("dashboard.index")
            if user.totp_secret:  # the password is half: a code from the app completes it
                session[SECOND_STEP] = {"u": user.id, "e": user.session_epoch, "n": target,
                                        "at": time.time()}
                return redirect(url_for("auth.code"))
            login_user(Account(user))
            return redirect(target)
        t["pair"].failed(pair)
        t["address"].failed(address)
        flash("Wrong email or password.", "error")
        return render_template("auth/login.html", email=email), 401
    return render_template("auth/login.html")


SECOND_STEP = "second_step"  # a sign-in whose password was right, waiting for its code
SECOND_STEP_TTL = 300.0


@bp.route("/login/code", methods=["GET", "POST"])
def code():
    pending = session.get(SECOND_STEP)
    user = User.get_or_none(User.id == pending["u"]) if pending else None
    if (user is None or user.session_epoch != pending["e"] or not user.active
            or time.time() - pending["at"] > SECOND_STEP_TTL):
        session.pop(SECOND_STEP, None)
        flash("Sign in again: the sign-in waited too long for its code.", "error")
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render_template("auth/code.html")
    pair, t = (user.email, request.remote_addr), throttles()
    if (wait := t["pair"].wait(pair)) > 0:
        flash(f"Too many wrong codes: try again in {math.ceil(wait)} s.", "error")
        return render_template("auth/code.html"), 429
    if not second_factor.accept(user, request.form.get("code", "")):
        t["pair"].failed(pair)
        flash("Wrong code, or one used already: type the code your app shows now.", "error")
        return render_template("auth/code.html"), 401
    t["pair"].succeeded(pair)
    session.pop(SECOND_STEP, None)
    login_user(Account(user))
    return redirect(pending["n"])


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    current_user.user.end_sessions()  # every session of this user, not only this browser's
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))


VERIFY_MAX_AGE = 3 * 86400  # seconds a confirmation link stays valid


def _verifier() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="verify-email")


def mail_base() -> str:
    """Where links in mail point: PUBLIC_URL, else the gateway's own listen address, never the
    request's Host (anyone may send any Host, and the mail would carry their address)."""
    cfg = current_app.config["GATEWAY"]
    if cfg.public_url:
        return cfg.public_url
    host = "localhost" if cfg.host in ("0.0.0.0", "::", "") else cfg.host
    return f"http://{'[' + host + ']' if ':' in host else host}:{cfg.port}"


def send_verification(user: User) -> None:
    token = _verifier().dumps({"u": user.id, "e": user.email})
    link = f"{mail_base()}{url_for('auth.verify', token=token)}"
    current_app.extensions["mailer"].send(
        user.email, "Confirm your llm-gateway account",
        f"Confirm your email address to start using your API keys:\n\n{link}\n\n"
        f"The link works for {VERIFY_MAX_AGE // 86400} days. If you did not sign up, ignore "
        "this mail.")


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if not current_app.config["SIGNUP_ENABLED"]:
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    if request.method == "GET":
        return render_template("auth/signup.html", plan=_signup_plan())
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    try:
        email = accounts.valid_email(email)
    except accounts.Invalid:
        flash("Enter a valid email address.", "error")
        return render_template("auth/signup.html", email=email, plan=_signup_plan()), 400
    if problem := password_problem(password):
        flash(f"Choose another password: {problem}.", "error")
        return render_template("auth/signup.html", email=email, plan=_signup_plan()), 400
    if (wait := throttles()["signup"].wait(request.remote_addr)) > 0:
        flash(f"Too many sign-ups from here: try again in {math.ceil(wait / 60)} min.", "error")
        return render_template("auth/signup.html", email=email, plan=_signup_plan()), 429
    throttles()["signup"].failed(request.remote_addr)
    try:
        user, _ = accounts.create_user(email, _signup_plan(), password=password, verified=False)
    except accounts.Invalid:  # taken: told by mail, not here (the page must not tell who has one)
        current_app.extensions["mailer"].send(
            email, "Your llm-gateway account",
            "Someone (you?) tried to sign up with this address, which has an account "
            "already. Sign in instead; if you did not ask, ignore this mail.")
    else:
        send_verification(user)
    return render_template("auth/check_mail.html", email=email), 202


def _signup_plan() -> Plan:
    plan = Plan.get_or_none(Plan.name == current_app.config["SIGNUP_PLAN"])
    if plan is None:
        abort(404)  # misconfigured: no sign-ups rather than an unknown plan
    return plan


@bp.route("/verify/<token>")
def verify(token: str):
    try:
        data = _verifier().loads(token, max_age=VERIFY_MAX_AGE)
    except BadData:
        flash("This confirmation link is invalid or has expired. Sign in to get a new one.",
              "error")
        return redirect(url_for("auth.login"))
    user = User.get_or_none(User.id == data.get("u"), User.email == data.get("e"))
    if user is not None:
        accounts.confirm_email(user)
    flash("Your email address is confirmed: your API keys work now.", "info")
    return redirect(url_for("dashboard.index"))


@bp.route("/verify", methods=["POST"])
@login_required
def resend_verification():
    user = current_user.user
    if user.email_verified_at is None:
        if (wait := throttles()["signup"].wait(request.remote_addr)) > 0:
            flash(f"Please wait {math.ceil(wait / 60)} min before asking again.", "error")
        else:
            throttles()["signup"].failed(request.remote_addr)
            send_verification(user)
            flash(f"We sent a new confirmation link to {user.email}.", "info")
    return redirect(url_for("dashboard.index"))
