"""Running a fleet: `--workers N` on one port, rolling restarts that lose nothing, and the
metrics each process serves."""

from __future__ import annotations

import concurrent.futures as cf
import re
import signal
import subprocess
import sys
import threading
import time

import httpx

from tests.conftest import ROOT, chat, customer, free_port, wait_until

MSG = [{"role": "user", "content": "Hello there"}]


def scrape(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus exposition (0 if absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_several_workers_without_redis_refuse_to_start(make_gateway):
    gw = make_gateway()
    out = subprocess.run([sys.executable, "-O", "-m", "addons", "--port", str(gw.port),
                          "--workers", "2"], cwd=ROOT, env=gw.env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 1 and "--workers above 1 needs REDIS_URL" in out.stderr


def test_two_workers_share_the_port_the_plan_and_drain_together(
        make_gateway, postgres, redis_server):
    redis_server.client().flushall()
    metrics_port = free_port()
    while free_port() == metrics_port + 1:
        pass
    gw = make_gateway(DATABASE_URL=postgres.new_database(), REDIS_URL=redis_server.url,
                      METRICS_ADDRESS=f"127.0.0.1:{metrics_port}")
    gw.start(False, "--workers", "2")
    key = customer(gw, "Explorer")
    with cf.ThreadPoolExecutor(8) as pool:  # new connections: the kernel spreads them
        statuses = list(pool.map(lambda _: chat(gw, key).status_code, range(40)))
    assert statuses.count(200) == 20 and statuses.count(429) == 20  # one plan, two processes
    served = [sample(scrape(metrics_port + i), "llm_gateway_requests_total", provider="openai",
                     status="200") for i in range(2)]
    assert sum(served) == 20 and all(n > 0 for n in served)  # each worker answered some
    for _ in range(4):  # the admin UI on the same port, whichever worker answers
        assert "Sign in" in httpx.get(f"{gw.url}/login").text

    # SIGHUP to the parent: each worker reads the provider keys again, and none stops.
    gw.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: gw.log_path.read_text().count("upstream keys reloaded") == 2,
               what="both workers reloading their keys")
    assert gw.proc.poll() is None and "Sign in" in httpx.get(f"{gw.url}/login").text

    # SIGTERM to the parent drains every worker: streams under way finish, then all exit.
    gw.admin("create-plan", "Roomy", "--rpm", "1000", "--monthly-tokens", "unlimited")
    roomy = customer(gw, "Roomy")
    results: list[int] = []

    def stream() -> None:
        r = httpx.post(f"{gw.url}/v1/openai/chat/completions",
                       headers={"authorization": f"Bearer {roomy}", "x-fake-mode": "slow:100"},
                       json={"model": "gpt-4o-mini", "messages": MSG, "stream": True},
                       timeout=30)
        results.append(r.status_code if b"[DONE]" in r.content else -1)

    threads = [threading.Thread(target=stream) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    assert gw.stop(signal.SIGTERM) == 0
    for t in threads:
        t.join()
    assert results == [200] * 6
    assert len(gw.records(roomy, count=6)) == 6


def test_rolling_restarts_lose_nothing(fleet):
    """Two gateways behind a client that retries on the other one, as a load balancer would:
    each restarted in turn under load; every call answered, every record written once."""
    a, b = fleet(2)
    a.admin("create-plan", "Busy", "--rpm", "100000", "--monthly-tokens", "unlimited")
    key = customer(a, "Busy")
    done, answered, retried = threading.Event(), [], []

    def client(n: int) -> None:
        i = n
        while not done.is_set():
            for attempt in range(4):
                gw = (a, b)[(i + attempt) % 2]
                try:
                    r = chat(gw, key)
                except httpx.TransportError:
                    retried.append(1)
                    continue
                if r.status_code == 503:  # draining: the balancer tries the other
                    retried.append(1)
                    continue
                answered.append(r.status_code)
                break
            else:
                answered.append(-1)
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        for gw in (a, b):
            time.sleep(1.5)
            assert gw.stop(signal.SIGTERM) == 0
            gw.start()
        time.sleep(1.5)
    finally:
        done.set()
        for t in threads:
            t.join()
    assert answered and set(answered) == {200}
    records = a.records(key, count=len(answered))
    assert len(records) == len(answered)
    assert len({r.request_id for r in records}) == len(records)


def test_metrics_are_served_apart_from_the_public_port(make_gateway):
    port = free_port()
    gw = make_gateway(METRICS_ADDRESS=f"127.0.0.1:{port}")
    gw.start()
    key = customer(gw, "Growth")
    chat(gw, key, **{"x-fake-usage": "in=7,out=5"})
    httpx.post(f"{gw.url}/v1/openai/chat/completions", headers={"authorization": "Bearer nope"},
               json={"model": "gpt-4o-mini", "messages": MSG})
    gw.records(key, count=1)
    time.sleep(0.5)  # the writer priced it
    text = scrape(port)
    assert sample(text, "llm_gateway_requests_total", provider="openai", status="200") == 1
    assert sample(text, "llm_gateway_refusals_total", reason="authentication") == 1
    assert sample(text, "llm_gateway_tokens_total", provider="openai", kind="input") == 7
    assert sample(text, "llm_gateway_tokens_total", provider="openai", kind="output") == 5
    assert sample(text, "llm_gateway_cost_usd_total", provider="openai") > 0
    assert sample(text, "llm_gateway_upstream_latency_seconds_count", provider="openai") == 1
    assert "llm_gateway_open_streams 0.0" in text
    assert "llm_gateway_usage_writer_queue 0.0" in text
    assert httpx.get(f"{gw.url}/metrics").status_code == 404  # not on the public port


def test_redis_and_postgresql_restarted_under_load(fleet, postgres, redis_server):
    """Clients keep calling two gateways while Redis blinks and PostgreSQL restarts: the
    quota plan is refused (503) only while Redis is away, the unlimited one never, nothing
    crashes, and every answered call has its record, once."""
    a, b = fleet(2)
    limited, unlimited = customer(a, "Growth"), customer(a, "Enterprise")
    done = threading.Event()
    answers: dict[str, list[int]] = {limited: [], unlimited: []}

    def client(n: int, key: str) -> None:
        i = n
        while not done.is_set():
            try:
                answers[key].append(chat((a, b)[i % 2], key).status_code)
            except httpx.TransportError:
                answers[key].append(-1)
            i += 1

    threads = [threading.Thread(target=client, args=(n, k))
               for n in range(2) for k in (limited, unlimited)]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        redis_server.stop()
        time.sleep(1)
        redis_server.start()
        time.sleep(1)
        postgres.restart()
        time.sleep(2)
        before_end = {k: len(v) for k, v in answers.items()}
        time.sleep(1)
    finally:
        done.set()
        for t in threads:
            t.join()
    assert set(answers[unlimited]) == {200}
    assert set(answers[limited]) <= {200, 503} and 503 in answers[limited]
    assert set(answers[limited][before_end[limited]:]) == {200}  # recovered, no restart
    assert a.proc.poll() is None and b.proc.poll() is None
    for key, got in answers.items():
        records = a.records(key, count=got.count(200), timeout=15)
        assert len(records) == got.count(200)
        assert len({r.request_id for r in records}) == len(records)
