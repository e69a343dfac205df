"""Schema changes for databases made by earlier versions: columns added, money made exact."""

from playhouse.migrate import SchemaMigrator, migrate

from .base import db, write_transaction
from .tables import ModelPrice, Plan, UsageRecord, User


def _columns(model) -> set[str]:
    return {c.name for c in db.get_columns(model._meta.table_name)}


def upgrade() -> None:
    """Bring tables made by an earlier version up to the models (idempotent)."""
    migrator = SchemaMigrator.from_database(db.obj)
    usage, prices, users = _columns(UsageRecord), _columns(ModelPrice), _columns(User)
    plans = _columns(Plan)
    steps = [migrator.add_column("plan", c, getattr(Plan, c))
             for c in ("stripe_product", "stripe_price") if c not in plans]
    if "session_epoch" not in users:
        steps.append(migrator.add_column("user", "session_epoch", User.session_epoch))
    if "email_verified_at" not in users:  # users made before are taken as verified
        steps.append(migrator.add_column("user", "email_verified_at", User.email_verified_at))
    # Sign-in lockouts gave way to throttling (admin/throttle.py).
    steps += [migrator.drop_column("user", c) for c in ("failed_logins", "locked_until")
              if c in users]
    if "tool_calls" not in usage:
        steps.append(migrator.add_column("usagerecord", "tool_calls", UsageRecord.tool_calls))
    if "max_output_tokens" not in prices:
        steps.append(migrator.add_column("modelprice", "max_output_tokens",
                                         ModelPrice.max_output_tokens))
    # Each call's record once, however often a batch is retried (the writer ignores a second).
    db.execute_sql("CREATE UNIQUE INDEX IF NOT EXISTS usagerecord_request_id_once ON usagerecord "
                   "(request_id) WHERE request_id <> ''")
    money = "cost_nanousd" not in usage
    if money:
        steps.append(migrator.add_column("usagerecord", "cost_nanousd",
                                         UsageRecord.cost_nanousd))
    if not steps:
        return
    with write_transaction():
        migrate(*steps)
        if money and "cost_usd" in usage:
            # Earlier versions kept USD in a decimal column (a double on SQLite).
            db.execute_sql("UPDATE usagerecord SET cost_nanousd = "
                           "CAST(ROUND(cost_usd * 1000000000) AS BIGINT)")
            migrate(migrator.drop_column("usagerecord", "cost_usd"))
