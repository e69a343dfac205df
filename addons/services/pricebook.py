"""The price catalog in memory: each model's token prices and output maximum, and the fees of
server-side tools; reloaded from the database off the event loop. Costs are exact integers of
nano-dollars (USD 1e-9), rounded once per record."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal

from models import ModelPrice, ToolPrice
from models.catalog import catalog_name

NANOS = Decimal(1_000_000_000)


# The catalog's names of a long-context price and the model fields they stand for.
LONG_FIELDS = {"input": "input_per_mtok", "output": "output_per_mtok",
               "cache_read": "cache_read_per_mtok", "cache_write": "cache_write_per_mtok",
               "cache_write_1h": "cache_write_1h_per_mtok"}


def _over(m: dict, spec: dict) -> dict:
    return {**m, **{f: Decimal(str(spec[k])) for k, f in LONG_FIELDS.items() if k in spec}}


def _read(m: dict) -> dict:
    """A catalog row with its long-context and tier prices read once: `_long` is (above,
    prices), `_tiers` the prices by tier."""
    m["_long"] = None
    if m.get("long_context"):
        spec = json.loads(m["long_context"])
        m["_long"] = (int(spec["above"]), _over(m, spec))
    m["_tiers"] = {tier: _over(m, spec)
                   for tier, spec in json.loads(m.get("tiers") or "{}").items()}
    return m


def rates(entry: dict, prompt_tokens: int, tier: str | None = None) -> dict:
    """The prices a call pays: those of the processing tier it was served in where the catalog
    lists the tier; else its model's, or past the model's long-context threshold (the whole
    prompt: uncached, cached and written), the long-context ones for every token."""
    if tier and tier in entry.get("_tiers", ()):
        return entry["_tiers"][tier]
    long = entry.get("_long")
    return long[1] if long is not None and prompt_tokens > long[0] else entry


class PriceBook:
    def __init__(self) -> None:
        self.models: dict[str, dict] = {}  # catalog name: ModelPrice fields
        self.tools: dict[tuple[str, str, str], Decimal] = {}  # (provider, tool, model or ""): USD

    def reload(self) -> None:
        self.models = {m["model"]: _read(m) for m in ModelPrice.select().dicts()}
        self.tools = {(t.provider, t.tool, t.model): t.usd_per_call for t in ToolPrice.select()}

    def entry(self, model: str | None) -> dict | None:
        name = catalog_name(model, self.models) if model else None
        return self.models[name] if name is not None else None

    def prices_tier(self, model: str | None, tier: str) -> bool:
        """Whether the catalog prices `model` in processing tier `tier`."""
        entry = self.entry(model)
        return entry is not None and tier in entry["_tiers"]

    def max_output(self, model: str | None) -> int | None:
        """The model's own output maximum, where the catalog knows it."""
        entry = self.entry(model)
        return entry["max_output_tokens"] if entry else None

    def cost(self, provider: str, model: str, rec: dict) -> tuple[int, bool]:
        """Nano-dollars for a record's tokens and tool calls, and whether every part of it
        had a price in the catalog (a model or tool missing is metered, flagged unpriced)."""
        entry = self.entry(model)
        priced = entry is not None
        usd = Decimal(0)
        if entry is not None:
            p = rates(entry, rec["input_tokens"] + rec["cache_read_tokens"]
                      + rec["cache_write_tokens"], rec.get("service_tier"))
            hour = min(rec.get("cache_write_1h_tokens") or 0, rec["cache_write_tokens"])
            hour_price = p.get("cache_write_1h_per_mtok")  # None: as the five-minute writes
            usd = (rec["input_tokens"] * p["input_per_mtok"]
                   + rec["output_tokens"] * p["output_per_mtok"]
                   + rec["cache_read_tokens"] * p["cache_read_per_mtok"]
                   + (rec["cache_write_tokens"] - hour) * p["cache_write_per_mtok"]
                   + hour * (p["cache_write_per_mtok"] if hour_price is None else hour_price)
                   ) / 1_000_000
        for tool, calls in (rec.get("tools") or {}).items():
            fee = self.tool_fee(provider, tool, entry["model"] if entry else "")
            if fee is None:
                priced = False
            else:
                usd += calls * fee
        return int((usd * NANOS).to_integral_value(ROUND_HALF_EVEN)), priced

    def tool_fee(self, provider: str, tool: str, model: str) -> Decimal | None:
        fee = self.tools.get((provider, tool, model))
        return fee if fee is not None else self.tools.get((provider, tool, ""))
