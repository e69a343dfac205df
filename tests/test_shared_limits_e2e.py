"""Several gateway processes, one Redis and one PostgreSQL: every plan enforced as one gateway
enforces it, changes seen by every process at once, and Redis outages handled by policy."""

from __future__ import annotations

import concurrent.futures as cf
import time

import httpx

from tests.conftest import MSG, chat, customer, wait_until


def test_requests_per_minute_are_exact_across_processes(fleet):
    a, b = fleet(2)
    key = customer(a, "Explorer")  # 20 requests a minute
    with cf.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda i: chat((a, b)[i % 2], key).status_code, range(60)))
    assert statuses.count(200) == 20 and statuses.count(429) == 40
    r = chat(b, key)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "allows 20 requests per minute" in r.json()["error"]["message"]
    assert len(a.records(key, count=20)) == 20


def test_the_quota_holds_across_processes_under_concurrent_streams(fleet, fake_servers):
    a, b, c = fleet(3)
    a.admin("create-plan", "Shared 20K", "--rpm", "1000", "--monthly-tokens", "20000")
    key = customer(a, "Shared 20K")

    def stream(i: int) -> int:
        r = httpx.post(f"{(a, b, c)[i % 3].url}/v1/openai/chat/completions",
                       headers={"authorization": f"Bearer {key}",
                                "x-fake-usage": "in=30,out=60000", "x-fake-mode": "slow:20"},
                       json={"model": "gpt-4o-mini", "messages": MSG, "stream": True,
                             "max_tokens": 3000}, timeout=30)
        return r.status_code

    with cf.ThreadPoolExecutor(15) as pool:
        statuses = list(pool.map(stream, range(15)))
    admitted = statuses.count(200)
    assert admitted + statuses.count(429) == 15 and 1 <= admitted < 15
    records = a.records(key, count=admitted)
    total = sum(r.total_tokens for r in records)
    assert 15_000 < total <= 20_000 + admitted * 30  # the input estimate's error only
    r = chat(b, key, **{"x-fake-usage": "in=30,out=10"})
    assert r.status_code == 429 and r.headers["x-should-retry"] == "false"


def test_a_revoked_key_stops_in_every_process_within_a_second(fleet):
    a, b = fleet(2, KEY_CACHE_TTL="600")  # the cache alone would keep it ten minutes
    key = customer(a, "Growth")
    assert chat(a, key).status_code == 200 and chat(b, key).status_code == 200  # cached
    prefix = key[:11]
    a.admin("revoke-key", prefix)  # the CLI: another process again
    started = time.monotonic()
    for gw in (a, b):
        while chat(gw, key).status_code != 401:
            assert time.monotonic() - started < 1.0
            time.sleep(0.02)


def test_a_plan_change_reaches_every_process_at_once(fleet):
    a, b = fleet(2, KEY_CACHE_TTL="600")
    key = customer(a, "Explorer")
    from models import ApiKey
    from models.security import hash_key

    owner = ApiKey.get(ApiKey.secret_hash == hash_key(key)).user.email
    assert chat(b, key).headers["x-ratelimit-limit-requests"] == "20"
    a.admin("set-plan", owner, "Growth")
    deadline = time.monotonic() + 1.0
    while chat(b, key).headers["x-ratelimit-limit-requests"] != "200":
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_an_empty_redis_is_rebuilt_from_the_usage_records(fleet, redis_server):
    a, b = fleet(2)
    a.admin("create-plan", "Small", "--rpm", "1000", "--monthly-tokens", "2000")
    key = customer(a, "Small")
    assert chat(a, key, **{"x-fake-usage": "in=995,out=5"}).status_code == 200
    assert chat(b, key, **{"x-fake-usage": "in=995,out=5"}).status_code == 200
    a.records(key, count=2)
    time.sleep(0.3)  # the settlements sent
    redis_server.client().flushall()  # a new or flushed Redis: nothing in it
    r = chat(b, key, **{"x-fake-usage": "in=995,out=5"})
    assert r.status_code == 429  # 2,000 of 2,000 used, as the records say
    assert "and 0 remain" in r.json()["error"]["message"]


def test_redis_down_refuses_quota_plans_by_policy_and_recovers_without_a_restart(
        fleet, redis_server):
    a, b = fleet(2)
    limited, unlimited = customer(a, "Growth"), customer(a, "Enterprise")
    assert chat(a, limited).status_code == 200
    redis_server.stop()
    try:
        r = chat(a, limited)
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        assert "cannot check your plan's limits" in r.json()["error"]["message"]
        assert chat(b, unlimited).status_code == 200  # no quota to overrun: admitted
    finally:
        redis_server.start()
    deadline = time.monotonic() + 5
    while chat(a, limited).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert chat(b, limited).status_code == 200
    # Nothing lost: every answered call has its record, each written once.
    assert len(a.records(limited, count=3)) == 3 and len(a.records(unlimited, count=1)) == 1
    assert a.proc.poll() is None and b.proc.poll() is None


def test_healthz_tells_a_redis_outage_without_any_call_and_closed_is_down(fleet, redis_server):
    """With REDIS_OUTAGE=closed every call is refused while Redis is gone, so /healthz says
    503 (a balancer knows); under the default policy it still serves, 200, limits unavailable.
    Found by /healthz's own PING: no call has to fail first."""
    closed = fleet(1, REDIS_OUTAGE="closed")[0]
    default = fleet(1)[0]
    for gw in (closed, default):
        assert httpx.get(f"{gw.url}/healthz").json()["limits"] == "ok"
    redis_server.stop()
    try:
        for gw, code in ((closed, 503), (default, 200)):
            wait_until(lambda gw=gw: httpx.get(f"{gw.url}/healthz").json()["limits"]
                       == "unavailable", what="the outage seen", timeout=20)
            r = httpx.get(f"{gw.url}/healthz")
            assert r.status_code == code
            assert r.json()["status"] == ("unavailable" if code == 503 else "ok")
    finally:
        redis_server.start()
    wait_until(lambda: httpx.get(f"{closed.url}/healthz").status_code == 200,
               what="healthy again", timeout=30)
