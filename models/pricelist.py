"""What a plan sells each model at, as customers read it: OpenRouter's `pricing` (USD per token,
or per call of a server-side tool, as decimal strings) and how each token counts against the
allowance. Never the business's cost. The gateway's `GET /v1/models` and the pricing page
both show these entries."""

from __future__ import annotations

from decimal import Decimal

from .catalog import read_prices
from .selling import marked_up, nanos_per_mtok, operator_prices, own_prices, sell
from .tables import ModelPrice, Plan, ToolPrice

# OpenRouter's pricing keys and the sell prices' names.
PRICING = {"prompt": "input", "completion": "output", "input_cache_read": "cache_read",
           "input_cache_write": "cache_write"}


def per_token(nanos_per_mtok: int) -> str:
    return f"{Decimal(int(nanos_per_mtok)).scaleb(-15).normalize():f}"


def ratio(price: int, reference: int) -> str:
    return f"{(Decimal(price) / Decimal(reference)).quantize(Decimal('1e-6')).normalize():f}"


def entry(name: str, m: dict, sold: dict, fees: dict[str, int], reference: int | None) -> dict:
    """One model: `m` its catalog row, `sold` its sell prices on the plan (nano-dollars per
    million tokens), `fees` its server-side tools' (nano-dollars a call), `reference` the
    plan's weighted reference price (None: raw tokens)."""
    pricing = {key: per_token(sold[f]) for key, f in PRICING.items()}
    if sold.get("cache_write_1h") is not None:
        pricing["input_cache_write_1h"] = per_token(sold["cache_write_1h"])
    for tool, nanos in sorted(fees.items()):
        pricing[tool] = f"{Decimal(nanos).scaleb(-9).normalize():f}"
    if reference:
        counts = {key: ratio(sold[f], reference) for key, f in PRICING.items()}
        allowance = {"mode": "weighted", "counted_per_token": counts}
    else:
        allowance = {"mode": "raw", "counted_per_token": {key: "1" for key in PRICING}}
    return {"id": name, "object": "model", "created": 0, "owned_by": m["provider"],
            "display_name": m["display_name"], "max_output_tokens": m["max_output_tokens"],
            "pricing": pricing, "allowance": allowance}


def price_list(plan: Plan) -> list[dict]:
    """Every model `plan` may use, with what it sells at."""
    allowed = set(plan.model_list)
    own = operator_prices()
    tools = list(ToolPrice.select())
    reference = plan.reference_nanousd if plan.weighted else None
    out = []
    for m in ModelPrice.select().order_by(ModelPrice.model).dicts():
        if allowed and m["model"] not in allowed:
            continue
        read_prices(m)
        sold = sell(m, m, plan.markup_bp, own_prices(own, plan.id, m["model"]))
        fees = {}
        for t in tools:  # a model's own fee over the provider's
            if t.provider == m["provider"] and t.model in ("", m["model"]) and (
                    t.model or t.tool not in fees):
                fees[t.tool] = marked_up(nanos_per_mtok(t.usd_per_call), plan.markup_bp)
        out.append(entry(m["model"], m, sold, fees, reference))
    return out
