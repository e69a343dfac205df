"""The database: binding, models, seeding and the price catalog."""

from .base import bind, db, write_transaction
from .tables import ALL_TABLES, ApiKey, ModelPrice, Plan, UsageRecord, User, utcnow

__all__ = ["ALL_TABLES", "ApiKey", "ModelPrice", "Plan", "UsageRecord", "User", "bind", "db",
           "utcnow", "write_transaction"]
