"""The price catalog in memory: each model's token prices (the business's cost) and output
maximum, the fees of server-side tools, and what each plan sells them at (its markup, or the
operator's own sell prices); reloaded from the database off the event loop. Costs and charges
are exact integers of nano-dollars (USD 1e-9), rounded once per record."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from models import ModelPrice, ToolPrice
from models.catalog import catalog_name, read_prices
from models.selling import (
    FIELDS,
    PER_MTOK,
    charge_of,
    counted_of,
    marked_up,
    nanos_per_mtok,
    operator_prices,
    own_prices,
    sell,
)

NANOS = Decimal(1_000_000_000)
MAX_NAMES = 10_000  # model names remembered between reloads


def variant(entry: dict, prompt_tokens: int, tier: str | None = None) -> str:
    """Which of a model's prices a call pays: those of the processing tier it was served in
    where the catalog lists the tier; else its model's ("") or, past the model's long-context
    threshold (the whole prompt: uncached, cached and written), the long-context ones ("long")
    for every token."""
    if tier and tier in entry.get("_tiers", ()):
        return tier
    long = entry.get("_long")
    return "long" if long is not None and prompt_tokens > long[0] else ""


def rates(entry: dict, prompt_tokens: int, tier: str | None = None) -> dict:
    return _rates_of(entry, variant(entry, prompt_tokens, tier))


def _rates_of(entry: dict, which: str) -> dict:
    if not which:
        return entry
    return entry["_long"][1] if which == "long" else entry["_tiers"][which]


def _prompt(rec: dict) -> int:
    return rec["input_tokens"] + rec["cache_read_tokens"] + rec["cache_write_tokens"]


def _token_sum(rec: dict, p: dict) -> int:
    """Tokens times integer prices per million (nano-dollars times PER_MTOK); `p` by FIELDS'
    short names, "cache_write_1h" None for the five-minute price."""
    hour = min(rec.get("cache_write_1h_tokens") or 0, rec["cache_write_tokens"])
    hour_price = p["cache_write_1h"]
    return (rec["input_tokens"] * p["input"] + rec["output_tokens"] * p["output"]
            + rec["cache_read_tokens"] * p["cache_read"]
            + (rec["cache_write_tokens"] - hour) * p["cache_write"]
            + hour * (p["cache_write"] if hour_price is None else hour_price))


class PriceBook:
    def __init__(self) -> None:
        self.models: dict[str, dict] = {}  # catalog name: ModelPrice fields
        self.tools: dict[tuple[str, str, str], Decimal] = {}  # (provider, tool, model or ""): USD
        self.own: dict = {}  # the operator's sell prices (models/selling.py)
        # (plan, markup, model, variant): sell prices, computed once each
        self._sold: dict[tuple, dict] = {}
        self._terms: dict[tuple, tuple | None] = {}  # admission's, per plan and model
        self._entries: dict[str | None, dict | None] = {}  # `entry`'s, by the name asked

    def reload(self) -> None:
        models = {m["model"]: read_prices(m) for m in ModelPrice.select().dicts()}
        tools = {(t.provider, t.tool, t.model): t.usd_per_call for t in ToolPrice.select()}
        self.models, self.tools, self.own = models, tools, operator_prices()
        self._sold, self._terms, self._entries = {}, {}, {}

    def entry(self, model: str | None) -> dict | None:
        """The catalog's row for a model as a call names it (a dated snapshot's too), found
        once per name."""
        try:
            return self._entries[model]
        except KeyError:
            pass
        name = catalog_name(model, self.models) if model else None
        found = self.models[name] if name is not None else None
        if len(self._entries) < MAX_NAMES:  # names come from callers: bounded
            self._entries[model] = found
        return found

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
            p = rates(entry, _prompt(rec), rec.get("service_tier"))
            usd = Decimal(_token_sum(rec, {short: p.get(f) for short, f in FIELDS.items()})
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

    # --- selling ---

    def sell_prices(self, plan, entry: dict, which: str = "") -> dict:
        """A model's sell prices on `plan` (a PlanInfo: its id and markup), for one of its
        sets of prices (models/selling.py's `sell`)."""
        key = (plan.plan_id, plan.markup_bp, entry["model"], which)
        sold = self._sold.get(key)
        if sold is None:
            sold = self._sold[key] = sell(_rates_of(entry, which), entry, plan.markup_bp,
                                          own_prices(self.own, plan.plan_id, entry["model"]))
        return sold

    def tool_sell(self, plan, provider: str, tool: str, model: str) -> int | None:
        """A server-side tool's fee on `plan`, in nano-dollars: the cost plus the markup."""
        fee = self.tool_fee(provider, tool, model)
        return None if fee is None else marked_up(nanos_per_mtok(fee), plan.markup_bp)

    def tool_fees(self, plan, provider: str, model: str) -> dict[str, int]:
        """The provider's server-side tools and what a call of each costs on `model` on
        `plan`, in nano-dollars."""
        tools = {tool for p, tool, _ in self.tools if p == provider}
        fees = {tool: self.tool_sell(plan, provider, tool, model) for tool in tools}
        return {tool: fee for tool, fee in fees.items() if fee is not None}

    def sale(self, plan, provider: str, model: str, rec: dict) -> tuple[int, int]:
        """(charge, counted): what a record is charged on `plan` (a PlanInfo) in nano-dollars,
        and what it counts against the allowance: its tokens, or on a weighted plan its sell
        value over the plan's reference price, rounded up (raw tokens where the model has no
        price)."""
        entry = self.entry(model)
        num = 0
        if entry is not None:
            num = _token_sum(rec, self.sell_prices(
                plan, entry, variant(entry, _prompt(rec), rec.get("service_tier"))))
        for tool, calls in (rec.get("tools") or {}).items():
            fee = self.tool_sell(plan, provider, tool, entry["model"] if entry else "")
            if fee is not None:
                num += calls * fee * PER_MTOK
        counted = rec["total_tokens"]
        if plan.reference and entry is not None:
            counted = counted_of(num, plan.reference)
        return charge_of(num), counted

    def admission_terms(self, plan, model: str | None, spend_credit: bool) -> tuple | None:
        """What admission reserves with on `plan`, worked out once per plan and model: (the
        input's sell price per million tokens where the plan weighs tokens, else None; an
        output token's counted tokens (1.0 raw); the input's sell price where the customer
        spends credit, else None; an output token's nano-dollars then). None for a model
        without a price."""
        key = (plan.plan_id, plan.markup_bp, plan.reference, spend_credit, model)
        try:
            return self._terms[key]
        except KeyError:
            pass
        entry = self.entry(model)
        terms = None
        if entry is not None:
            sold = self.sell_prices(plan, entry)
            weighted = bool(plan.reference)
            terms = (sold["input"] if weighted else None,
                     sold["output"] / plan.reference if weighted else 1.0,
                     sold["input"] if spend_credit else None,
                     sold["output"] / PER_MTOK if spend_credit else 0.0)
        self._terms[key] = terms
        return terms
