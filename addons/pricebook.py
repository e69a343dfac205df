"""The price catalog in memory: each model's token prices and output maximum, and the fees of
server-side tools; reloaded from the database off the event loop. Costs are exact integers of
nano-dollars (USD 1e-9), rounded once per record."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from models import ModelPrice, ToolPrice
from models.catalog import catalog_name

NANOS = Decimal(1_000_000_000)


class PriceBook:
    def __init__(self) -> None:
        self.models: dict[str, dict] = {}  # catalog name: ModelPrice fields
        self.tools: dict[tuple[str, str, str], Decimal] = {}  # (provider, tool, model or ""): USD

    def reload(self) -> None:
        self.models = {m["model"]: m for m in ModelPrice.select().dicts()}
        self.tools = {(t.provider, t.tool, t.model): t.usd_per_call for t in ToolPrice.select()}

    def entry(self, model: str | None) -> dict | None:
        name = catalog_name(model, self.models) if model else None
        return self.models[name] if name is not None else None

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
            usd = (rec["input_tokens"] * entry["input_per_mtok"]
                   + rec["output_tokens"] * entry["output_per_mtok"]
                   + rec["cache_read_tokens"] * entry["cache_read_per_mtok"]
                   + rec["cache_write_tokens"] * entry["cache_write_per_mtok"]) / 1_000_000
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
