"""The shared limiter against a real Redis, in process: its month arithmetic in Lua, and
admission and settlement as the in-memory limiter does them."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from addons.call import Customer, PlanInfo
from addons.limiter import Limiter
from addons.redislimiter import CIVIL, PREFIX, RedisLimiter


@pytest.mark.parametrize("day", ["1970-01-01", "2024-02-29", "2024-03-01", "2026-12-31",
                                 "2027-01-01", "2100-02-28", "2100-03-01", "1999-12-31"])
def test_the_scripts_month_arithmetic(redis_server, day):
    d = dt.date.fromisoformat(day)
    days = (d - dt.date(1970, 1, 1)).days
    y, m, first = redis_server.client().eval(
        CIVIL + "local y, m = civil(tonumber(ARGV[1])); return {y, m, first_day(y, m)}",
        0, days)
    assert (y, m) == (d.year, d.month)
    assert first == (dt.date(d.year, d.month, 1) - dt.date(1970, 1, 1)).days


def customer(uid: int, rpm: int, tokens: int | None) -> Customer:
    return Customer(uid, f"u{uid}@example.com", uid, "gw-x", PlanInfo("P", rpm, tokens,
                                                                     frozenset()))


@pytest.mark.parametrize("over", ["tcp", "unix socket"])
def test_it_admits_as_the_in_memory_limiter_does(redis_server, over):
    redis_server.client().flushall()
    redis_server.client().set(PREFIX + "ready", 1)  # nothing to rebuild from: no records

    async def run():
        shared = RedisLimiter(redis_server.url if over == "tcp" else redis_server.unix_url)
        shared.start()
        local = Limiter()
        c = customer(7, 3, 1000)
        got = []
        for i in range(4):
            ask = {"reserve": True, "fixed": 100, "output": 400, "answers": 1, "least": 1}
            a = await shared.admit(c, request_id=f"r{i}", **ask)
            b = local.admit(c, **ask)
            got.append((a.ok, a.refused, a.output, a.reserved, a.available))
            assert got[-1] == (b.ok, b.refused, b.output, b.reserved, b.available)
            if a.ok:
                shared.settle(c, a.reserved, 150, a.period)
                local.settle(c, b.reserved, 150)
                await asyncio.sleep(0.2)  # the settlement batch goes
        assert [g[:2] for g in got] == [(True, None), (True, None), (True, None),
                                        (False, "rate")]
        assert got[2][2] == 400 and got[2][4] == 1000 - 300  # the third: 700 left, 400 cap
        s = shared.standing(c)
        assert (s.rpm, s.remaining_requests, s.token_limit) == (3, 0, 1000)
        month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
        ledger = redis_server.client().hgetall(f"{PREFIX}q:{month}:7")
        assert ledger == {b"used": b"450", b"reserved": b"0"}
        shared.stop()
        await shared.client.aclose()

    asyncio.run(run())
