"""The operator's landing page: requests, tokens, charges, upstream cost, margin, errors and
refusals over the last 48 hours (by hour) or 30 or 90 days (by day), the top customers and
models, and the upstream keys' state; each a chart with its table."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from models import keyring, usd

from . import insights
from . import upstreams as provider_keys
from .auth import admin_required

bp = Blueprint("overview", __name__, url_prefix="/ops/overview")


def _usd(nanos: int) -> str:
    return f"{usd(nanos):f}"


def chart_data(rows: list[dict], period: str) -> dict:
    """What the charts draw (app.js): labels and series, money as exact decimal strings."""
    label = "%m-%d %H:00" if period == insights.HOUR else "%m-%d"
    return {
        "labels": [r["start"].strftime(label) for r in rows],
        "requests": [r["requests"] for r in rows],
        "errors": [r["errors"] for r in rows],
        "refusals": [r["refusals"] for r in rows],
        "input": [r["input_tokens"] + r["cache_tokens"] for r in rows],
        "output": [r["output_tokens"] for r in rows],
        "charges": [_usd(r["charge_nanousd"]) for r in rows],
        "cost": [_usd(r["cost_nanousd"]) for r in rows],
        "margin": [_usd(r["charge_nanousd"] - r["cost_nanousd"]) for r in rows],
    }


def upstream_summary() -> tuple[list[dict], str | None]:
    live = current_app.extensions["upstream_keys"]
    try:
        return provider_keys.key_rows(current_app.config["GATEWAY"].env,
                                      live.live if live else None), None
    except keyring.KeyFileError as e:
        return [], str(e)


@bp.route("")
@admin_required
def index():
    range_name = request.args.get("range", "48h")
    range_name = range_name if range_name in insights.RANGES else "48h"
    period, start, end = insights.window(range_name)
    rows = insights.series(period, start, end)
    keys, problem = upstream_summary()
    return render_template(
        "overview/index.html", range_name=range_name, ranges=insights.RANGES, period=period,
        rows=rows, chart=chart_data(rows, period), total=insights.totals(period, start, end),
        customers=insights.top_customers(period, start, end),
        models=insights.top_models(period, start, end), keys=keys, problem=problem)
