"""Customer look-up by API key: from memory, filled off the event loop.

A hit costs a dict look-up. A miss runs one query in a worker thread while the loop carries on;
concurrent misses for one key share that query, and a database that does not answer is tried
again for a few seconds (a restart). Entries live `ttl` seconds (within the month), which
bounds how long a revoked key or suspended customer keeps working (with Redis, change notices
clear them at once).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import logging
import time

from cachetools import TLRUCache
from peewee import InterfaceError, OperationalError

from addons.call import Customer, KeyPolicy, PlanInfo
from addons.services.limiter import month_end
from models import ApiKey, Plan, User

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.1, 0.2, 0.4, 0.8, 1.5)  # about three seconds in all


def load_customer(secret_hash: str) -> Customer | None:
    """The active customer owning the unrevoked key with this hash, or None."""
    row = (
        ApiKey.select(ApiKey, User, Plan)
        .join(User)
        .join(Plan)
        .where(ApiKey.secret_hash == secret_hash, ApiKey.revoked_at.is_null(),
               User.active == True,  # noqa: E712 (peewee expression)
               User.email_verified_at.is_null(False))
        .first()
    )
    if row is None:
        return None
    plan = row.user.plan
    return Customer(
        user_id=row.user.id,
        email=row.user.email,
        key_id=row.id,
        key_prefix=row.prefix,
        plan=PlanInfo(
            name=plan.name,
            requests_per_minute=plan.requests_per_minute,
            monthly_tokens=row.user.allowance(),  # this month's: prorated in a change's
            allowed_models=frozenset(json.loads(plan.allowed_models or "[]")),
            plan_id=plan.id,
            markup_bp=plan.markup_bp,
            reference=plan.reference_nanousd if plan.weighted else None,
            max_in_flight=plan.max_in_flight,
        ),
        spend_credit=row.user.spend_credit or plan.pay_as_you_go,
        key=key_policy(row) if row.limited else None,
    )


def key_policy(key: ApiKey) -> KeyPolicy:
    expires = key.expires_at
    return KeyPolicy(
        rpm=key.rpm or None, monthly_cap=key.monthly_cap_nanousd,
        models=frozenset(key.model_list),
        expires=expires.replace(tzinfo=dt.UTC).timestamp() if expires else None,
        networks=tuple(ipaddress.ip_network(c, strict=False) for c in key.cidr_list),
        expires_text=expires.strftime("%Y-%m-%d %H:%M UTC") if expires else "")


class KeyCache:
    def __init__(self, ttl: float, lookup=load_customer, maxsize: int = 100_000) -> None:
        # An entry lives `ttl` seconds and never into the next month, whose allowance may
        # differ (models/month.py).
        self._cache = TLRUCache(maxsize=maxsize, timer=time.time,
                                ttu=lambda _key, _value, now: min(now + ttl, month_end(now)))
        self._lookup = lookup
        self._inflight: dict[str, asyncio.Future] = {}

    def cached(self, digest: str) -> tuple[bool, Customer | None]:
        """(found, customer) from memory alone: the hot path's look-up."""
        try:
            return True, self._cache[digest]
        except KeyError:
            return False, None

    async def resolve_digest(self, digest: str) -> Customer | None:
        found, customer = self.cached(digest)
        if found:
            return customer
        if pending := self._inflight.get(digest):
            return await asyncio.shield(pending)
        fut = asyncio.get_running_loop().create_future()
        self._inflight[digest] = fut
        try:
            customer = await self._look_up(digest)
        except Exception as e:
            fut.set_exception(e)
            fut.exception()  # mark retrieved: waiters, if any, get it raised
            raise
        finally:
            del self._inflight[digest]
        self._cache[digest] = customer
        fut.set_result(customer)
        return customer

    async def _look_up(self, digest: str) -> Customer | None:
        """The database, off the loop; while it is unreachable (a restart: about a second)
        the call waits and tries again, rather than failing at the first refusal."""
        for delay in RETRY_DELAYS:
            try:
                return await asyncio.to_thread(self._lookup, digest)
            except (OperationalError, InterfaceError):
                log.warning("key look-up: the database did not answer; retrying in %.1fs",
                            delay)
                await asyncio.sleep(delay)
        return await asyncio.to_thread(self._lookup, digest)

    def clear(self) -> None:
        """Forget everything: the admin app calls this after changing keys, users or plans."""
        self._cache.clear()
