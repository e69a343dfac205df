"""The schema's history: numbered migrations, each run once, and the version a database is at.

A database records the migrations applied to it (table `schemaversion`). A new database is made
at the models' schema and marked with every migration. One made before versions were recorded
(4035676 and the releases up to 7f3cf9a) starts at 0: its migrations check what is there, since
those releases changed their tables in place, a column at a time.

A migration, once released, is never edited: a later change is a new number. Each runs in one
transaction; on SQLite with the foreign keys off meanwhile (SQLite's own procedure for schema
changes: a table rebuilt under a foreign key fails) and checked before it commits.
"""

from __future__ import annotations

import logging

from peewee import CharField, DateTimeField, IntegerField, Value, fn

from .base import BaseModel, db, is_sqlite, write_transaction
from .month import month_bounds
from .tables import User, utcnow

log = logging.getLogger(__name__)


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    name = CharField()
    applied_at = DateTimeField(default=utcnow)


class SchemaError(RuntimeError):
    pass


def _columns(table: str) -> set[str]:
    return {c.name for c in db.get_columns(table)}


def add_column(table: str, field, default: str | None = None) -> bool:
    """ALTER TABLE ... ADD COLUMN with the field's own type and nullity and a literal
    DEFAULT: one statement on every database (SQLite takes a NOT NULL column with a default
    without rebuilding the table). False when the column is there already."""
    if field.column_name in _columns(table):
        return False
    ctx = db.obj.get_sql_context()
    ddl, _ = ctx.sql(field.ddl(ctx)).query()
    if default is not None:
        ddl += f" DEFAULT {default}"
    db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN {ddl}')
    return True


def drop_column(table: str, column: str) -> None:
    if column in _columns(table):
        db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')


def create_missing(*models) -> None:
    db.create_tables(models, safe=True)


# --- the migrations ------------------------------------------------------------------------

def m1_baseline() -> None:
    """4035676's tables: plan, user, apikey, modelprice, usagerecord (nothing to change)."""


def m2_billing_and_sign_in() -> None:
    """What 7f3cf9a added in place: Stripe ids, sessions, verified addresses, tool calls,
    output caps, exact money, one record per request, and the billing and ownership tables."""
    from .billing import BILLING_TABLES
    from .tables import ModelPrice, OwnedObject, Plan, ToolPrice, UsageRecord

    add_column("plan", Plan.stripe_product, "''")
    add_column("plan", Plan.stripe_price, "''")
    add_column("user", User.session_epoch, "0")
    if add_column("user", User.email_verified_at):
        # Customers made before sign-up existed were vouched for by the operator.
        db.execute_sql('UPDATE "user" SET email_verified_at = created_at')
    drop_column("user", "failed_logins")  # sign-in lockouts gave way to throttling
    drop_column("user", "locked_until")
    add_column("usagerecord", UsageRecord.tool_calls, "''")
    add_column("modelprice", ModelPrice.max_output_tokens)
    if add_column("usagerecord", UsageRecord.cost_nanousd, "0") and \
            "cost_usd" in _columns("usagerecord"):
        # Earlier releases kept USD in a decimal column (a double on SQLite).
        db.execute_sql("UPDATE usagerecord SET cost_nanousd = "
                       "CAST(ROUND(cost_usd * 1000000000) AS BIGINT)")
        drop_column("usagerecord", "cost_usd")
    db.execute_sql("CREATE UNIQUE INDEX IF NOT EXISTS usagerecord_request_id_once ON "
                   "usagerecord (request_id) WHERE request_id <> ''")
    create_missing(ToolPrice, OwnedObject, *BILLING_TABLES)


def m3_verified_customers() -> None:
    """Repair: 7f3cf9a's in-place upgrade on PostgreSQL added the verification column empty,
    so every existing customer's keys were refused. Whoever the operator vouched for counts as
    verified since joining: an operator, a seeded demo user, and anyone holding a key, usage or
    a subscription (an unconfirmed sign-up can have none of these)."""
    from .seed import DEMO_USERS

    demo = [email for email, _, _ in DEMO_USERS]
    db.execute_sql(
        'UPDATE "user" SET email_verified_at = created_at WHERE email_verified_at IS NULL AND ('
        f"role = 'admin' OR email IN ({', '.join([db.obj.param] * len(demo))}) "
        "OR id IN (SELECT user_id FROM apikey) OR id IN (SELECT user_id FROM usagerecord) "
        "OR id IN (SELECT user_id FROM subscription))", demo)


def m4_dead_letters() -> None:
    """Usage records the database refused, set aside instead of blocking the others."""
    from .tables import DeadLetter

    create_missing(DeadLetter)


def m5_public_plans() -> None:
    """Plans a customer may choose for themselves; the others are the operator's to give."""
    from .tables import Plan

    add_column("plan", Plan.public, "TRUE" if not is_sqlite() else "1")


def m6_billing_claims() -> None:
    """One billing change at a time per customer (Subscription.busy_until)."""
    from .billing import Subscription

    add_column("subscription", Subscription.busy_until)


def m7_context_and_cache_prices() -> None:
    """Prices of one-hour cache writes and of long prompts (the catalog fills them)."""
    from .tables import ModelPrice

    add_column("modelprice", ModelPrice.cache_write_1h_per_mtok)
    add_column("modelprice", ModelPrice.long_context, "''")


def m8_calendar_month_billing() -> None:
    """Billing anchored to the 1st, like the quota: a customer's allowance in the month a paid
    plan changed, and the subscriptions still billed on another day marked for the billing
    clock to move (admin/payments.py)."""
    from .billing import Subscription
    from .tables import User

    add_column("user", User.allowance_month, "''")
    add_column("user", User.allowance_banked, "0")
    add_column("user", User.allowance_since)
    if add_column("subscription", Subscription.realign_at):
        now = utcnow()
        off = [s.id for s in Subscription.select(Subscription.id, Subscription.current_period_end)
               .where(Subscription.status.in_(["active", "past_due"]),
                      Subscription.stripe_subscription != "",
                      Subscription.current_period_end.is_null(False))
               if s.current_period_end != month_bounds(s.current_period_end)[0]]
        if off:
            Subscription.update(realign_at=now).where(Subscription.id.in_(off)).execute()


def m9_tier_prices() -> None:
    """Prices of processing tiers (flex, priority); the catalog fills them."""
    from .tables import ModelPrice

    add_column("modelprice", ModelPrice.tiers, "''")


def m10_selling() -> None:
    """Selling: each plan's markup (the default) and allowance mode (raw: nothing changes for
    an existing customer), the operator's sell prices, prepaid credit and counted refusals.
    A record made before was sold at the catalog's price, which customers saw as their cost:
    its charge is that cost, and it counted its raw tokens."""
    from .selling import DEFAULT_MARKUP_BP, SELLING_TABLES
    from .tables import DeadLetter, Plan, UsageRecord

    add_column("plan", Plan.markup_bp, str(DEFAULT_MARKUP_BP))
    add_column("plan", Plan.allowance_mode, "'raw'")
    add_column("plan", Plan.reference_nanousd)
    false = "FALSE" if not is_sqlite() else "0"
    add_column("user", User.spend_credit, false)
    add_column("user", User.topup_below_cents)
    add_column("user", User.topup_cents)
    add_column("user", User.low_balance_mailed, false)
    for col in (UsageRecord.charge_nanousd, UsageRecord.counted_tokens,
                UsageRecord.credit_nanousd):
        add_column("usagerecord", col, "0")
    add_column("deadletter", DeadLetter.counted_tokens, "0")
    add_column("deadletter", DeadLetter.credit_nanousd, "0")
    UsageRecord.update(charge_nanousd=UsageRecord.cost_nanousd,
                       counted_tokens=UsageRecord.total_tokens).execute()
    DeadLetter.update(counted_tokens=DeadLetter.total_tokens).execute()
    create_missing(*SELLING_TABLES)


def m11_unified_api() -> None:
    """The API a call came on: every record before it came on its provider's own route."""
    from .tables import UsageRecord

    add_column("usagerecord", UsageRecord.api, "'native'")


def m12_upstream_keys() -> None:
    """What the operator sees of the provider keys: their events and calls by the minute."""
    from .upstreams import UPSTREAM_TABLES

    create_missing(*UPSTREAM_TABLES)


def m13_key_limits() -> None:
    """Keys with limits of their own, and their usage read per key."""
    from .tables import ApiKey

    add_column("apikey", ApiKey.rpm)
    add_column("apikey", ApiKey.monthly_cap_nanousd)
    add_column("apikey", ApiKey.allowed_models, "''")
    add_column("apikey", ApiKey.expires_at)
    add_column("apikey", ApiKey.allow_cidrs, "''")
    db.execute_sql('CREATE INDEX IF NOT EXISTS "usagerecord_api_key_id_created_at" '
                   'ON "usagerecord" ("api_key_id", "created_at")')


def m14_second_factor() -> None:
    """An optional TOTP second factor at sign-in."""
    add_column("user", User.totp_secret, "''")
    add_column("user", User.totp_last_step, "0")


def m15_usage_rollups() -> None:
    """Each call's finish reason, and usage summed by hour and day for the dashboards (the
    records before it summed once, here)."""
    from .rollup import UsageRollup, backfill
    from .tables import UsageRecord

    add_column("usagerecord", UsageRecord.finish_reason, "''")
    db.execute_sql('CREATE INDEX IF NOT EXISTS "usagerecord_tools" ON "usagerecord" '
                   "(\"user_id\", \"created_at\") WHERE (\"tool_calls\" != '')")
    create_missing(UsageRollup)
    backfill()


def m16_accounts_with_members() -> None:
    """Accounts with members: each customer becomes an account whose one member, its owner,
    is the customer; each key was made by that owner."""
    from .members import MEMBER_TABLES, Membership
    from .tables import ApiKey

    add_column("user", User.member_only, "false")
    add_column("apikey", ApiKey.created_by)
    create_missing(*MEMBER_TABLES)
    db.execute_sql('UPDATE "apikey" SET created_by_id = user_id WHERE created_by_id IS NULL')
    owners = User.select(User.id).where(~fn.EXISTS(Membership.select().where(
        Membership.account == User.id, Membership.member == User.id)))
    Membership.insert_from(owners.select(User.id, User.id, Value("owner"), Value(utcnow())),
                           [Membership.account, Membership.member, Membership.role,
                            Membership.created_at]).execute()


def m17_calls_in_flight() -> None:
    """A cap on each customer's calls in flight, per plan: the seeded plans get theirs, the
    operator's own plans none until set."""
    from .tables import Plan

    add_column("plan", Plan.max_in_flight)
    seeded = {"Explorer": 10, "Startup": 25, "Growth": 100, "Enterprise": 250}  # as released
    for name, cap in seeded.items():
        Plan.update(max_in_flight=cap).where(Plan.name == name,
                                             Plan.max_in_flight.is_null()).execute()


MIGRATIONS = [  # (number, name, step): append only
    (1, "baseline (4035676)", m1_baseline),
    (2, "billing, sign-in, exact money (7f3cf9a)", m2_billing_and_sign_in),
    (3, "existing customers verified", m3_verified_customers),
    (4, "usage dead letters", m4_dead_letters),
    (5, "public plans", m5_public_plans),
    (6, "billing changes claimed per customer", m6_billing_claims),
    (7, "one-hour cache writes and long-context prices", m7_context_and_cache_prices),
    (8, "billing anchored to the calendar month", m8_calendar_month_billing),
    (9, "processing tier prices", m9_tier_prices),
    (10, "sell prices, weighted allowances, prepaid credit", m10_selling),
    (11, "the API a call came on (the unified API)", m11_unified_api),
    (12, "provider keys' events and calls by the minute", m12_upstream_keys),
    (13, "keys' own limits", m13_key_limits),
    (14, "a second factor at sign-in", m14_second_factor),
    (15, "finish reasons; usage summed by hour and day", m15_usage_rollups),
    (16, "accounts with members", m16_accounts_with_members),
    (17, "a cap on calls in flight per plan", m17_calls_in_flight),
]
LATEST = MIGRATIONS[-1][0]


def current_version() -> int | None:
    """The database's version; None for an empty database, 0 for one made before versions."""
    tables = set(db.get_tables())
    if "schemaversion" in tables:
        return SchemaVersion.select(SchemaVersion.version).order_by(
            SchemaVersion.version.desc()).scalar() or 0
    return 0 if "user" in tables else None


class _SchemaChange:
    """One migration's transaction: on SQLite the foreign keys off around it (the pragma is
    ignored inside a transaction) and checked before the commit; on PostgreSQL a lock that
    makes a second process starting at the same time wait, then find the work done."""

    def __enter__(self):
        if is_sqlite():
            db.execute_sql("PRAGMA foreign_keys = OFF")
        self.tx = write_transaction()
        self.tx.__enter__()
        if not is_sqlite():
            db.execute_sql("SELECT pg_advisory_xact_lock(7239001)")
        return self

    def __exit__(self, *exc):
        try:
            if exc[0] is None and is_sqlite():
                broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise SchemaError(f"foreign keys broken by the migration: {broken[:5]}")
            return self.tx.__exit__(*exc)
        except BaseException:
            self.tx.__exit__(*exc)
            raise
        finally:
            if is_sqlite():
                db.execute_sql("PRAGMA foreign_keys = ON")


def upgrade(all_tables) -> list[int]:
    """Bring the database to LATEST; returns the migrations applied now. A new database is
    created at the models' schema. A database newer than this code is refused, unchanged."""
    version = current_version()
    if version is None:
        with write_transaction():
            db.create_tables([*all_tables, SchemaVersion], safe=True)
            SchemaVersion.insert_many(
                [{"version": n, "name": name} for n, name, _ in MIGRATIONS]
            ).on_conflict_ignore().execute()
        return []
    if version > LATEST:
        raise SchemaError(f"the database is at schema version {version}, newer than this "
                          f"release knows ({LATEST}); run the release that made it")
    db.create_tables([SchemaVersion], safe=True)
    applied = []
    for number, name, step in MIGRATIONS[version:]:
        with _SchemaChange():
            if SchemaVersion.get_or_none(SchemaVersion.version == number) is not None:
                continue  # another process applied it while this one waited
            step()
            SchemaVersion.create(version=number, name=name)
        log.warning("database migrated: %d %s", number, name)
        applied.append(number)
    return applied
