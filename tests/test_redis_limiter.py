"""The shared limiter against a real Redis, in process: its month arithmetic in Lua, and
admission and settlement as the in-memory limiter does them."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal

import pytest

from addons.services.limiter import Limiter
from addons.services.redis_limiter import CIVIL, PREFIX, RedisLimiter
from tests.conftest import plan_customer


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


@pytest.mark.parametrize("over", ["tcp", "unix socket"])
def test_it_admits_as_the_in_memory_limiter_does(redis_server, over):
    redis_server.client().flushall()
    redis_server.client().set(PREFIX + "ready", 1)  # nothing to rebuild from: no records

    async def run():
        shared = RedisLimiter(redis_server.url if over == "tcp" else redis_server.unix_url)
        shared.start()
        local = Limiter()
        c = plan_customer(3, 1000, 7)
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


def test_a_redis_that_stops_answering_is_an_outage_within_the_timeout(redis_server):
    """A frozen Redis (SIGSTOP: connections stay open, nothing answers) is the case a timeout
    exists for: each admission is decided by the policy after REDIS_TIMEOUT, settlements wait,
    and once Redis answers again both go through, with no restart."""
    redis_server.client().flushall()
    redis_server.client().set(PREFIX + "ready", 1)

    async def run():
        shared = RedisLimiter(redis_server.url, policy="quota-closed", timeout=0.3)
        shared.start()
        quota, unlimited = plan_customer(100, 10_000, 8), plan_customer(100, None, 9)
        ask = {"reserve": True, "fixed": 10, "output": 40, "answers": 1, "least": 1}
        a = await shared.admit(quota, request_id="before", **ask)
        assert a.ok
        redis_server.proc.send_signal(signal.SIGSTOP)
        try:
            shared.settle(quota, a.reserved, 30, a.period)
            loop = asyncio.get_running_loop()
            started = loop.time()
            frozen = await asyncio.gather(shared.admit(quota, request_id="q1", **ask),
                                          shared.admit(unlimited, request_id="u1"))
            waited = loop.time() - started
            assert 0.3 <= waited < 1.0
            assert [(x.ok, x.refused) for x in frozen] == [(False, "unavailable"), (True, None)]
            assert shared.outages == 2
            await asyncio.sleep(0.4)  # the settlement batch tries, and waits
        finally:
            redis_server.proc.send_signal(signal.SIGCONT)
        for _ in range(50):
            back = await shared.admit(quota, request_id="after", **ask)
            if back.ok:
                break
            await asyncio.sleep(0.1)
        assert back.ok and shared.outages >= 2
        # Once Redis is back, the waiting settlement goes, and the admission whose reply was
        # lost (Redis ran it when it woke up) has its reservation released: only `after`'s
        # is held.
        month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
        expected = {b"used": b"30", b"reserved": str(back.reserved).encode()}
        for _ in range(50):
            ledger = redis_server.client().hgetall(f"{PREFIX}q:{month}:8")
            if ledger == expected:
                break
            await asyncio.sleep(0.1)
        assert ledger == expected
        shared.stop()
        await shared.client.aclose()

    asyncio.run(run())


def test_a_silently_dead_change_subscription_is_noticed_and_renewed(redis_server):
    """Frozen, Redis keeps the subscription's connection open and says nothing: the
    subscriber notices by an unanswered PING, subscribes again once Redis answers, and drops
    the cache then (changes made meanwhile were not heard)."""
    from models.changes import Subscriber, publish

    async def run():
        changes: list[float] = []
        loop = asyncio.get_running_loop()
        sub = Subscriber(redis_server.url, lambda: changes.append(loop.time()), ping_every=0.2)
        sub.start()
        await asyncio.wait_for(sub.subscribed.wait(), 5)
        assert len(changes) == 1  # on subscribing
        await asyncio.to_thread(publish, redis_server.url)
        await asyncio.sleep(0.2)
        assert len(changes) == 2 and sub.interruptions == 0
        redis_server.proc.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(0.8)  # a PING, unanswered for 0.2 s
            assert sub.interruptions >= 1 and not sub.subscribed.is_set()
        finally:
            redis_server.proc.send_signal(signal.SIGCONT)
        await asyncio.wait_for(sub.subscribed.wait(), 5)
        assert len(changes) == 3  # the cache dropped on subscribing again
        await asyncio.to_thread(publish, redis_server.url)
        await asyncio.sleep(0.2)
        assert len(changes) == 4
        sub.stop()

    asyncio.run(run())


@pytest.fixture
def locked_redis():
    """A Redis of its own that asks for a password (the session's server asks none)."""
    from tests.conftest import RedisServer

    server = RedisServer()
    server.start()
    server.client().config_set("requirepass", "s3cret")
    yield server
    server.stop()


def test_auth_and_select_finish_before_any_command_uses_the_connection(locked_redis):
    """The audit's case: admissions that came while the connection's AUTH and SELECT were on
    their way ran in database 0 (two of them past an exhausted quota)."""
    import redis

    from addons.services.redis_wire import PipelinedRedis

    url = f"redis://:s3cret@{locked_redis.host}:{locked_redis.port}/3"

    async def run():
        client = PipelinedRedis(url, 1.0)
        first = asyncio.ensure_future(client.call("INCR", "calls"))
        sent = [first]
        while not first.done():  # a command every loop iteration while it connects
            sent.append(asyncio.ensure_future(client.call("INCR", "calls")))
            await asyncio.sleep(0)
        await asyncio.gather(*sent)
        return len(sent)

    n = asyncio.run(run())
    db = {i: redis.Redis(host=locked_redis.host, port=locked_redis.port, password="s3cret",
                         db=i) for i in (0, 3)}
    assert n > 3 and int(db[3].get("calls")) == n and db[0].get("calls") is None


def test_a_wrong_password_is_an_outage_under_the_policy_not_an_error(locked_redis):
    url = f"redis://:wrong@{locked_redis.host}:{locked_redis.port}/0"

    async def run(policy):
        shared = RedisLimiter(url, policy=policy)
        shared.start()
        assert shared.available
        quota = await shared.admit(plan_customer(5, 1000, 1), request_id="q", reserve=True,
                                   fixed=10, output=10, least=1)
        assert not shared.available  # what /healthz reports as "limits": "unavailable"
        unlimited = await shared.admit(plan_customer(5, None, 2), request_id="u")
        return quota, unlimited, shared.outages

    quota, unlimited, outages = asyncio.run(run("quota-closed"))
    assert (quota.ok, quota.refused) == (False, "unavailable") and unlimited.ok
    assert outages == 2
    quota, _, _ = asyncio.run(run("open"))
    assert quota.ok


def test_health_probes_redis_without_any_call_and_closed_means_down(locked_redis):
    """/healthz's question: with no traffic, a PING tells that the shared limits are gone (a
    wrong password here); with REDIS_OUTAGE=closed that refuses every call, so the process
    reports itself down, while the other policies still serve."""
    url = f"redis://:wrong@{locked_redis.host}:{locked_redis.port}/0"

    async def run(policy):
        shared = RedisLimiter(url, policy=policy)
        shared.start()
        assert shared.healthy()  # nothing known yet; a PING is on its way
        for _ in range(50):
            await asyncio.sleep(0.02)
            if not shared.healthy():
                break
        return shared.available, shared.refuses_all, shared.outages

    assert asyncio.run(run("closed")) == (False, True, 0)  # no call was decided by it
    assert asyncio.run(run("quota-closed"))[:2] == (False, False)
    good = f"redis://:s3cret@{locked_redis.host}:{locked_redis.port}/0"

    async def fine():
        shared = RedisLimiter(good, policy="closed")
        shared.start()
        shared.healthy()
        await asyncio.sleep(0.3)
        return shared.healthy()

    assert asyncio.run(fine())


def test_calls_in_flight_count_as_in_memory_and_a_lost_reply_frees_its_place(redis_server):
    """The plan's cap on calls at once: counted on admission, freed by `finish` (batched) and
    by the release of an admission whose reply was lost; a refused call takes no place."""
    import dataclasses

    redis_server.client().flushall()
    redis_server.client().set(PREFIX + "ready", 1)
    c = plan_customer(100, None, 8)
    c = dataclasses.replace(c, plan=dataclasses.replace(c.plan, max_in_flight=2))

    async def run():
        shared, local = RedisLimiter(redis_server.url), Limiter()
        shared.start()
        got = []
        for i in range(3):
            a, b = await shared.admit(c, request_id=f"f{i}"), local.admit(c)
            got.append((a.ok, a.refused, a.in_flight))
            assert got[-1] == (b.ok, b.refused, b.in_flight)
        assert got == [(True, None, True), (True, None, True), (False, "in_flight", False)]
        assert redis_server.client().zcard(f"{PREFIX}f:8") == 2
        shared.finish(c, "f0")
        local.finish(c)
        await asyncio.sleep(0.2)  # the batch goes
        assert redis_server.client().zrange(f"{PREFIX}f:8", 0, -1) == [b"f1"]
        assert (await shared.admit(c, request_id="f3")).ok and local.admit(c).ok
        # A reply lost after Redis ran the admission: its place is released with the rest.
        shared._lost += (8, "f3")
        shared._flush_later(0)
        await asyncio.sleep(0.2)
        assert redis_server.client().zrange(f"{PREFIX}f:8", 0, -1) == [b"f1"]
        shared.stop()
        await shared.client.aclose()

    asyncio.run(run())
