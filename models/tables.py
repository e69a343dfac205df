"""The domain: plans, users, their API keys, the model catalog and one usage record per request."""

import datetime as dt
import json
from decimal import Decimal

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    DecimalField,
    ForeignKeyField,
    IntegerField,
    TextField,
    fn,
)

from . import month
from .base import BaseModel, write_transaction
from .security import display_prefix, hash_key, hash_password, new_api_key


def utcnow() -> dt.datetime:
    # Naive UTC everywhere: SQLite has no time zones, and months are counted in UTC.
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Plan(BaseModel):
    name = CharField(unique=True)
    requests_per_minute = IntegerField()
    monthly_tokens = BigIntegerField(null=True)  # None: unlimited
    price_cents = IntegerField(null=True)  # None: custom price
    description = TextField(default="")
    allowed_models = TextField(default="")  # JSON list; empty: every model
    # Stripe's product and monthly price (a Stripe "plan" id) for this plan, once synced.
    stripe_product = CharField(default="")
    stripe_price = CharField(default="")
    # Offered to customers (sign-up, the billing page); a private plan is the operator's to give.
    public = BooleanField(default=True)
    # Selling (models/selling.py): sell prices are the catalog's cost plus this markup, in
    # basis points (2500: 25%), where the operator set no sell price of a model's own.
    markup_bp = IntegerField(default=2500)
    # "raw": the allowance counts tokens as they are; "weighted": each token counts its sell
    # price against `reference_nanousd` (per million counted tokens), so a full allowance is
    # worth the same on any model.
    allowance_mode = CharField(default="raw")
    reference_nanousd = BigIntegerField(null=True)
    # Calls a customer may have in flight at once (None: no cap): one customer's thousand
    # parallel streams cannot take every other customer's share of the gateway.
    max_in_flight = IntegerField(null=True)

    @property
    def unlimited(self) -> bool:
        return self.monthly_tokens is None

    @property
    def weighted(self) -> bool:
        return self.allowance_mode == "weighted" and bool(self.reference_nanousd)

    @property
    def pay_as_you_go(self) -> bool:
        """No allowance: every call is paid from prepaid credit."""
        return self.monthly_tokens == 0

    @property
    def model_list(self) -> list[str]:
        return json.loads(self.allowed_models) if self.allowed_models else []

    @model_list.setter
    def model_list(self, models: list[str]) -> None:
        self.allowed_models = json.dumps(sorted(set(models))) if models else ""


class User(BaseModel):
    email = CharField(unique=True)
    password_hash = CharField()
    role = CharField(default="user")  # "admin" | "user"
    plan = ForeignKeyField(Plan, backref="users")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    # Part of every session's id: raising it ends every session of the user (sign-out,
    # password change, suspension), though the cookies themselves live on in browsers.
    session_epoch = IntegerField(default=0)
    # None until a self-service sign-up confirms its address (keys work only after); users
    # made by the operator are vouched for.
    email_verified_at = DateTimeField(null=True, default=utcnow)
    # The month's allowance when Stripe changed the plan mid-month (models/month.py): that
    # month ("YYYY-MM"; "" for none), the earlier plans' share, and when this plan began.
    allowance_month = CharField(default="")
    allowance_banked = BigIntegerField(default=0)
    allowance_since = DateTimeField(null=True)
    # Prepaid credit (models/selling.py): spent once the allowance is used, when opted in;
    # topped up from the card on file below a threshold, when set (cents).
    spend_credit = BooleanField(default=False)
    topup_below_cents = IntegerField(null=True)
    topup_cents = IntegerField(null=True)
    low_balance_mailed = BooleanField(default=False)
    # Sign-in's second factor: the TOTP secret (base32; "" for none) and the last time step a
    # code was taken at, so that no code signs in twice.
    totp_secret = CharField(default="")
    totp_last_step = BigIntegerField(default=0)
    # A person invited into others' accounts, with no account of their own (models/members.py).
    member_only = BooleanField(default=False)

    def allowance(self, now: dt.datetime | None = None) -> int | None:
        """Tokens this customer may use in the month of `now` (None: unlimited)."""
        return month.allowance(self.plan.monthly_tokens, self.allowance_month,
                               self.allowance_banked, self.allowance_since, now or utcnow())

    def change_plan(self, plan: "Plan", prorate: bool, now: dt.datetime | None = None) -> None:
        """Move to `plan` (saved by the caller). `prorate`: a paid change, whose allowance this
        month is prorated as its charge is; otherwise (the operator's choice) the plan's own."""
        now = now or utcnow()
        if not prorate:
            self.allowance_month, self.allowance_banked, self.allowance_since = "", 0, None
        elif plan.id != self.plan_id:
            used = 0
            if self.plan.monthly_tokens is None:
                start, _ = month.month_bounds(now)
                used = int(UsageRecord.select(fn.SUM(UsageRecord.counted_tokens)).where(
                    UsageRecord.user == self, UsageRecord.created_at >= start).scalar() or 0)
            self.allowance_banked = month.banked_at_change(
                self.plan.monthly_tokens, self.allowance_month, self.allowance_banked,
                self.allowance_since, used, now)
            self.allowance_month, self.allowance_since = month.month_key(now), now
        self.plan = plan

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)
        self.session_epoch += 1

    def end_sessions(self) -> None:
        User.update(session_epoch=User.session_epoch + 1).where(User.id == self.id).execute()
        self.session_epoch += 1


class ApiKey(BaseModel):
    user = ForeignKeyField(User, backref="keys", on_delete="CASCADE")
    name = CharField(default="")
    prefix = CharField(unique=True)  # shown in lists and logs; not a secret
    secret_hash = CharField(unique=True)  # sha256 of the whole key
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
    # The account's member who made it (their own keys are what a "member" may manage).
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    # The key's own limits (admin/key_limits.py), inside the plan's; None or "": none.
    rpm = IntegerField(null=True)
    monthly_cap_nanousd = BigIntegerField(null=True)  # spend at sell prices, a calendar month
    allowed_models = TextField(default="")  # JSON list, as the plan's
    expires_at = DateTimeField(null=True)
    allow_cidrs = TextField(default="")  # client networks, space-separated

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def model_list(self) -> list[str]:
        return json.loads(self.allowed_models) if self.allowed_models else []

    @property
    def cidr_list(self) -> list[str]:
        return self.allow_cidrs.split()

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()

    @property
    def limited(self) -> bool:
        return bool(self.rpm or self.monthly_cap_nanousd is not None or self.allowed_models
                    or self.expires_at or self.allow_cidrs)

    @classmethod
    def issue(cls, user: "User", name: str = "") -> tuple[str, "ApiKey"]:
        """A new key for `user`. Returns the secret, which exists in clear only here."""
        with write_transaction():
            while True:
                secret = new_api_key()
                if not cls.select().where(cls.prefix == display_prefix(secret)).exists():
                    break
            key = cls.create(user=user, name=name, prefix=display_prefix(secret),
                             secret_hash=hash_key(secret))
        return secret, key

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = utcnow()
            self.save()


class ModelPrice(BaseModel):
    """USD per million tokens. A model absent here is metered in tokens and flagged unpriced.

    Prices are read back exactly on every database (SQLite keeps them as doubles, and a price
    of at most 12 significant digits survives the round trip through its shortest repr); sums
    of money are never taken over them, only over UsageRecord's integer nano-dollars."""

    model = CharField(unique=True)
    provider = CharField()
    display_name = CharField(default="")
    input_per_mtok = DecimalField(max_digits=12, decimal_places=6)
    output_per_mtok = DecimalField(max_digits=12, decimal_places=6)
    cache_read_per_mtok = DecimalField(max_digits=12, decimal_places=6, default=0)
    cache_write_per_mtok = DecimalField(max_digits=12, decimal_places=6, default=0)
    max_output_tokens = IntegerField(null=True)  # the model's own output cap, when known
    # One-hour cache writes (None: priced as the five-minute ones).
    cache_write_1h_per_mtok = DecimalField(max_digits=12, decimal_places=6, null=True)
    # Prices above a prompt size, JSON {"above": tokens, "input": ..., "output": ...,
    # "cache_read": ..., "cache_write": ..., "cache_write_1h": ...}; "" for none. Past it,
    # every token of the call takes them (1M-token contexts, some Pro models).
    long_context = TextField(default="")
    # Prices of processing tiers, JSON {"flex": {"input": ..., "output": ...,
    # "cache_read": ...}, "priority": {...}}; "" for none. A call the provider reports served
    # in a tier takes that tier's prices; a tier not listed is priced as the model.
    tiers = TextField(default="")


class ToolPrice(BaseModel):
    """USD per call of a server-side tool (web search...), billed on top of tokens; `model`
    empty for the provider's price for every model, else a model's own."""

    provider = CharField()
    tool = CharField()
    model = CharField(default="")
    usd_per_call = DecimalField(max_digits=12, decimal_places=6)

    class Meta:
        indexes = ((("provider", "tool", "model"), True),)


class UsageRecord(BaseModel):
    created_at = DateTimeField(default=utcnow, index=True)
    request_id = CharField(default="")
    user = ForeignKeyField(User, backref="usage", on_delete="CASCADE")
    api_key = ForeignKeyField(ApiKey, null=True, backref="usage", on_delete="SET NULL")
    provider = CharField()
    endpoint = CharField()
    # The API the customer called: "native" (/v1/<provider>/...) or "unified" (OpenAI's shape
    # for any model, /v1/chat/completions ...); provider and endpoint are what served it.
    api = CharField(default="native")
    model = CharField(default="")
    status = IntegerField(default=0)  # 0: no response reached the client
    streamed = BooleanField(default=False)
    latency_ms = IntegerField(default=0)
    ttfb_ms = IntegerField(null=True)
    input_tokens = BigIntegerField(default=0)  # uncached input
    cache_read_tokens = BigIntegerField(default=0)
    cache_write_tokens = BigIntegerField(default=0)
    output_tokens = BigIntegerField(default=0)  # billed output, reasoning included
    reasoning_tokens = BigIntegerField(default=0)  # part of output_tokens
    total_tokens = BigIntegerField(default=0)
    tool_calls = TextField(default="")  # JSON {tool: calls} of server-side tools; "" for none
    cost_nanousd = BigIntegerField(default=0)  # USD 1e-9: integers sum exactly everywhere
    # What the customer is charged at the plan's sell prices, what the call counts against
    # the allowance (raw or weighted tokens), and the part of the charge paid from credit.
    charge_nanousd = BigIntegerField(default=0)
    counted_tokens = BigIntegerField(default=0)
    credit_nanousd = BigIntegerField(default=0)
    priced = BooleanField(default=True)
    complete = BooleanField(default=True)
    estimated = BooleanField(default=False)
    finish_reason = CharField(default="")  # the provider's: stop, length, end_turn, tool_calls...

    class Meta:
        indexes = ((("user", "created_at"), False), (("api_key", "created_at"), False))

    @property
    def cost_usd(self) -> Decimal:
        return usd(self.cost_nanousd)

    @property
    def charge_usd(self) -> Decimal:
        return usd(self.charge_nanousd)

    @property
    def tools(self) -> dict[str, int]:
        return json.loads(self.tool_calls) if self.tool_calls else {}


# The few records with server-side tool calls, found without reading the others (a month's
# statement sums their JSON).
UsageRecord.add_index(UsageRecord.index(UsageRecord.user, UsageRecord.created_at,
                                        name="usagerecord_tools",
                                        where=UsageRecord.tool_calls != ""))


def usd(nanos) -> Decimal:
    """Nano-dollars as an exact USD amount."""
    return Decimal(int(nanos or 0)).scaleb(-9)


class DeadLetter(BaseModel):
    """A usage record the database refused (a value it cannot store), set aside whole so it
    blocks no other record. Its tokens still count against the customer's month; the operator
    reads it with `python -m admin dead-letters`."""

    created_at = DateTimeField(default=utcnow, index=True)  # the call's time
    user_id = IntegerField()  # not a foreign key: nothing may refuse this row
    total_tokens = BigIntegerField(default=0)
    counted_tokens = BigIntegerField(default=0)
    credit_nanousd = BigIntegerField(default=0)
    record = TextField()  # the record as JSON, ASCII-escaped: any string fits
    error = TextField()


class OwnedObject(BaseModel):
    """Who created an object stored upstream under the business's account (a stored
    response): only that customer may read, change or continue it."""

    object_id = CharField(unique=True)
    provider = CharField()
    user = ForeignKeyField(User, on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)


ALL_TABLES = [Plan, User, ApiKey, ModelPrice, ToolPrice, UsageRecord, OwnedObject, DeadLetter]
