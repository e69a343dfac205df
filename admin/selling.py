"""The selling changes the command line and the web UI both make: the operator's sell prices of
a model, credit granted, a customer's credit settings; and the credit ledger as both read it.
Checked once here (`Invalid`), announced to the gateway like every account change."""

from __future__ import annotations

from decimal import Decimal

from peewee import IntegrityError

from models import Plan, User, selling, utcnow
from models.base import write_transaction
from models.catalog import catalog_name
from models.selling import CreditMovement, SellPrice, usd_text

from . import values
from .accounts import Invalid, announce

MIN_TOPUP_CENTS = 500  # $5: the smallest top-up (Stripe's fee makes less not worth it)
MAX_TOPUP_CENTS = 1_000_000  # $10,000 at once
NANOS_PER_CENT = 10_000_000


# --- sell prices --------------------------------------------------------------------------------


def set_sell_price(model: str, plan: Plan | None, prices: dict[str, str | None]) -> SellPrice:
    """The operator's sell prices of a catalog model (USD per million tokens as typed, by
    FIELDS' short names; None or "" leaves a field to the markup), for one plan or every
    plan."""
    from models import ModelPrice

    known = [m.model for m in ModelPrice.select(ModelPrice.model)]
    name = catalog_name(model.strip(), known) if model else None
    if name is None:
        raise Invalid(f"no model {model} in the catalog")
    fields = {}
    for short in selling.FIELDS:
        text = prices.get(short)
        if text not in (None, ""):
            fields[short] = selling.nanos_per_mtok(values.price(text, f"the {short} price"))
        else:
            fields[short] = None
    with write_transaction():
        row = SellPrice.get_or_none(SellPrice.model == name, SellPrice.plan == plan) \
            if plan is not None else SellPrice.get_or_none(SellPrice.model == name,
                                                           SellPrice.plan.is_null())
        if all(v is None for v in fields.values()):
            if row is not None:
                row.delete_instance()
            row = SellPrice(model=name, plan=plan)
        else:
            row = row or SellPrice(model=name, plan=plan)
            for k, v in fields.items():
                setattr(row, k, v)
            row.save()
    announce()
    return row


def sell_price_rows() -> list[SellPrice]:
    return list(SellPrice.select().order_by(SellPrice.model, SellPrice.plan))


# --- credit -------------------------------------------------------------------------------------


def grant(user: User, amount, reason: str, actor: str) -> CreditMovement:
    """Credit given by the operator (negative: taken back), with the reason the customer
    sees."""
    usd = values.usd(amount, "the amount", least=-(Decimal(10) ** 6), most=Decimal(10) ** 6)
    if not usd:
        raise Invalid("the amount must not be zero")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("a grant needs a reason")
    with write_transaction():
        movement = CreditMovement.create(user=user, kind="grant", reason=reason[:500],
                                         amount_nanousd=int(usd * selling.NANOS), actor=actor)
        if usd > 0:
            User.update(low_balance_mailed=False).where(User.id == user.id).execute()
    announce()
    return movement


def record_topup(user_id: int, payment_id: str, cents: int, actor: str = "stripe",
                 reason: str = "top-up", tell: bool = True) -> CreditMovement | None:
    """A top-up Stripe says was paid: credited once, however often it is told (the payment's
    id is unique). Returns the movement made now, None if it was made before. `tell` False:
    the caller tells the gateway once its transaction commits."""
    try:
        with write_transaction():
            movement = CreditMovement.create(
                user=user_id, kind="topup", amount_nanousd=cents * NANOS_PER_CENT,
                stripe_payment=payment_id, actor=actor, reason=reason)
            User.update(low_balance_mailed=False).where(User.id == user_id).execute()
    except IntegrityError:
        return None
    if tell:
        announce()
    return movement


def set_credit_terms(user: User, spend: bool | None = None, below=None, amount=None,
                     auto: bool | None = None) -> User:
    """A customer's choices: spend credit once the allowance is used; top up `amount` dollars
    from the card on file when the balance falls under `below` dollars (`auto` False: off)."""
    if spend is not None:
        user.spend_credit = bool(spend)
    if auto is False:
        user.topup_below_cents = user.topup_cents = None
    elif auto:
        user.topup_below_cents = values.cents(below, "the threshold")
        user.topup_cents = values.cents(amount, "the top-up amount")
        if user.topup_cents < MIN_TOPUP_CENTS:
            raise Invalid(f"a top-up is at least ${MIN_TOPUP_CENTS // 100}")
        if user.topup_cents > MAX_TOPUP_CENTS:
            raise Invalid(f"a top-up is at most ${MAX_TOPUP_CENTS // 100:,}")
    user.save()
    announce()
    return user


def ledger(user: User, reserved: int = 0) -> dict:
    """The customer's credit: balance, what calls in flight hold (`reserved`, nano-dollars, as
    the limits know it), auto top-up, and every movement (top-ups and grants as made, usage
    summed by month), newest first, amounts as exact decimal strings."""
    movements = [{"at": m.created_at.isoformat(timespec="seconds") + "Z", "kind": m.kind,
                  "amount_usd": usd_text(m.amount_nanousd), "reason": m.reason,
                  "stripe_payment": m.stripe_payment or None, "by": m.actor}
                 for m in CreditMovement.select().where(CreditMovement.user == user)
                 .order_by(CreditMovement.created_at.desc(), CreditMovement.id.desc())]
    usage = [{"month": month, "kind": "usage", "amount_usd": usd_text(-spent)}
             for month, spent in selling.usage_by_month(user.id)]
    movements = sorted(movements + usage, reverse=True,
                       key=lambda m: m.get("at") or f"{m['month']}-99")
    return {
        "email": user.email,
        "balance_usd": usd_text(selling.balance(user.id)),
        "reserved_usd": usd_text(reserved),
        "spend_credit": bool(user.spend_credit or user.plan.pay_as_you_go),
        "auto_topup": None if user.topup_cents is None else {
            "below_usd": usd_text(user.topup_below_cents * NANOS_PER_CENT),
            "amount_usd": usd_text(user.topup_cents * NANOS_PER_CENT)},
        "movements": movements,
        "as_of": utcnow().isoformat(timespec="seconds") + "Z",
    }
