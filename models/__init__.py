"""The database: binding, models (usage and billing), seeding and the price catalog."""

from .base import bind, db, write_transaction
from .billing import Invoice, Notice, StripeEvent, Subscription
from .tables import (
                     ALL_TABLES,
                     ApiKey,
                     DeadLetter,
                     ModelPrice,
                     OwnedObject,
                     Plan,
                     ToolPrice,
                     UsageRecord,
                     User,
                     usd,
                     utcnow,
)

__all__ = ["ALL_TABLES", "ApiKey", "DeadLetter", "Invoice", "ModelPrice", "Notice",
           "OwnedObject", "Plan", "StripeEvent", "Subscription", "ToolPrice", "UsageRecord",
           "User", "bind", "db", "usd", "utcnow", "write_transaction"]
