"""A customer's usage: daily chart, breakdown by provider and model with raw and counted
tokens and charges, recent requests, refusals, CSV. Charges only: never the business's cost."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from flask import Blueprint, Response, render_template, request
from flask_login import login_required

from models import usd
from models.statement import statement

from .auth import me
from .queries import daily_tokens, recent_months, recent_records, valid_month

bp = Blueprint("usage", __name__, url_prefix="/usage")
PER_PAGE = 50


@bp.route("")
@login_required
def index():
    user = me()
    month = valid_month(request.args.get("month"))
    page = max(1, request.args.get("page", 1, type=int) or 1)
    records, total = recent_records(user, page, PER_PAGE, month)
    return render_template(
        "usage/index.html", st=statement(user, month), days=daily_tokens(user, month),
        records=records, page=page, pages=max(1, -(-total // PER_PAGE)),
        months=recent_months(), month=month)


@bp.app_template_filter("decimal")
def decimal(text) -> Decimal:
    """An exact amount as a statement gives it (a decimal string), for the `usd` macro."""
    return Decimal(str(text or 0))


CSV_FIELDS = ["created_at", "request_id", "key", "api", "provider", "endpoint", "model",
              "status", "streamed", "input_tokens", "cache_read_tokens", "cache_write_tokens",
              "output_tokens", "reasoning_tokens", "total_tokens", "counted_tokens",
              "tool_calls", "charge_usd", "paid_from_credit_usd", "complete", "estimated",
              "latency_ms"]


@bp.route("/export.csv")
@login_required
def download():
    user = me()
    month = valid_month(request.args.get("month"))
    records, _ = recent_records(user, 1, 10**9, month)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for r in records:
        prefix = r.api_key.prefix if r.api_key_id else ""
        writer.writerow([r.created_at.isoformat(timespec="seconds") + "Z", r.request_id, prefix,
                         r.api, r.provider, r.endpoint, r.model, r.status, r.streamed,
                         r.input_tokens, r.cache_read_tokens, r.cache_write_tokens, r.output_tokens,
                         r.reasoning_tokens, r.total_tokens, r.counted_tokens, r.tool_calls,
                         r.charge_usd, usd(r.credit_nanousd), r.complete, r.estimated,
                         r.latency_ms])
    name = f"usage-{month or recent_months(1)[0]}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})
