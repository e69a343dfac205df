"""Hostile input, through the real gateway process: decompression bombs, endless or oversized
heads, deeply nested and large bodies, floods of made-up keys, bursts of sign-ins. Each is
answered with a clear 4xx in the route's provider shape, while the process stays small and a
real customer's calls stay fast."""

from __future__ import annotations

import concurrent.futures as cf
import gzip
import json
import re
import socket
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

import brotli
import httpx
import pytest
from backports import zstd

from tests.conftest import ADMIN_PASSWORD, customer, new_customer, raw_plan

MSG = [{"role": "user", "content": "Hi"}]
INFLATED = 300 * 1024 * 1024  # what each bomb would become: 300 MB of JSON-ish zeros


def rss_mib(gw) -> float:
    for line in Path(f"/proc/{gw.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def bombs():
    """Each encoding's bomb: a valid JSON object start and 300 MB of spaces inside a string."""
    raw = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "' + \
        b" " * INFLATED + b'"}]}'
    return {"gzip": gzip.compress(raw, 9), "deflate": zlib.compress(raw, 9),
            "br": brotli.compress(raw, quality=1), "zstd": zstd.compress(raw, 1)}


def test_decompression_bombs_are_refused_before_any_parsing(gateway, fake_servers, bombs):
    key = gateway.create_key("demo@startup.ai")
    before = rss_mib(gateway)

    def send(item):
        encoding, body = item
        return encoding, httpx.post(
            f"{gateway.url}/v1/openai/chat/completions", content=body, timeout=60,
            headers={"authorization": f"Bearer {key}", "content-type": "application/json",
                     "content-encoding": encoding})

    with cf.ThreadPoolExecutor(4) as pool:  # three of each, in parallel
        answers = list(pool.map(send, list(bombs.items()) * 3))
    for encoding, r in answers:
        assert r.status_code == 413, (encoding, r.status_code, r.text[:200])
        assert r.json()["error"]["code"] == "request_too_large"
        assert "inflates past" in r.json()["error"]["message"]
    assert all(len(b) < 1_000_000 for b in bombs.values())  # small on the wire
    assert rss_mib(gateway) - before < 150  # not gigabytes (it was 1.97 GB for three gzips)
    assert fake_servers["openai"].state.requests == []
    # Anthropic's and Gemini's own shapes
    r = httpx.post(f"{gateway.url}/v1/anthropic/v1/messages", content=bombs["gzip"],
                   headers={"x-api-key": key, "content-encoding": "gzip"})
    assert r.status_code == 413 and r.json()["error"]["type"] == "request_too_large"
    r = httpx.post(f"{gateway.url}/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
                   content=bombs["br"], headers={"x-goog-api-key": key,
                                                 "content-encoding": "br"})
    assert r.status_code == 413 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    # A compressed body within the limit is read as before.
    small = gzip.compress(json.dumps({"model": "gpt-4o-mini", "messages": MSG}).encode())
    r = httpx.post(f"{gateway.url}/v1/openai/chat/completions", content=small,
                   headers={"authorization": f"Bearer {key}", "content-encoding": "gzip",
                            "content-type": "application/json"})
    assert r.status_code == 200


def test_an_endless_head_is_cut_off_with_431(gateway, fake_servers):
    before = rss_mib(gateway)
    with socket.create_connection(("127.0.0.1", gateway.port)) as s:
        s.sendall(b"POST /v1/openai/chat/completions HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent, answer = 0, b""
        s.settimeout(10)
        try:
            while sent < 100 * 1024 * 1024:  # 100 MB of one header, never ended
                s.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    assert b"request_header_fields_too_large" in answer
    assert sent < 10 * 1024 * 1024  # hung up on long before 100 MB
    assert rss_mib(gateway) - before < 30
    # A head that ends, but is larger than an API takes, is not forwarded either.
    key = gateway.create_key("demo@startup.ai")
    r = httpx.post(f"{gateway.url}/v1/anthropic/v1/messages",
                   headers={"x-api-key": key, "x-big": "a" * 60_000, "x-big2": "b" * 10_000},
                   json={"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": MSG})
    assert r.status_code == 431 and r.json()["error"]["type"] == "invalid_request_error"
    assert fake_servers["anthropic"].state.requests == []
    assert httpx.get(f"{gateway.url}/healthz").status_code == 200


def test_deeply_nested_json_is_bad_input(gateway, fake_servers):
    key = gateway.create_key("demo@startup.ai")
    body = b'{"model": "gpt-4o-mini", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    log_before = gateway.log_path.stat().st_size
    r = httpx.post(f"{gateway.url}/v1/openai/chat/completions", content=body,
                   headers={"authorization": f"Bearer {key}",
                            "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    with open(gateway.log_path, "rb") as f:
        f.seek(log_before)
        assert b"Traceback" not in f.read()
    assert fake_servers["openai"].state.requests == []


BIG_BODIES = """
import concurrent.futures as cf, json, sys, httpx
url, key = sys.argv[1], sys.argv[2]
turn = {"role": "user", "content": "All work and no play makes a long, long history. " * 2}
big = json.dumps({"model": "gpt-4o-mini", "messages": [turn] * 230_000}).encode()
assert len(big) > 26_000_000  # a long chat history: ~0.13 s of parsing each
def send(_):
    return httpx.post(url + "/v1/openai/chat/completions", content=big, timeout=60,
                      headers={"authorization": "Bearer " + key,
                               "content-type": "application/json"}).status_code
with cf.ThreadPoolExecutor(5) as pool:
    print(json.dumps(list(pool.map(send, range(5)))))
"""


def test_large_bodies_in_parallel_leave_other_calls_fast(gateway):
    key = customer(gateway, raw_plan(gateway, "Startup"))
    senders = subprocess.Popen([sys.executable, "-c", BIG_BODIES, gateway.url, key],
                               stdout=subprocess.PIPE, text=True)  # another client
    latencies = []
    while senders.poll() is None:
        t = time.perf_counter()
        httpx.get(f"{gateway.url}/healthz")
        latencies.append(time.perf_counter() - t)
        time.sleep(0.01)
    # Startup's 1M tokens a month cannot pay for a 6.5M-token prompt: refused, unsent.
    assert json.loads(senders.stdout.read()) == [429] * 5
    assert len(latencies) > 20 and max(latencies) < 0.5, sorted(latencies)[-5:]  # was 0.65+ s


def test_a_large_body_goes_upstream_whole_with_its_cap(gateway, fake_servers):
    """Read by the worker process, shallow: the messages go on as they came, byte for byte in
    meaning, and the output cap is set beside them."""
    key = gateway.create_key("dev@enterprise.com")  # Growth: 10M tokens a month
    messages = [{"role": "user", "content": f"turn {i}: " + "é and ü, \"quoted\" " * 20}
                for i in range(6000)]
    body = {"model": "gpt-4o-mini", "messages": messages, "temperature": 0.2}
    assert len(json.dumps(body)) > 1024 * 1024
    r = httpx.post(f"{gateway.url}/v1/openai/chat/completions", json=body,
                   headers={"authorization": f"Bearer {key}"}, timeout=30)
    assert r.status_code == 200
    sent = json.loads(fake_servers["openai"].state.requests[-1]["body"])
    assert sent == {**body, "max_completion_tokens": 16_384}


FLOOD = """
import collections, concurrent.futures as cf, json, secrets, sys, httpx
url, n = sys.argv[1], int(sys.argv[2])
client = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.5"), base_url=url,
                      limits=httpx.Limits(max_connections=16))
def one(_):
    key = "gw-" + secrets.token_urlsafe(32)
    return client.get("/v1/openai/v1/models", headers={"authorization": "Bearer " + key}
                      ).status_code
with cf.ThreadPoolExecutor(16) as pool:
    print(json.dumps(collections.Counter(pool.map(one, range(n)))))
"""


def test_a_flood_of_made_up_keys_costs_a_real_customer_nothing(make_gateway):
    gw = make_gateway(INVALID_KEYS_PER_MINUTE="30").start()  # the default throttle
    real = gw.create_key(new_customer(gw, "Growth"))

    def customer_latency(n=30):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            assert httpx.get(f"{gw.url}/v1/openai/v1/models",
                             headers={"authorization": f"Bearer {real}"}).status_code == 200
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    quiet = customer_latency()
    flood = subprocess.Popen([sys.executable, "-c", FLOOD, gw.url, "4000"],
                             stdout=subprocess.PIPE, text=True)  # another client, elsewhere
    time.sleep(0.5)
    attacked = customer_latency()
    statuses = {int(k): v for k, v in json.loads(flood.communicate(timeout=120)[0]).items()}
    assert flood.returncode == 0
    refused = statuses.get(429, 0)  # past 30 in the minute: refused before any look-up
    assert 4000 - 30 - 16 <= refused <= 4000 - 30 and statuses[401] == 4000 - refused
    assert attacked < max(4 * quiet, 0.03), (quiet, attacked)  # it was 4 ms -> 263 ms


def test_a_burst_of_sign_ins_does_not_stall_other_pages(gateway):
    from models import Plan, User
    from models.security import hash_password

    hashed, plan = hash_password("the right password"), Plan.get(Plan.name == "Startup")
    User.insert_many([{"email": f"burst{i}@corp.io", "password_hash": hashed, "plan": plan}
                      for i in range(120)]).execute()

    def bad_sign_in(i):  # 120 accounts, each tried once, from 120 addresses: no throttle
        transport = httpx.HTTPTransport(local_address=f"127.0.1.{i % 200 + 1}")
        with httpx.Client(transport=transport, base_url=gateway.url, timeout=60) as c:
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)[1]
            return c.post("/login", data={"email": f"burst{i}@corp.io", "password": "wrong pw",
                                          "csrf_token": token}).status_code

    with httpx.Client(base_url=gateway.url) as admin:
        token = re.search(r'name="csrf_token" value="([^"]+)"', admin.get("/login").text)[1]
        admin.post("/login", data={"email": "admin@llm-gateway.io",
                                   "password": ADMIN_PASSWORD, "csrf_token": token})
        with cf.ThreadPoolExecutor(40) as pool:
            burst = pool.map(bad_sign_in, range(120))
            time.sleep(0.3)  # the burst is under way
            times = []
            for _ in range(5):
                t = time.perf_counter()
                assert admin.get("/ops/customers").status_code == 200
                times.append(time.perf_counter() - t)
            assert set(burst) == {401}
    assert statistics.median(times) < 1.0, times  # it was 2.6 s on one thread


def test_memory_of_large_bodies_is_given_back(make_gateway):
    """The audit: one 29 MiB body kept about 60 MiB in the process for good, eight gzip bodies
    inflating to 30 MiB each about 400 MiB (measured here before the fix: +63 and +386 MiB)."""
    gw = make_gateway().start()
    gw.admin("create-user", "bulk@corp.io", "--plan", "Enterprise")  # nothing refused
    key = gw.create_key("bulk@corp.io")

    def send(content: bytes, encoding: str | None = None) -> int:
        headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        if encoding:
            headers["content-encoding"] = encoding
        return httpx.post(f"{gw.url}/v1/openai/chat/completions", content=content,
                          headers=headers, timeout=120).status_code

    small = json.dumps({"model": "gpt-4o-mini", "max_tokens": 5, "messages": MSG}).encode()
    for _ in range(20):
        send(small)
    before = rss_mib(gw)
    big = json.dumps({"model": "gpt-4o-mini", "max_tokens": 5, "messages": [
        {"role": "user", "content": "word " * (29 * 1024 * 1024 // 5)}]}).encode()
    assert send(big) == 200
    zipped = gzip.compress(json.dumps({"model": "gpt-4o-mini", "max_tokens": 5, "messages": [
        {"role": "user", "content": " " * (30 * 1024 * 1024)}]}).encode(), 9)
    with cf.ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda _: send(zipped, "gzip"), range(8))) == [200] * 8
    time.sleep(2)  # the collection a second after the last of them
    assert rss_mib(gw) - before < 100
