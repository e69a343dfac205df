"""A customer's usage: the month's statement, charges and tokens per day by model, by key and
model, filtered by key and model, and the activity log of their calls (never a prompt), also as
CSV. Charges only: never the business's cost."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from flask import Blueprint, Response, render_template, request

from models import ApiKey, usd
from models.rollup import DAY, UsageRollup
from models.statement import statement

from . import insights
from .current import IN_ACCOUNT, me, roles_required
from .queries import activity, month_bounds, recent_months, valid_month

bp = Blueprint("usage", __name__, url_prefix="/usage")
PER_PAGE = 50
STATUSES = {"": "any status", "ok": "succeeded", "error": "failed"}


def filters(user) -> dict:
    """The page's filters as asked (month, key, model, status), each checked against what
    is the customer's."""
    args = request.args
    month = valid_month(args.get("month"))
    key = args.get("key", type=int)
    if key and not ApiKey.select().where(ApiKey.id == key, ApiKey.user == user).exists():
        key = None
    status = args.get("status", "")
    return {"month": month, "key": key or None, "model": args.get("model", "")[:200] or None,
            "status": status if status in STATUSES else ""}


def _choices(user, start, end) -> tuple[list, list[str]]:
    """The keys (with calls this month, or live) and models the filters offer."""
    S = UsageRollup
    used = (S.select(S.key_id, S.model).where(S.user_id == user.id, S.period == DAY,
                                              S.start >= start, S.start < end, S.requests > 0)
            .distinct().tuples())
    key_ids = {k for k, _ in used}
    models = sorted({m for _, m in used if m})
    keys = list(ApiKey.select().where(ApiKey.user == user, (ApiKey.id.in_(list(key_ids)))
                                      | ApiKey.revoked_at.is_null()).order_by(ApiKey.name))
    return keys, models


@bp.route("")
@roles_required(*IN_ACCOUNT)
def index():
    user = me()
    f = filters(user)
    start, end = month_bounds(f["month"])
    page = max(1, request.args.get("page", 1, type=int) or 1)
    where = {"key_id": f["key"], "model": f["model"]}
    records = activity(user, start, end, page, PER_PAGE + 1, f["key"], f["model"], f["status"])
    keys, models = _choices(user, start, end)
    return render_template(
        "usage/index.html", st=statement(user, f["month"]), f=f, keys=keys, models=models,
        statuses=STATUSES, chart=insights.daily_by_model(user.id, start, end, **where),
        table=insights.by_key_and_model(user.id, start, end, **where),
        filtered=insights.totals(DAY, start, end, user_id=user.id, **where),
        records=records[:PER_PAGE], more=len(records) > PER_PAGE, page=page,
        months=recent_months(), month=f["month"])


@bp.app_template_filter("decimal")
def decimal(text) -> Decimal:
    """An exact amount as a statement gives it (a decimal string), for the `usd` macro."""
    return Decimal(str(text or 0))


CSV_FIELDS = ["created_at", "request_id", "key", "key_name", "api", "provider", "endpoint",
              "model", "status", "finish_reason", "streamed", "input_tokens",
              "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
              "total_tokens", "counted_tokens", "tool_calls", "charge_usd",
              "paid_from_credit_usd", "complete", "estimated", "latency_ms", "ttfb_ms"]


@bp.route("/export.csv")
@roles_required(*IN_ACCOUNT)
def download():
    user = me()
    f = filters(user)
    start, end = month_bounds(f["month"])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for r in activity(user, start, end, 1, 10**9, f["key"], f["model"], f["status"]):
        key = r.api_key if r.api_key_id else None
        writer.writerow([r.created_at.isoformat(timespec="seconds") + "Z", r.request_id,
                         key.prefix if key else "", key.name if key else "", r.api, r.provider,
                         r.endpoint, r.model, r.status, r.finish_reason, r.streamed,
                         r.input_tokens, r.cache_read_tokens, r.cache_write_tokens,
                         r.output_tokens, r.reasoning_tokens, r.total_tokens, r.counted_tokens,
                         r.tool_calls, r.charge_usd, usd(r.credit_nanousd), r.complete,
                         r.estimated, r.latency_ms, "" if r.ttfb_ms is None else r.ttfb_ms])
    name = f"usage-{f['month'] or recent_months(1)[0]}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})
