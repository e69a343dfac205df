"""The customer's price list: each model on their plan with what a token costs them and what it
counts against their allowance (models/pricelist.py): the same figures `GET /v1/models` gives."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, render_template

from models.pricelist import price_list

from .current import IN_ACCOUNT, me, roles_required

bp = Blueprint("pricing", __name__, url_prefix="/pricing")


@bp.route("")
@roles_required(*IN_ACCOUNT)
def index():
    user = me()
    return render_template("pricing/index.html", plan=user.plan, models=price_list(user.plan))


@bp.app_template_filter("per_million")
def per_million(per_token: str) -> str:
    """USD per token (a decimal string) as dollars per million tokens, exact."""
    return f"${(Decimal(per_token) * 1_000_000).normalize():,f}"



@bp.app_template_filter("percent_bp")
def percent_bp(bp_: int) -> str:
    """Basis points as a percentage, as an operator types it ("25", "12.5")."""
    return f"{Decimal(int(bp_)).scaleb(-2).normalize():f}"


@bp.app_template_filter("nanos_plain")
def nanos_plain(nanos) -> str:
    """Nano-dollars as a plain decimal amount of dollars ("5", "0.15"), for a form field."""
    return f"{Decimal(int(nanos)).scaleb(-9).normalize():f}"
