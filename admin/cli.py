"""`python -m admin <command>`: users, keys, plans and usage from the command line.

Errors (unknown email, unknown plan...) exit non-zero with one line on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask
from peewee import IntegrityError, fn

from models import ApiKey, ModelPrice, Plan, UsageRecord, User
from models.catalog import CATALOG_FILE, catalog_name, load_catalog
from models.security import hash_password, new_password, password_problem
from models.seed import seed

from .queries import month_bounds, month_usage


def _user(email: str) -> User:
    user = User.get_or_none(User.email == email.strip().lower())
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    return user


def _plan(name: str) -> Plan:
    plan = Plan.get_or_none(fn.LOWER(Plan.name) == name.strip().lower())
    if plan is None:
        names = ", ".join(p.name for p in Plan.select().order_by(Plan.id))
        raise click.ClickException(f"no plan named {name} (plans: {names})")
    return plan


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if problem := password_problem(password):
        raise click.ClickException(problem)
    return password


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
]


def with_plan_options(f):
    for option in reversed(plan_options):
        f = option(f)
    return f


def _apply_plan(plan: Plan, rpm, monthly_tokens, price_cents, description, models) -> None:
    if rpm is not None:
        plan.requests_per_minute = rpm
    if monthly_tokens is not None:
        plan.monthly_tokens = None if monthly_tokens == "unlimited" else monthly_tokens
    if price_cents is not None:
        plan.price_cents = price_cents
    if description is not None:
        plan.description = description
    if models is not None:
        plan.model_list = [m.strip() for m in models.split(",") if m.strip()]


def register(app: Flask) -> None:
    cli = app.cli

    @cli.command("init-db")
    def init_db():
        """Create the tables and seed plans, demo users and prices (first run only)."""
        cfg = app.config["GATEWAY"]
        created = seed(cfg.admin_password)
        for email, password in created.items():
            shown = "(from ADMIN_PASSWORD)" if password == cfg.admin_password else password
            click.echo(f"created {email} with password {shown}")
        if not created:
            click.echo("database ready")

    @cli.command("create-user")
    @click.argument("email")
    @click.option("--plan", "plan_name", required=True)
    @click.option("--role", type=click.Choice(["admin", "user"]), default="user")
    @click.option("--password-stdin", is_flag=True, help="read the password from stdin")
    def create_user(email, plan_name, role, password_stdin):
        """Create a user; prints a generated password unless --password-stdin."""
        plan = _plan(plan_name)
        password = _read_password() if password_stdin else new_password()
        try:
            User.create(email=email.strip().lower(), plan=plan, role=role,
                        password_hash=hash_password(password))
        except IntegrityError:
            raise click.ClickException(f"a user with email {email} exists") from None
        click.echo(f"created {email}" + ("" if password_stdin else f" with password {password}"))

    @cli.command("set-password")
    @click.argument("email")
    def set_password(email):
        """Set a user's password, read from stdin."""
        user = _user(email)
        user.set_password(_read_password())  # ends the user's sessions
        user.save()
        click.echo(f"password set for {user.email}")

    @cli.command("create-key")
    @click.argument("email")
    @click.option("--name", default="", help="a label for the key")
    def create_key_cmd(email, name):
        """Create an API key; prints the key alone on stdout (shown only this once)."""
        secret, _ = ApiKey.issue(_user(email), name)
        click.echo(secret)

    @cli.command("revoke-key")
    @click.argument("prefix")
    def revoke_key(prefix):
        """Revoke the key whose displayed prefix is PREFIX."""
        key = ApiKey.get_or_none(ApiKey.prefix == prefix.strip())
        if key is None:
            raise click.ClickException(f"no key with prefix {prefix}")
        key.revoke()
        click.echo(f"revoked {key.prefix} of {key.user.email}")

    @cli.command("set-plan")
    @click.argument("email")
    @click.argument("plan_name")
    def set_plan(email, plan_name):
        """Move a customer to another plan."""
        user = _user(email)
        user.plan = _plan(plan_name)
        user.save()
        click.echo(f"{user.email} is now on {user.plan.name}")

    @cli.command("set-active")
    @click.argument("email")
    @click.option("--active/--suspended", default=True)
    def set_active(email, active):
        """Suspend or reactivate a customer (their keys stop or resume working)."""
        user = _user(email)
        user.active = active
        user.save()
        if not active:
            user.end_sessions()
        click.echo(f"{user.email} is {'active' if active else 'suspended'}")

    @cli.command("list-users")
    def list_users():
        """Users with role, plan, status and key count."""
        keys = dict(ApiKey.select(ApiKey.user, fn.COUNT(ApiKey.id))
                    .where(ApiKey.revoked_at.is_null()).group_by(ApiKey.user).tuples())
        for u in User.select(User, Plan).join(Plan).order_by(User.id):
            status = "active" if u.active else "suspended"
            click.echo(f"{u.email}\t{u.role}\t{u.plan.name}\t{status}\t{keys.get(u.id, 0)} keys")

    @cli.command("create-plan")
    @click.argument("name")
    @with_plan_options
    def create_plan(name, rpm, monthly_tokens, price_cents, description, models):
        """Create a plan (for example a custom Enterprise deal)."""
        if rpm is None or monthly_tokens is None:
            raise click.ClickException("create-plan needs --rpm and --monthly-tokens")
        if Plan.get_or_none(fn.LOWER(Plan.name) == name.lower()):
            raise click.ClickException(f"a plan named {name} exists")
        plan = Plan(name=name, requests_per_minute=rpm, monthly_tokens=None,
                    price_cents=price_cents)
        _apply_plan(plan, rpm, monthly_tokens, price_cents, description, models)
        plan.save()
        click.echo(f"created plan {plan.name}")

    @cli.command("edit-plan")
    @click.argument("name")
    @with_plan_options
    def edit_plan(name, rpm, monthly_tokens, price_cents, description, models):
        """Change a plan's limits, price or models; takes effect within seconds."""
        plan = _plan(name)
        _apply_plan(plan, rpm, monthly_tokens, price_cents, description, models)
        plan.save()
        click.echo(f"updated plan {plan.name}")

    @cli.command("usage")
    @click.argument("email")
    @click.option("--month", help="YYYY-MM (default: this month, UTC)")
    def usage(email, month):
        """A customer's usage for a month, as JSON."""
        if month:
            try:
                month_bounds(month)
            except ValueError:
                raise click.ClickException(f"--month must be YYYY-MM, not {month}") from None
        user = _user(email)
        click.echo(json.dumps({"email": user.email, "plan": user.plan.name,
                               **month_usage(user, month)}, indent=2))

    @cli.command("load-prices")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False), required=False)
    def load_prices(path):
        """Load a newer price file (models/prices.json's format): new models and tool fees are
        added, present ones take the file's prices."""
        try:
            counts = load_catalog(Path(path) if path else CATALOG_FILE, update=True)
        except (ValueError, KeyError, TypeError, ArithmeticError) as e:
            raise click.ClickException(f"not a price file: {e!r}") from None
        click.echo(", ".join(f"{n} {what}" for what, n in counts.items()))

    @cli.command("unpriced-models")
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
