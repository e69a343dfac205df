"""The gateway's own `GET /v1/models`: the catalog's models the caller's plan may use, in the
unrouted provider's list shape (what SDKs and tools read), each as models/pricelist.py shows
it (what the caller pays, never the business's cost), from the price book's sell prices."""

from __future__ import annotations

from models.pricelist import entry


def model_list(prices, plan, unserved: frozenset[str] = frozenset(),
               key_models: frozenset[str] = frozenset()) -> dict:
    """`prices`: the PriceBook; `plan`: the caller's (a PlanInfo: its models, empty for every
    one, its markup and reference price); `unserved`: providers whose models are left out;
    `key_models`: the calling key's own list, where it has one."""
    allowed = plan.allowed_models
    if prices is None:
        return {"object": "list", "data": []}
    return {"object": "list", "data": [
        entry(name, m, prices.sell_prices(plan, m), prices.tool_fees(plan, m["provider"], name),
              plan.reference)
        for name, m in sorted(prices.models.items())
        if (not allowed or name in allowed) and m["provider"] not in unserved
        and (not key_models or name in key_models)
    ]}
