"""`python -m admin` commands for selling: the operator's sell prices, credit granted and read,
the margin guard. Registered beside the others (cli.py), through the same services as the UI."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from models import changes, utcnow
from models.month import month_key
from models.selling import FIELDS, usd_text

from . import accounts, margins, selling
from .cli import _refusals


@click.command("set-sell-price")
@click.argument("model")
@click.option("--plan", "plan_name", help="for one plan (default: every plan)")
@click.option("--input", "input_", metavar="USD", help="per million input tokens")
@click.option("--output", metavar="USD", help="per million output tokens")
@click.option("--cache-read", metavar="USD", help="per million cached input tokens read")
@click.option("--cache-write", metavar="USD", help="per million input tokens written to cache")
@click.option("--cache-write-1h", metavar="USD", help="per million, one-hour cache writes")
@with_appcontext
def set_sell_price(model, plan_name, input_, output, cache_read, cache_write, cache_write_1h):
    """Sell MODEL at the operator's own prices (USD per million tokens); the fields left out
    take the plan's markup. No price at all removes the model's own prices."""
    given = dict(zip(FIELDS, (input_, output, cache_read, cache_write, cache_write_1h)))
    with _refusals():
        plan = accounts.find_plan(plan_name) if plan_name else None
        row = selling.set_sell_price(model, plan, given)
    scope = plan.name if plan else "every plan"
    shown = {k: f"{usd_text(v)} per million tokens" for k, v in row.prices().items()} \
        if row.id else {}
    click.echo(f"{row.model} on {scope}: " + (json.dumps(shown) if shown else "the markup"))


@click.command("grant-credits")
@click.argument("email")
@click.argument("usd")
@click.option("--reason", required=True, help="shown to the customer with the grant")
@with_appcontext
def grant_credits(email, usd, reason):
    """Give a customer USD of credit (negative: take it back)."""
    with _refusals():
        user = accounts.find_user(email)
        movement = selling.grant(user, usd, reason, actor="cli")
    click.echo(f"{usd_text(movement.amount_nanousd)} USD of credit to {user.email}: "
               f"{movement.reason}")


@click.command("credits")
@click.argument("email")
@with_appcontext
def credits(email):
    """A customer's credit: balance, reserved, auto top-up and movements, as JSON."""
    with _refusals():
        user = accounts.find_user(email)
    held = changes.held_credit(current_app.config["GATEWAY"].redis_url, user.id,
                               month_key(utcnow()))
    click.echo(json.dumps(selling.ledger(user, held), indent=2))


@click.command("margin")
@click.option("--month", help="YYYY-MM (default: this month, UTC)")
@with_appcontext
def margin(month):
    """Revenue, charges, upstream cost and margin, and the margin guard's warnings, as
    JSON."""
    click.echo(json.dumps(margins.report(month), indent=2, default=str))


COMMANDS = (set_sell_price, grant_credits, credits, margin)
