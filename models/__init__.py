"""The database: binding, models, seeding and the price catalog."""

from .base import bind, db, write_transaction
from .tables import (
                     ALL_TABLES,
                     ApiKey,
                     ModelPrice,
                     OwnedObject,
                     Plan,
                     ToolPrice,
                     UsageRecord,
                     User,
                     usd,
                     utcnow,
)

__all__ = ["ALL_TABLES", "ApiKey", "ModelPrice", "OwnedObject", "Plan", "ToolPrice",
           "UsageRecord", "User", "bind", "db", "usd", "utcnow", "write_transaction"]
