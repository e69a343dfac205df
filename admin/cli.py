"""`python -m admin <command>`: users, keys, plans and usage from the command line.

Module-level click commands, registered on the app by `register`; changes go through the same
service layer as the web UI (accounts.py). Errors (unknown email, unknown plan...) exit
non-zero with one line on stderr.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from peewee import fn

from models import ApiKey, DeadLetter, ModelPrice, Plan, UsageRecord, User
from models.catalog import CATALOG_FILE, catalog_name, load_catalog
from models.seed import seed

from . import accounts, key_limits, payments
from .queries import month_bounds, month_usage


def _read_password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


@contextmanager
def _refusals():
    """A refused change exits non-zero with its reason on one line."""
    try:
        yield
    except accounts.Invalid as e:
        raise click.ClickException(str(e)) from None


class TokenLimit(click.ParamType):
    name = "N|unlimited"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value is None:
            return value
        if str(value).lower() == "unlimited":
            return "unlimited"
        try:
            n = int(value)
        except ValueError:
            self.fail(f"{value!r} is neither a number nor 'unlimited'", param, ctx)
        if n < 0:
            self.fail("must not be negative", param, ctx)
        return n


plan_options = [
    click.option("--rpm", type=click.IntRange(min=1), help="requests per minute"),
    click.option("--monthly-tokens", type=TokenLimit(), help="tokens a month, or 'unlimited'"),
    click.option("--price-cents", type=click.IntRange(min=0), help="monthly price in cents"),
    click.option("--description", help="shown to customers"),
    click.option("--models", help="comma-separated models the plan may use ('' for all)"),
    click.option("--public/--private", default=None,
                 help="offered to customers (sign-up, billing), or given by the operator only"),
    click.option("--markup", metavar="PCT",
                 help="sell prices: the catalog's cost plus PCT percent (default 25)"),
    click.option("--allowance", type=click.Choice(["raw", "weighted"]),
                 help="count raw tokens, or tokens weighted by each model's sell price"),
    click.option("--reference", metavar="USD",
                 help="weighted: the sell price of a million counted tokens (default 5)"),
    click.option("--in-flight", type=TokenLimit(),
                 help="calls a customer may have in flight at once, or 'unlimited'"),
]


def with_plan_options(f):
    for option in reversed(plan_options):
        f = option(f)
    return f


def _plan_fields(rpm, monthly_tokens, price_cents, description, models, public, markup,
                 allowance, reference, in_flight) -> dict:
    """The options given (the others stay as they are); 'unlimited' is None."""
    fields = {"rpm": rpm, "price_cents": price_cents, "description": description,
              "monthly_tokens": monthly_tokens, "public": public, "markup": markup,
              "allowance": allowance, "reference": reference, "in_flight": in_flight,
              "models": None if models is None else models.split(",")}
    fields = {k: v for k, v in fields.items() if v is not None}
    for name in ("monthly_tokens", "in_flight"):
        if fields.get(name) == "unlimited":
            fields[name] = None
    return fields


@click.command("init-db")
@with_appcontext
def init_db():
    """Create the tables and seed plans, demo users and prices (first run only)."""
    cfg = current_app.config["GATEWAY"]
    created = seed(cfg.admin_password)
    for email, password in created.items():
        shown = "(from ADMIN_PASSWORD)" if password == cfg.admin_password else password
        click.echo(f"created {email} with password {shown}")
    if not created:
        click.echo("database ready")


@click.command("create-user")
@click.argument("email")
@click.option("--plan", "plan_name", required=True)
@click.option("--role", type=click.Choice(accounts.ROLES), default="user")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin")
@with_appcontext
def create_user(email, plan_name, role, password_stdin):
    """Create a user; prints a generated password unless --password-stdin."""
    with _refusals():
        user, password = accounts.create_user(
            email, accounts.find_plan(plan_name), role=role,
            password=_read_password() if password_stdin else None)
    click.echo(f"created {user.email}" + ("" if password_stdin else f" with password {password}"))


@click.command("set-password")
@click.argument("email")
@with_appcontext
def set_password(email):
    """Set a user's password, read from stdin (ends the user's sessions)."""
    with _refusals():
        user = accounts.find_user(email)
        accounts.set_password(user, _read_password())
    click.echo(f"password set for {user.email}")


def _limit_options(command):
    """The key's own limits, as `create-key` and `set-key-limits` take them."""
    for option in reversed((
            click.option("--rpm", default="", help="requests per minute"),
            click.option("--monthly-usd", default="", help="monthly spend cap in USD"),
            click.option("--models", default="", help="the models it may call, a,b"),
            click.option("--expires", default="", help="last day it works, YYYY-MM-DD (UTC)"),
            click.option("--allow-cidr", multiple=True,
                         help="a client network it may be used from (repeatable)"))):
        command = option(command)
    return command


def _limits(user, rpm, monthly_usd, models, expires, allow_cidr) -> dict:
    # The operator's: not held to the plan (which applies all the same).
    return key_limits.parse(user.plan, rpm=rpm, monthly_usd=monthly_usd, models=models,
                            expires=expires, cidrs=list(allow_cidr), within_plan=False)


@click.command("reset-2fa")
@click.argument("email")
@with_appcontext
def reset_2fa(email):
    """Turn off a user's second factor (a lost phone); their sessions end."""
    with _refusals():
        user = accounts.find_user(email)
        accounts.set_second_factor(user, "", 0)
    click.echo(f"second factor off for {user.email}")


@click.command("create-key")
@click.argument("email")
@click.option("--name", default="", help="a label for the key")
@_limit_options
@with_appcontext
def create_key(email, name, rpm, monthly_usd, models, expires, allow_cidr):
    """Create an API key; prints the key alone on stdout (shown only this once)."""
    with _refusals():
        user = accounts.find_user(email)
        limits = _limits(user, rpm, monthly_usd, models, expires, allow_cidr)
        secret, _ = accounts.issue_key(user, name, limits)
    click.echo(secret)


@click.command("set-key-limits")
@click.argument("prefix")
@_limit_options
@with_appcontext
def set_key_limits(prefix, rpm, monthly_usd, models, expires, allow_cidr):
    """Replace the own limits of the key whose displayed prefix is PREFIX (none given: none)."""
    with _refusals():
        key = accounts.find_key(prefix)
        accounts.set_key_limits(key, _limits(key.user, rpm, monthly_usd, models, expires,
                                             allow_cidr))
    click.echo(f"limits set for {key.prefix}")


@click.command("revoke-key")
@click.argument("prefix")
@with_appcontext
def revoke_key(prefix):
    """Revoke the key whose displayed prefix is PREFIX."""
    with _refusals():
        key = accounts.find_key(prefix)
        accounts.revoke_key(key)
    click.echo(f"revoked {key.prefix} of {key.user.email}")


@click.command("set-plan")
@click.argument("email")
@click.argument("plan_name")
@with_appcontext
def set_plan(email, plan_name):
    """Move a customer to another plan."""
    with _refusals():
        user = accounts.find_user(email)
        accounts.set_plan(user, accounts.find_plan(plan_name))
    click.echo(f"{user.email} is now on {user.plan.name}")


@click.command("set-active")
@click.argument("email")
@click.option("--active/--suspended", default=True)
@with_appcontext
def set_active(email, active):
    """Suspend or reactivate a customer (their keys stop or resume working)."""
    with _refusals():
        user = accounts.find_user(email)
        accounts.set_active(user, active)
    click.echo(f"{user.email} is {'active' if active else 'suspended'}")


@click.command("list-users")
@with_appcontext
def list_users():
    """Users with role, plan, status and key count."""
    keys = dict(ApiKey.select(ApiKey.user, fn.COUNT(ApiKey.id))
                .where(ApiKey.revoked_at.is_null()).group_by(ApiKey.user).tuples())
    for u in User.select(User, Plan).join(Plan).order_by(User.id):
        status = "active" if u.active else "suspended"
        click.echo(f"{u.email}\t{u.role}\t{u.plan.name}\t{status}\t{keys.get(u.id, 0)} keys")


@click.command("create-plan")
@click.argument("name")
@with_plan_options
@with_appcontext
def create_plan(name, rpm, monthly_tokens, price_cents, description, models, public, markup,
                allowance, reference, in_flight):
    """Create a plan (for example a custom Enterprise deal)."""
    if rpm is None or monthly_tokens is None:
        raise click.ClickException("create-plan needs --rpm and --monthly-tokens")
    with _refusals():
        plan = accounts.save_plan(None, name=name, **_plan_fields(
            rpm, monthly_tokens, price_cents, description, models, public, markup, allowance,
            reference, in_flight))
    click.echo(f"created plan {plan.name}")


@click.command("edit-plan")
@click.argument("name")
@with_plan_options
@with_appcontext
def edit_plan(name, rpm, monthly_tokens, price_cents, description, models, public, markup,
              allowance, reference, in_flight):
    """Change a plan's limits, price, models or sell terms; takes effect within seconds."""
    with _refusals():
        plan = accounts.save_plan(accounts.find_plan(name), **_plan_fields(
            rpm, monthly_tokens, price_cents, description, models, public, markup, allowance,
            reference, in_flight))
    click.echo(f"updated plan {plan.name}")


@click.command("usage")
@click.argument("email")
@click.option("--month", help="YYYY-MM (default: this month, UTC)")
@with_appcontext
def usage(email, month):
    """A customer's usage for a month, as JSON."""
    if month:
        try:
            month_bounds(month)
        except ValueError:
            raise click.ClickException(f"--month must be YYYY-MM, not {month}") from None
    with _refusals():
        user = accounts.find_user(email)
    click.echo(json.dumps({"email": user.email, "plan": user.plan.name,
                           **month_usage(user, month)}, indent=2))


@click.command("load-prices")
@click.argument("path", type=click.Path(exists=True, dir_okay=False), required=False)
@with_appcontext
def load_prices(path):
    """Load a newer price file (models/prices.json's format): new models and tool fees are
    added, present ones take the file's prices."""
    try:
        counts = load_catalog(Path(path) if path else CATALOG_FILE, update=True)
    except (ValueError, KeyError, TypeError, ArithmeticError) as e:
        raise click.ClickException(f"not a price file: {e!r}") from None
    click.echo(", ".join(f"{n} {what}" for what, n in counts.items()))


@click.command("unpriced-models")
@with_appcontext
def unpriced_models():
    """Models that were used but are missing from the price catalog."""
    known = {m.model for m in ModelPrice.select(ModelPrice.model)}
    rows = (UsageRecord.select(UsageRecord.model, UsageRecord.provider,
                               fn.COUNT(UsageRecord.id), fn.SUM(UsageRecord.total_tokens))
            .where(UsageRecord.priced == False, UsageRecord.model != "")  # noqa: E712
            .group_by(UsageRecord.model, UsageRecord.provider).tuples())
    for model, provider, n, tokens in rows:
        if catalog_name(model, known) is None:
            click.echo(f"{model}\t{provider}\t{n} requests\t{int(tokens or 0)} tokens")


@click.command("dead-letters")
@with_appcontext
def dead_letters():
    """Usage records the database refused, set aside by the writer: one JSON line each."""
    for letter in DeadLetter.select().order_by(DeadLetter.id):
        click.echo(json.dumps({"id": letter.id, "created_at": str(letter.created_at),
                               "user_id": letter.user_id, "total_tokens": letter.total_tokens,
                               "error": letter.error, "record": json.loads(letter.record)}))


@click.command("upstreams")
@click.option("--enable", "enable", metavar="NAME", help="Put a disabled key back in service "
              "(provider:name where two providers share the name).")
@with_appcontext
def upstreams(enable):
    """The provider keys: name, fingerprint, state and last hour, as JSON."""
    from models import keyring

    from . import upstreams as provider_keys

    env = current_app.config["GATEWAY"].env
    try:
        if enable:
            spec = provider_keys.find(env, enable)
            if spec is None:
                raise click.ClickException(f"no provider key named {enable}")
            provider_keys.enable(spec)
            click.echo(f"{spec.provider} key {spec.name} is back in service", err=True)
        click.echo(json.dumps(provider_keys.key_rows(env), indent=2))
    except keyring.KeyFileError as e:
        raise click.ClickException(str(e)) from None


def _payments():
    found = current_app.extensions.get("payments")
    if found is None:
        raise click.ClickException("billing is off: set STRIPE_SECRET_KEY (see the README)")
    return found


@click.command("stripe-sync")
@with_appcontext
def stripe_sync():
    """A Stripe product and monthly price for every paid plan (idempotent)."""
    for line in _payments().sync_plans():
        click.echo(line)


@click.command("billing")
@click.argument("email")
@with_appcontext
def billing(email):
    """A customer's plan, subscription and invoices, as JSON."""
    with _refusals():
        user = accounts.find_user(email)
    click.echo(json.dumps(payments.summary(user), indent=2))


@click.command("billing-clock")
@with_appcontext
def billing_clock():
    """Apply what is due: lapsed grace periods, downgrades at the end of a period."""
    click.echo(f"{payments.BillingClock(_payments()).tick()} subscriptions changed")


COMMANDS = (init_db, create_user, set_password, reset_2fa, create_key, set_key_limits, revoke_key,
            set_plan, set_active, list_users, create_plan, edit_plan, usage, load_prices,
            unpriced_models, dead_letters, stripe_sync, billing, billing_clock, upstreams)


def register(app: Flask) -> None:
    from .selling_cli import COMMANDS as SELLING

    for command in COMMANDS + SELLING:
        app.cli.add_command(command)
