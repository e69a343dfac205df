"""A key's own limits as people type them (the keys page, the CLI): checked once, here.

A key may have a rate (requests per minute), a monthly spend cap (USD at the plan's sell
prices, per calendar month in UTC), the models it may call, an expiry and the client networks
it may be used from. A customer's limits sit inside the plan; the operator's may say more, and
the plan applies all the same.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from decimal import Decimal

from models import utcnow
from models.catalog import catalog_name

from . import values

Invalid = values.Invalid
NANOS = Decimal(10) ** 9


def _rpm(text) -> int | None:
    if not str(text or "").strip():
        return None
    rpm = values.whole(str(text), "requests per minute", minimum=1)
    if rpm > values.INT_MAX:
        raise Invalid(f"requests per minute must be at most {values.INT_MAX:,}")
    return rpm


def _cap(text) -> int | None:
    text = str(text or "").strip().lstrip("$")
    if not text:
        return None
    usd = values.usd(text, "the monthly spend cap", least=Decimal("0.000000001"))
    return int(usd * NANOS)


def _models(text) -> list[str]:
    names = text if isinstance(text, list | tuple) else str(text or "").replace(",", " ").split()
    return sorted({n.strip() for n in names if n and n.strip()})


def _expiry(text) -> dt.datetime | None:
    """A date (the key works through that day, UTC) or an ISO time."""
    text = str(text or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            when = dt.datetime.combine(dt.date.fromisoformat(text) + dt.timedelta(days=1),
                                       dt.time())
        else:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if when.tzinfo is not None:
                when = when.astimezone(dt.UTC).replace(tzinfo=None)
    except ValueError:
        raise Invalid(f"the expiry must be a date as YYYY-MM-DD, not {text!r}") from None
    if when <= utcnow():
        raise Invalid("the expiry must be in the future")
    return when


def _cidrs(text) -> list[str]:
    """Networks (`203.0.113.0/24`, `2001:db8::/32`) or single addresses, normalised."""
    items = text if isinstance(text, list | tuple) else str(text or "").replace(",", " ").split()
    nets = []
    for item in (i.strip() for i in items if i and i.strip()):
        try:
            nets.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise Invalid(f"allowed addresses: {item!r} is not an address or a network such "
                          "as 203.0.113.0/24") from None
    return list(dict.fromkeys(nets))


def parse(plan, *, rpm="", monthly_usd="", models="", expires="", cidrs="",
          within_plan: bool = True) -> dict:
    """The ApiKey columns for limits as typed. `within_plan`: the customer's own, which may
    not go past the plan's rate or models."""
    limits = {"rpm": _rpm(rpm), "monthly_cap_nanousd": _cap(monthly_usd),
              "expires_at": _expiry(expires), "allow_cidrs": " ".join(_cidrs(cidrs))}
    chosen = _models(models)
    if within_plan:
        if limits["rpm"] is not None and limits["rpm"] > plan.requests_per_minute:
            raise Invalid(f"requests per minute: at most the {plan.name} plan's "
                          f"{plan.requests_per_minute}")
        allowed = plan.model_list
        outside = [m for m in chosen if allowed and m not in allowed
                   and catalog_name(m, allowed) is None]
        if outside:
            raise Invalid(f"models not on the {plan.name} plan: {', '.join(outside)}")
    limits["allowed_models"] = json.dumps(chosen) if chosen else ""
    return limits


def usd_text(nanos: int | None) -> str:
    """Nano-dollars as the form shows them back ("" for none)."""
    if nanos is None:
        return ""
    return f"{(Decimal(nanos) / NANOS).normalize():f}"
