"""The account changes the command line and the web UI both make (users, passwords, plans,
keys): checked once, here, and announced to the gateway.

Each function raises `Invalid` with a message for a person (the CLI prints it, the UI flashes
it). `announce()` tells the gateway serving this app at once (its key cache drops what it
holds), and with REDIS_URL every gateway process; without it, a gateway in another process sees
the change when its cache entry expires (KEY_CACHE_TTL).
"""

from __future__ import annotations

import re
from decimal import Decimal

from flask import current_app, has_app_context
from peewee import IntegrityError, fn

from models import ApiKey, Plan, User, changes, members, selling, utcnow
from models.base import write_transaction
from models.security import hash_password, new_password, password_problem

from . import values

ROLES = ("user", "admin")
UNSET = object()  # a plan field left as it is (None means "unlimited" or "custom price")


Invalid = values.Invalid  # a change refused, with the reason for the person who asked


def announce() -> None:
    """Keys, users or plans changed: the in-process gateway stops trusting what it cached, and
    with Redis every other gateway process too (models/changes.py)."""
    if not has_app_context():
        return
    on_change = current_app.extensions.get("on_change")
    if on_change is not None:
        on_change()
    changes.publish(current_app.config["GATEWAY"].redis_url)


# --- Users --------------------------------------------------------------------------------------


# One address: a local part and a domain with a dot, nothing a mail header would read as a
# list of addresses or a display name (commas, semicolons, angle brackets, quotes, spaces).
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


def valid_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise Invalid("enter a valid email address")
    return email


def valid_password(password: str) -> str:
    if problem := password_problem(password):
        raise Invalid(problem)
    return password


def find_user(email: str) -> User:
    user = User.get_or_none(User.email == (email or "").strip().lower())
    if user is None:
        raise Invalid(f"no user with email {email}")
    return user


def create_user(email: str, plan: Plan, *, role: str = "user", password: str | None = None,
                verified: bool = True) -> tuple[User, str]:
    """A new user; with no password, a generated one. Returns the user and the password.
    `verified=False`: a self-service sign-up, whose keys work once the address is confirmed."""
    email = valid_email(email)
    if role not in ROLES:
        raise Invalid(f"the role must be one of {', '.join(ROLES)}")
    password = new_password() if password is None else valid_password(password)
    hashed = hash_password(password)  # before the check: the same time for a taken address
    try:
        with write_transaction():
            user = User.create(email=email, plan=plan, role=role, password_hash=hashed,
                               email_verified_at=utcnow() if verified else None)
            members.open_account(user)
    except IntegrityError:
        raise Invalid(f"{email} already has an account") from None
    return user, password


def set_password(user: User, password: str | None = None) -> str:
    """A new password (generated when None); every session of the user ends."""
    password = new_password() if password is None else valid_password(password)
    user.set_password(password)
    user.save()
    return password


def set_second_factor(user: User, secret: str, step: int) -> None:
    """Turn the TOTP second factor on (a confirmed secret, the step its first code was at) or
    off (""); the user's other sessions end either way."""
    user.totp_secret, user.totp_last_step = secret, step
    user.session_epoch += 1
    user.save()


def set_plan(user: User, plan: Plan) -> None:
    """The operator's choice: the plan's whole allowance this month, whatever it was."""
    user.change_plan(plan, prorate=False)
    user.save()
    announce()


def set_active(user: User, active: bool) -> None:
    """Suspend (keys stop working, sessions end) or reactivate a customer."""
    user.active = active
    user.save()
    if not active:
        user.end_sessions()
    announce()


def confirm_email(user: User) -> None:
    if user.email_verified_at is None:
        User.update(email_verified_at=utcnow()).where(User.id == user.id).execute()
        announce()


# --- Plans --------------------------------------------------------------------------------------


def find_plan(name: str) -> Plan:
    plan = Plan.get_or_none(fn.LOWER(Plan.name) == (name or "").strip().lower())
    if plan is None:
        names = ", ".join(p.name for p in Plan.select().order_by(Plan.id))
        raise Invalid(f"no plan named {name} (plans: {names})")
    return plan


def save_plan(plan: Plan | None = None, *, name=UNSET, rpm=UNSET, monthly_tokens=UNSET,
              price_cents=UNSET, description=UNSET, models=UNSET, public=UNSET,
              markup=UNSET, allowance=UNSET, reference=UNSET, in_flight=UNSET) -> Plan:
    """Create a plan (`plan` None: name, rpm and monthly_tokens needed) or change the fields
    given. `monthly_tokens` None is unlimited; `price_cents` None is a custom price; `markup`
    a percentage as typed; `allowance` "raw" or "weighted", counted against `reference` (USD
    per million counted tokens as typed; the default when a plan is first weighted);
    `in_flight` the calls a customer may have at once (None: no cap)."""
    creating = plan is None
    if creating:
        if UNSET in (name, rpm, monthly_tokens):
            raise Invalid("a new plan needs a name, requests per minute and monthly tokens")
        plan = Plan(price_cents=None)
    if name is not UNSET:
        plan.name = _plan_name(name, None if creating else plan)
    if rpm is not UNSET:
        plan.requests_per_minute = _count(rpm, "requests per minute", 1, values.INT_MAX)
    if monthly_tokens is not UNSET:  # None: unlimited
        plan.monthly_tokens = None if monthly_tokens is None else _count(
            monthly_tokens, "monthly tokens", 0, values.BIG_MAX)
    if price_cents is not UNSET:  # None: a custom price
        plan.price_cents = None if price_cents is None else _count(
            price_cents, "the price in cents", 0, values.INT_MAX)
    if description is not UNSET:
        plan.description = (description or "").strip()[:500]
    if models is not UNSET:
        plan.model_list = [m.strip() for m in models if m and m.strip()]
    if public is not UNSET:
        plan.public = bool(public)
    if in_flight is not UNSET:  # None: no cap
        plan.max_in_flight = None if in_flight is None else _count(
            in_flight, "calls in flight at once", 1, values.INT_MAX)
    _selling_terms(plan, markup, allowance, reference)
    try:
        plan.save()
    except IntegrityError:
        raise Invalid(f"a plan named {plan.name} exists") from None
    announce()
    return plan


def _selling_terms(plan: Plan, markup, allowance, reference) -> None:
    if markup is not UNSET:
        plan.markup_bp = values.percent(markup)
    if allowance is not UNSET:
        if allowance not in selling.ALLOWANCE_MODES:
            raise Invalid(f"the allowance must be one of {', '.join(selling.ALLOWANCE_MODES)}")
        plan.allowance_mode = allowance
    if reference is not UNSET and reference is not None:
        usd = values.usd(reference, "the reference price", least=Decimal("0.000001"),
                         most=Decimal(10) ** 6, places=6)
        plan.reference_nanousd = selling.nanos_per_mtok(usd)
    if plan.allowance_mode == "weighted" and not plan.reference_nanousd:
        plan.reference_nanousd = selling.DEFAULT_REFERENCE


def _plan_name(name: str | None, plan: Plan | None) -> str:
    """A name of at most 64 characters no other plan has (in any case)."""
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise Invalid("a plan needs a name of at most 64 characters")
    taken = Plan.select().where(fn.LOWER(Plan.name) == name.lower())
    if plan is not None:
        taken = taken.where(Plan.id != plan.id)
    if taken.exists():
        raise Invalid(f"a plan named {name} exists")
    return name


def _count(value, what: str, least: int, most: int) -> int:
    """A whole number within what its column holds."""
    if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
        raise Invalid(f"{what} must be a whole number from {least:,} to {most:,}")
    return value


def save_plan_as_typed(plan: Plan | None, form) -> Plan:
    """The operator's plan form, its values as typed (a mapping with `getlist`, as Flask's
    form is), each checked once, then saved as `save_plan` does."""
    price = (form.get("price") or "").strip().lower()
    return save_plan(
        plan, name=form.get("name", ""),
        rpm=values.whole(form.get("requests_per_minute"), "requests per minute", minimum=1),
        monthly_tokens=values.whole(form.get("monthly_tokens"), "monthly tokens",
                                    unlimited=True),
        price_cents=None if price in ("", "custom") else values.cents(price),
        description=form.get("description", ""), models=form.getlist("models"),
        public=form.get("public") == "1", markup=form.get("markup", "25"),
        allowance=form.get("allowance", "raw"), reference=form.get("reference") or None,
        in_flight=values.whole(form.get("max_in_flight"), "calls in flight at once",
                               minimum=1, unlimited=True))


# --- Keys ---------------------------------------------------------------------------------------


def issue_key(user: User, name: str = "", limits: dict | None = None,
              by: User | None = None) -> tuple[str, ApiKey]:
    """A new key of account `user`, made by member `by` (default: the account's owner), with
    `limits` (key_limits.parse's columns) when given; the secret exists in clear only in what
    this returns."""
    with write_transaction():
        secret, key = ApiKey.issue(user, (name or "").strip()[:64] or "default")
        ApiKey.update(created_by=by or user, **(limits or {})).where(
            ApiKey.id == key.id).execute()
        key = ApiKey.get_by_id(key.id)
    return secret, key


def set_key_limits(key: ApiKey, limits: dict) -> None:
    """Replace a key's own limits; the gateway applies them within seconds."""
    with write_transaction():
        ApiKey.update(**limits).where(ApiKey.id == key.id).execute()
    announce()


def find_key(prefix: str) -> ApiKey:
    key = ApiKey.get_or_none(ApiKey.prefix == (prefix or "").strip())
    if key is None:
        raise Invalid(f"no key with prefix {prefix}")
    return key


def revoke_key(key: ApiKey) -> None:
    with write_transaction():
        key.revoke()
    announce()
