"""The gateway's own `GET /v1/models`: the catalog's models the caller's plan may use, in the
unrouted provider's list shape (what SDKs and tools read), with their prices and output
maximum."""

from __future__ import annotations

PRICES = ("input", "output", "cache_read", "cache_write")


def model_list(prices, allowed: frozenset[str]) -> dict:
    """`prices`: the PriceBook; `allowed`: the plan's models (empty: every model)."""
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": 0, "owned_by": m["provider"],
         "display_name": m["display_name"], "max_output_tokens": m["max_output_tokens"],
         "pricing": {k: float(m[f"{k}_per_mtok"]) for k in PRICES}}  # USD per million tokens
        for name, m in sorted((prices.models if prices else {}).items())
        if not allowed or name in allowed
    ]}
