"""Money and time on Stripe's terms, pure: Stripe's timestamps, a price's id, a field a Stripe
object may lack, what a plan bills a month, and the prorations of a month billed from the 1st."""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import ROUND_HALF_UP, Decimal

from models import Subscription
from models.month import epoch, month_bounds


def stamp(ts) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(ts), dt.UTC).replace(tzinfo=None) if ts else None


def price_id(name: str, cents: int) -> str:
    """A monthly price's id, derived from what it charges: syncing twice makes nothing new,
    and a new amount is a new price (Stripe prices cannot change)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"llm-gateway-{slug}-{cents}-usd-month"


def field(obj, key: str, default=None):
    """A field of a Stripe object, or `default` where this API version or server has none."""
    return obj[key] if key in obj and obj[key] is not None else default


def prorated_cents(difference: int, remote, item) -> int:
    """`difference` (cents a month) for the part of the current period still to come, rounded
    to the cent as Stripe rounds a proration. A period billed from the 1st is a share of its
    calendar month (the first one is shorter); an older one, billed on another day, of itself."""
    start = field(remote, "current_period_start") or field(item, "current_period_start")
    end = field(remote, "current_period_end") or field(item, "current_period_end")
    if not start or not end or end <= start:
        return difference
    start, end = int(start), int(end)
    left = max(0, min(end - int(time.time()), end - start))
    first, last = month_bounds(stamp(end) - dt.timedelta(microseconds=1))
    whole = int((last - first).total_seconds()) if epoch(last) == end else end - start
    return _share(difference, left, whole)


def prorated_stretch(cents: int, start: dt.datetime, end: dt.datetime) -> int:
    """A monthly price for [start, end), a stretch within one calendar month, to the cent."""
    first, last = month_bounds(start)
    return _share(cents, int((end - start).total_seconds()), int((last - first).total_seconds()))


def _share(cents: int, part: int, whole: int) -> int:
    """`cents` x part / whole, rounded to the cent as Stripe rounds a proration."""
    return int((Decimal(cents) * part / whole).quantize(Decimal(1), ROUND_HALF_UP))


def monthly_cents(sub: Subscription) -> int | None:
    """What the subscribed plan bills a month: its price, or this customer's custom price."""
    if sub.plan is None:
        return None
    return sub.custom_price_cents if sub.plan.price_cents is None else sub.plan.price_cents
