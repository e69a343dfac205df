"""The customer's home: plan, limits, this month's usage; and the quick start."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from models.statement import statement

from .current import NO_ROLE, me, role
from .queries import month_bounds, month_usage, requests_today

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@login_required
def index():
    if current_user.is_admin:  # the business's overview, not a customer's dashboard
        return redirect(url_for("overview.index"))
    if role() == NO_ROLE:
        return render_template("dashboard/no_account.html"), 403
    user = me()
    plan = user.plan
    usage = month_usage(user)
    _, reset = month_bounds()
    st = statement(user)
    quota = st["allowance"]["tokens"]
    percent = min(100.0, 100.0 * st["allowance"]["used"] / quota) if quota else 0.0
    return render_template("dashboard/index.html", user=user, plan=plan, usage=usage, st=st,
                           reset=reset, percent=percent, today=requests_today(user),
                           allowance=quota)


def base_url() -> str:
    """The gateway's address as the browser reached it."""
    return request.host_url.rstrip("/")


@bp.route("/quickstart")
@login_required
def quickstart():
    return render_template("dashboard/quickstart.html", base=base_url())


@bp.app_context_processor
def plan_price():
    def price(plan, custom_cents: int | None = None) -> str:
        """A plan's monthly price; a custom-priced plan at the customer's own price if set."""
        if plan.price_cents is None:
            return "custom price" if custom_cents is None else f"${custom_cents / 100:,.2f}/mo"
        return "free" if plan.price_cents == 0 else f"${plan.price_cents / 100:,.2f}/mo"
    return {"plan_price": price, "signup_enabled": current_app.config["SIGNUP_ENABLED"]}
