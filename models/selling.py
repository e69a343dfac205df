"""Selling: sell prices (a plan's markup on the catalog's cost, or the operator's own price of a
model), the prepaid-credit ledger, and the calls refused by a limit, counted.

Money is integers: prices in nano-dollars (USD 1e-9) per million tokens, amounts in
nano-dollars. A call's charge is the sum of its tokens times their sell prices, rounded once
(half to even) to the nano-dollar; on a weighted plan the same sum over the plan's reference
price, rounded up, is what the call counts against the allowance.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

from peewee import (
    SQL,
    BigIntegerField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    TextField,
    fn,
)

from .base import BaseModel
from .month import month_bounds
from .rollup import DAY, UsageRollup
from .tables import DeadLetter, Plan, User, utcnow

NANOS = 1_000_000_000
PER_MTOK = 1_000_000  # a price per million tokens times tokens: nano-dollars times this
BP = 10_000  # basis points in 1
DEFAULT_MARKUP_BP = 2500  # 25%: the seeded plans' and an upgraded database's markup
# A weighted allowance's reference price when the operator names none: $5 per million counted
# tokens, about the blended sell price of a mid-range model.
DEFAULT_REFERENCE = 5 * NANOS
ALLOWANCE_MODES = ("raw", "weighted")
# The token prices a model has, by the catalog's field and OpenRouter's `pricing` key.
FIELDS = {"input": "input_per_mtok", "output": "output_per_mtok",
          "cache_read": "cache_read_per_mtok", "cache_write": "cache_write_per_mtok",
          "cache_write_1h": "cache_write_1h_per_mtok"}
MOVEMENTS = ("topup", "grant", "refund")  # usage is read from the usage records


class SellPrice(BaseModel):
    """The operator's sell price of a model (nano-dollars per million tokens), for one plan or
    (`plan` empty) every plan; a field left empty takes the plan's markup on the cost."""

    model = CharField()
    plan = ForeignKeyField(Plan, null=True, on_delete="CASCADE")
    input = BigIntegerField(null=True)
    output = BigIntegerField(null=True)
    cache_read = BigIntegerField(null=True)
    cache_write = BigIntegerField(null=True)
    cache_write_1h = BigIntegerField(null=True)

    class Meta:
        indexes = ((("model", "plan"), True),)

    def prices(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in FIELDS if getattr(self, k) is not None}


class CreditMovement(BaseModel):
    """One line of a customer's credit ledger, never changed once written: a top-up paid
    through Stripe (its payment's id), a grant by the operator (with a reason), a refund.
    Spending is the usage records' `credit_nanousd`."""

    user = ForeignKeyField(User, backref="credit", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow, index=True)
    kind = CharField()  # one of MOVEMENTS
    amount_nanousd = BigIntegerField()  # positive: credit added
    stripe_payment = CharField(null=True, unique=True)  # a payment is credited once
    reason = TextField(default="")
    actor = CharField(default="")  # who made it: the operator's address, or "stripe"


class Refusal(BaseModel):
    """Calls refused by a limit, counted by customer, month and reason (rate, quota, credit,
    model): hitting a limit is when a customer may buy more."""

    user = ForeignKeyField(User, on_delete="CASCADE")
    month = CharField()  # YYYY-MM
    reason = CharField()
    count = BigIntegerField(default=0)

    class Meta:
        indexes = ((("user", "month", "reason"), True),)


SELLING_TABLES = [SellPrice, CreditMovement, Refusal]


def nanos_per_mtok(usd_per_mtok: Decimal | str | int) -> int:
    """A price in USD per million tokens as integer nano-dollars per million (exact to the
    nano-dollar; finer is rounded half to even)."""
    return int((Decimal(str(usd_per_mtok)) * NANOS).to_integral_value(ROUND_HALF_EVEN))


def marked_up(cost: int, markup_bp: int) -> int:
    """`cost` (any integer money) plus a markup in basis points, rounded half to even."""
    return divide(cost * (BP + markup_bp), BP)


def divide(n: int, d: int) -> int:
    """n / d rounded half to even, in integers (n >= 0, d > 0)."""
    q, r = divmod(n, d)
    if 2 * r > d or (2 * r == d and q % 2):
        q += 1
    return q


def sell(cost: dict, base: dict, markup_bp: int, own: dict[str, int]) -> dict[str, int | None]:
    """Sell prices (nano-dollars per million tokens, by FIELDS' short names; "cache_write_1h"
    None where it is the five-minute price) of `cost`, one of a model's sets of catalog prices
    (USD per million tokens, by catalog field; `base` the model's own): the operator's prices
    (`own`) where set, else the cost plus the markup. A tier's or a long prompt's price keeps
    the catalog's ratio to the model's own over the operator's price."""
    sold: dict[str, int | None] = {}
    for short, f in FIELDS.items():
        if cost.get(f) is None:
            sold[short] = None
            continue
        nanos = nanos_per_mtok(cost[f])
        if short in own:
            at = nanos_per_mtok(base[f]) if base.get(f) is not None else 0
            sold[short] = own[short] if cost is base or not at else divide(own[short] * nanos, at)
        else:
            sold[short] = marked_up(nanos, markup_bp)
    return sold


def operator_prices() -> dict[int | None, dict[str, dict[str, int]]]:
    """The operator's sell prices: by plan id (None: every plan), by model."""
    own: dict[int | None, dict[str, dict[str, int]]] = {}
    for sp in SellPrice.select():
        own.setdefault(sp.plan_id, {})[sp.model] = sp.prices()
    return own


def own_prices(own: dict, plan_id: int, model: str) -> dict[str, int]:
    """A plan's own prices of a model over those for every plan."""
    return {**own.get(None, {}).get(model, {}), **own.get(plan_id, {}).get(model, {})}


def charge_of(numerator: int) -> int:
    """Nano-dollars of a sum of tokens times prices per million tokens."""
    return divide(numerator, PER_MTOK)


def counted_of(numerator: int, reference: int) -> int:
    """Counted tokens of that sum against a reference price per million counted tokens."""
    return -(-numerator // reference)


def usd_text(nanos: int) -> str:
    """Nano-dollars as an exact decimal string of USD ("0.000000075")."""
    return f"{Decimal(int(nanos)).scaleb(-9):f}"


def credit_added(user_id: int) -> int:
    """Every movement of a customer's credit, summed."""
    return int(CreditMovement.select(fn.SUM(CreditMovement.amount_nanousd))
               .where(CreditMovement.user == user_id).scalar() or 0)


def credit_spent(users=None) -> dict[int, int]:
    """Credit spent by each customer (of `users`), all time: the usage records' and the dead
    letters' shares paid from credit."""
    spent: dict[int, int] = {}
    S = UsageRollup  # the records' daily sums: a row a day, not a row a call
    for q, col, uid in ((S.select().where(S.period == DAY), S.credit_nanousd, S.user_id),
                        (DeadLetter.select(), DeadLetter.credit_nanousd, DeadLetter.user_id)):
        q = q.select(uid, fn.SUM(col)).where(col != 0)
        if users is not None:
            q = q.where(uid.in_(list(users)))
        for u, total in q.group_by(uid).tuples():
            spent[u] = spent.get(u, 0) + int(total or 0)
    return spent


def credits_added(users=None) -> dict[int, int]:
    q = CreditMovement.select(CreditMovement.user, fn.SUM(CreditMovement.amount_nanousd))
    if users is not None:
        q = q.where(CreditMovement.user.in_(list(users)))
    return {u: int(t or 0) for u, t in q.group_by(CreditMovement.user).tuples()}


def balance(user_id: int) -> int:
    return credit_added(user_id) - credit_spent([user_id]).get(user_id, 0)


def usage_by_month(user_id: int) -> list[tuple[str, int]]:
    """Credit spent per month (YYYY-MM, nano-dollars), newest first: the ledger's usage
    lines."""
    S = UsageRollup
    month = fn.SUBSTR(S.start.cast("text"), 1, 7)
    # Grouped by the output column's name: PostgreSQL does not match the parametrized
    # expression itself.
    rows = (S.select(month.alias("m"), fn.SUM(S.credit_nanousd))
            .where(S.user_id == user_id, S.period == DAY, S.credit_nanousd != 0)
            .group_by(SQL("m")).order_by(SQL("m").desc()).tuples())
    return [(m, int(t)) for m, t in rows]


def refusals(user_id: int | None, now: dt.datetime | None = None) -> dict[str, int]:
    """This month's refused calls by reason (of one customer, or all)."""
    key = month_bounds(now or utcnow())[0].strftime("%Y-%m")
    q = Refusal.select(Refusal.reason, fn.SUM(Refusal.count)).where(Refusal.month == key)
    if user_id is not None:
        q = q.where(Refusal.user == user_id)
    return {r: int(n) for r, n in q.group_by(Refusal.reason).tuples()}
