"""The model price catalog: a shipped data file, loaded into the database, edited there later."""

import json
import re
from decimal import Decimal
from pathlib import Path

from .base import write_transaction
from .tables import ModelPrice

CATALOG_FILE = Path(__file__).with_name("prices.json")

# Providers answer with dated snapshots ("gpt-4o-mini-2024-07-18", "claude-sonnet-4-5-20250929")
# of the catalog's model names.
_SNAPSHOT = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|latest|\d{3})$")


def load_catalog(path: Path = CATALOG_FILE) -> int:
    """Add the file's models missing from the database; never overwrite an edited price."""
    entries = json.loads(path.read_text())["models"]
    known = {m.model for m in ModelPrice.select(ModelPrice.model)}
    added = 0
    with write_transaction():
        for e in entries:
            if e["model"] in known:
                continue
            ModelPrice.create(
                model=e["model"],
                provider=e["provider"],
                display_name=e.get("display_name", ""),
                input_per_mtok=Decimal(str(e["input"])),
                output_per_mtok=Decimal(str(e["output"])),
                cache_read_per_mtok=Decimal(str(e.get("cache_read", 0))),
                cache_write_per_mtok=Decimal(str(e.get("cache_write", 0))),
            )
            added += 1
    return added


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
