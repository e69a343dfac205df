"""The model price catalog: a shipped data file, loaded into the database, edited there later."""

import json
import re
from decimal import Decimal
from pathlib import Path

from .base import write_transaction
from .selling import FIELDS
from .tables import ModelPrice, ToolPrice

CATALOG_FILE = Path(__file__).with_name("prices.json")

# Providers answer with dated snapshots ("gpt-4o-mini-2024-07-18", "claude-sonnet-4-5-20250929")
# of the catalog's model names.
_SNAPSHOT = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|latest|\d{3})$")


PRICE_FIELDS = {"input_per_mtok": "input", "output_per_mtok": "output",
                "cache_read_per_mtok": "cache_read", "cache_write_per_mtok": "cache_write"}


def _model_fields(e: dict) -> dict:
    hour = e.get("cache_write_1h")
    return {
        "provider": e["provider"],
        "display_name": e.get("display_name", ""),
        **{f: Decimal(str(e.get(k, 0))) for f, k in PRICE_FIELDS.items()},
        "max_output_tokens": e.get("max_output"),
        "cache_write_1h_per_mtok": None if hour is None else Decimal(str(hour)),
        "long_context": json.dumps(e["long_context"], sort_keys=True)
        if e.get("long_context") else "",
        "tiers": json.dumps(e["tiers"], sort_keys=True) if e.get("tiers") else "",
    }


# Learned from the file for a row that lacks them, though its prices were edited.
LEARNED = {"max_output_tokens": None, "cache_write_1h_per_mtok": None, "long_context": "",
           "tiers": ""}


def load_catalog(path: Path = CATALOG_FILE, update: bool = False) -> dict[str, int]:
    """Load a price file: models and tool fees missing from the database are added; with
    `update` (a newer file, `python -m admin load-prices`) the ones present take the file's
    prices, else an operator's edited price is kept. Returns counts of what changed."""
    data = json.loads(Path(path).read_text())
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    with write_transaction():
        known = {m.model: m for m in ModelPrice.select()}
        for e in data["models"]:
            fields = _model_fields(e)
            row = known.get(e["model"])
            if row is None:
                ModelPrice.create(model=e["model"], **fields)
                counts["added"] += 1
                continue
            if not update:  # keep edited prices; learn only what the row lacks
                fields = {k: fields[k] for k, empty in LEARNED.items()
                          if getattr(row, k) == empty}
            changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
            if changed:
                ModelPrice.update(**changed).where(ModelPrice.id == row.id).execute()
            counts["updated" if changed and update else "unchanged"] += 1
        fees = {(t.provider, t.tool, t.model): t for t in ToolPrice.select()}
        for e in data.get("tools", ()):
            key = (e["provider"], e["tool"], e.get("model", ""))
            fee = Decimal(str(e["per_call"]))
            row = fees.get(key)
            if row is None:
                ToolPrice.create(provider=key[0], tool=key[1], model=key[2], usd_per_call=fee)
                counts["added"] += 1
            elif update and row.usd_per_call != fee:
                ToolPrice.update(usd_per_call=fee).where(ToolPrice.id == row.id).execute()
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
    return counts


def catalog_name(model: str, known) -> str | None:
    """The catalog entry that `model` (as a request or response names it) is priced by."""
    name = model.removeprefix("models/")
    while name:
        if name in known:
            return name
        shorter = _SNAPSHOT.sub("", name)
        if shorter == name:
            return None
        name = shorter
    return None


def _over(m: dict, spec: dict) -> dict:
    return {**m, **{f: Decimal(str(spec[k])) for k, f in FIELDS.items() if k in spec}}


def read_prices(m: dict) -> dict:
    """A catalog row (ModelPrice's fields) with its long-context and tier prices read once:
    `_long` is (above, prices), `_tiers` the prices by tier; each set a whole row of prices."""
    m["_long"] = None
    if m.get("long_context"):
        spec = json.loads(m["long_context"])
        m["_long"] = (int(spec["above"]), _over(m, spec))
    m["_tiers"] = {tier: _over(m, spec)
                   for tier, spec in json.loads(m.get("tiers") or "{}").items()}
    return m


def price_sets(m: dict) -> list[dict]:
    """Every set of prices a read row has: its own, long prompts', each tier's."""
    return [m, *([m["_long"][1]] if m["_long"] else []), *m["_tiers"].values()]
