"""Values as people type them into the operator's forms, checked once: whole numbers, amounts
of money, prices per million tokens. Anything else is `Invalid`, with a message for the person
who typed it; never an exception from deeper down (a 500)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

INT_MAX = 2**31 - 1  # what an integer column holds on every database
BIG_MAX = 2**63 - 1  # a big integer column (tokens)
PRICE_MAX = Decimal(10) ** 6  # USD per million tokens: a price column's 12 digits, 6 decimal


class Invalid(ValueError):
    """A change refused, with the reason for the person who asked."""


def whole(text: str | None, what: str, *, minimum: int = 0,
          unlimited: bool = False) -> int | None:
    """A whole number ("1,000,000" and "1_000_000" too); with `unlimited`, empty or
    "unlimited" is None. What a column holds is the saving service's to check."""
    raw = (text or "").strip()
    if unlimited and raw.lower() in ("", "unlimited"):
        return None
    try:
        value = int(raw.replace(",", "").replace("_", ""))
    except ValueError:
        raise Invalid(f"{what} must be a whole number") from None
    if value < minimum:
        raise Invalid(f"{what} must be at least {minimum}")
    return value


def _decimal(text: str | None, what: str, kind: str) -> Decimal:
    """A finite amount that is not negative (empty: 0), exact."""
    try:
        value = Decimal((text or "").strip() or "0")
    except InvalidOperation:
        raise Invalid(f"{what} must be {kind}") from None
    if not value.is_finite() or value < 0:
        raise Invalid(f"{what} must be {kind}, not negative")
    return value


def price(text: str | None, what: str) -> Decimal:
    """A price per million tokens, exact, within what a price column holds."""
    value = _decimal(text, what, "a number")
    if value >= PRICE_MAX or value != value.quantize(Decimal("0.000001")):  # in that order
        raise Invalid(f"{what} must be below {PRICE_MAX:,} with at most 6 decimals")
    return value


def cents(text: str | None, what: str = "the price") -> int:
    """Dollars as typed ("29", "29.90") in whole cents; anything else (NaN, Infinity, a
    negative amount, a fraction of a cent, more than a column holds) refused."""
    value = _decimal(text, what, "an amount in dollars and whole cents")
    if value * 100 > INT_MAX:  # before any arithmetic a huge exponent would refuse
        raise Invalid(f"{what} must be at most ${INT_MAX // 100:,}")
    if (value * 100) % 1:
        raise Invalid(f"{what} must be an amount in dollars and whole cents, not negative")
    return int(value * 100)


def percent(text, what: str = "the markup") -> int:
    """A percentage as typed ("25", "12.5", "-10") in basis points: above -100%, at most
    10,000%, to a hundredth of a percent."""
    try:
        value = Decimal(str(text).strip().rstrip("%"))
    except InvalidOperation:
        raise Invalid(f"{what} must be a percentage") from None
    if not value.is_finite() or not Decimal(-100) < value <= Decimal(10_000):
        raise Invalid(f"{what} must be a percentage above -100 and at most 10,000")
    if (value * 100) % 1:
        raise Invalid(f"{what} must have at most two decimals")
    return int(value * 100)


def usd(text, what: str, *, least: Decimal = Decimal(0), most: Decimal = Decimal(10) ** 9,
        places: int = 9) -> Decimal:
    """An amount of US dollars as typed, exact, from `least` to `most`, to `places`
    decimals."""
    value = _decimal(str(text), what, "an amount in US dollars")
    if not least <= value <= most:
        raise Invalid(f"{what} must be from ${least:,} to ${most:,}")
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise Invalid(f"{what} must have at most {places} decimals")
    return value
