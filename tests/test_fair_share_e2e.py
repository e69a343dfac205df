"""Fair share: connections per client address capped before a byte is read, refused callers
answered with `Connection: close` and a lower cap, calls in flight capped per plan (refused in
the provider's 429 shape, through the official SDKs), in one process and across processes on
Redis; and the flood measured with wrk from one address while a customer calls from another."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time

import anthropic
import httpx
import openai
import pytest
from google.genai import errors as genai_errors

from tests.conftest import ROOT, ant, free_port, gem, new_customer, oai, wait_until

MSG = [{"role": "user", "content": "Hi"}]


def connect(gw, address: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5,
                                 source_address=(address, 0))
    return s


def closed_at_once(s: socket.socket) -> bool:
    """The gateway closed it without reading or answering anything."""
    s.settimeout(2)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def exchange(s: socket.socket, path: str = "/healthz", headers: str = "",
             body: bytes = b"", method: str = "GET",
             wait_close: bool = True) -> tuple[int, bytes, bool]:
    """One request on an open connection: (status, head, whether the gateway then closed it,
    waiting a second to see, with `wait_close`)."""
    s.settimeout(10)
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: gw\r\n{headers}"
              f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, rest = data.split(b"\r\n\r\n", 1)
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(rest) < length:
        rest += s.recv(65536)
    if not wait_close:
        return int(head.split()[1]), head.lower(), False
    s.settimeout(1)
    try:
        closed = s.recv(1) == b""
    except TimeoutError:
        closed = False
    except ConnectionResetError:
        closed = True
    return int(head.split()[1]), head.lower(), closed


def answered(gw, address: str, path: str = "/healthz", headers: str = "") -> int | None:
    """The status a new connection from `address` is answered with (None: closed)."""
    with connect(gw, address) as s:
        try:
            return exchange(s, path, headers, wait_close=False)[0]
        except OSError:
            return None


def served(gw, address: str) -> bool:
    return answered(gw, address) == 200


def quick(gw, address: str) -> float:
    """Seconds a new connection from `address` takes to be answered 200."""
    start = time.monotonic()
    assert served(gw, address)
    return time.monotonic() - start


def chat_request(key: str) -> tuple[str, bytes]:
    body = json.dumps({"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 8}).encode()
    return (f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n", body)


def test_connections_per_address_are_capped_and_refusals_close(make_gateway):
    metrics = f"127.0.0.1:{free_port()}"
    gw = make_gateway(MAX_CONNECTIONS_PER_ADDRESS="3", TRUSTED_PROXIES="127.0.0.7",
                      FLOOD_DELAY="0.5", METRICS_ADDRESS=metrics).start()
    key = gw.create_key(new_customer(gw, "Startup"))

    # Three connections from one address are served; a fourth is closed as it connects.
    held = [connect(gw, "127.0.0.5") for _ in range(3)]
    fourth = connect(gw, "127.0.0.5")
    assert closed_at_once(fourth)
    assert all(exchange(s)[0] == 200 for s in held)
    # Another address is not affected; neither is a trusted proxy (many clients behind it).
    other = connect(gw, "127.0.0.6")
    assert exchange(other)[0] == 200
    behind_proxy = [connect(gw, "127.0.0.7") for _ in range(6)]
    assert all(exchange(s)[0] == 200 for s in behind_proxy)
    # One closed frees its place.
    held.pop().close()
    wait_until(lambda: served(gw, "127.0.0.5"), timeout=5, what="a place freed")
    for s in held + behind_proxy + [other]:
        s.close()

    # A customer's call keeps its connection; the gateway's refusals close theirs.
    s = connect(gw, "127.0.0.8")
    status, head, closed = exchange(s, "/v1/openai/chat/completions", *chat_request(key),
                                    method="POST")
    assert status == 200 and not closed and b"connection: close" not in head
    status, head, closed = exchange(s, "/v1/openai/chat/completions",
                                    *chat_request("gw-" + "x" * 43), method="POST")
    assert status == 401 and b"connection: close" in head and closed
    # The provider's own refusal is the customer's answer, not the gateway's: kept alive.
    s = connect(gw, "127.0.0.9")
    headers, body = chat_request(key)
    status, head, closed = exchange(s, "/v1/openai/chat/completions",
                                    headers + "x-fake-mode: fail:400:1\r\n", body, "POST")
    assert status == 400 and not closed
    s.close()

    # Refused now and then, an address is served at once; refused 20 times in 10 s, it is a
    # flood: each new connection of its waits half a second, then is served.
    assert quick(gw, "127.0.0.8") < 0.4
    for _ in range(19):  # (a closed connection's place frees a moment later)
        assert wait_until(lambda: answered(gw, "127.0.0.8", "/v1/openai/models",
                                           "Authorization: Bearer gw-unknown\r\n"),
                          timeout=5) == 401
    assert 0.5 <= quick(gw, "127.0.0.8") < 2
    assert quick(gw, "127.0.0.9") < 0.4  # another address is not
    counted = httpx.get(f"http://{metrics}/metrics").text
    over_cap = re.search(r'held_back_total\{reason="over_cap"\} ([\d.]+)', counted)
    assert over_cap and float(over_cap[1]) >= 1
    assert 'llm_gateway_connections_held_back_total{reason="flooding"} 1.0' in counted


def test_over_its_rate_a_customer_is_answered_with_connection_close(make_gateway):
    gw = make_gateway().start()
    gw.admin("create-plan", "Trickle", "--rpm", "1", "--monthly-tokens", "unlimited")
    key = gw.create_key(new_customer(gw, "Trickle"))
    s = connect(gw, "127.0.0.10")
    assert exchange(s, "/v1/openai/chat/completions", *chat_request(key), method="POST")[0] \
        == 200
    status, head, closed = exchange(s, "/v1/openai/chat/completions", *chat_request(key),
                                    method="POST")
    assert status == 429 and b"retry-after" in head and b"connection: close" in head and closed
    s.close()


def held_streams(gw, key: str, n: int, fake, total: int) -> list[threading.Thread]:
    """`n` streams that the fake upstream holds open until released (`total` held then)."""
    def stream():
        with oai(gw, key).chat.completions.create(
                model="gpt-4o-mini", messages=MSG, stream=True,
                extra_headers={"x-fake-mode": "hold"}) as events:
            for _ in events:
                pass

    threads = [threading.Thread(target=stream) for _ in range(n)]
    for t in threads:
        t.start()
    wait_until(lambda: len([r for r in fake.state.requests
                            if r["headers"].get("x-fake-mode") == "hold"]) >= total,
               what="the streams upstream")
    return threads


def in_flight_cap(gateways, fake_servers) -> None:
    """A plan allowing two calls at once: the third is refused in each SDK's 429, the
    customer's other keys share the cap, another customer is not affected; once they end,
    calls go again."""
    gw, other_gw = gateways[0], gateways[-1]
    gw.admin("create-plan", "Pair", "--rpm", "1000", "--monthly-tokens", "unlimited",
             "--in-flight", "2")
    email = new_customer(gw, "Pair")
    key, second_key = gw.create_key(email), gw.create_key(email, "second")
    fake = fake_servers["openai"]
    threads = held_streams(gw, key, 1, fake, 1)
    try:
        threads += held_streams(other_gw, second_key, 1, fake, 2)
        with pytest.raises(openai.RateLimitError) as refused:
            oai(gw, key).chat.completions.create(model="gpt-4o-mini", messages=MSG)
        assert "Pair plan allows 2 at once" in refused.value.message
        assert refused.value.response.headers["retry-after"] == "1"
        with pytest.raises(anthropic.RateLimitError) as refused:
            ant(other_gw, second_key).messages.create(model="claude-haiku-4-5",
                                                      max_tokens=8, messages=MSG)
        assert refused.value.body["error"]["type"] == "rate_limit_error"
        with pytest.raises(genai_errors.ClientError) as refused:
            gem(gw, key).models.generate_content(model="gemini-2.5-flash", contents="Hi")
        assert refused.value.code == 429 and "allows 2 at once" in refused.value.message
        # Another customer is not held by this one's calls.
        oai(gw, gw.create_key(new_customer(gw, "Startup"))).chat.completions.create(
            model="gpt-4o-mini", messages=MSG)
    finally:
        fake.state.release()
        for t in threads:
            t.join(20)

    def answered() -> bool:
        try:
            oai(other_gw, key).chat.completions.create(model="gpt-4o-mini", messages=MSG)
            return True
        except openai.RateLimitError:
            return False

    wait_until(answered, timeout=5, what="the ended calls' places freed")


def test_calls_in_flight_are_capped_per_plan(make_gateway, fake_servers):
    in_flight_cap([make_gateway().start()], fake_servers)


def test_calls_in_flight_are_capped_across_processes_on_redis(fleet, fake_servers):
    in_flight_cap(fleet(2), fake_servers)


def test_plans_carry_their_cap_on_calls_in_flight(make_gateway):
    gw = make_gateway()
    from models import Plan

    assert {p.name: p.max_in_flight for p in Plan.select()} == {
        "Explorer": 10, "Startup": 25, "Growth": 100, "Enterprise": 250}
    gw.admin("edit-plan", "Startup", "--in-flight", "unlimited")
    assert Plan.get(Plan.name == "Startup").max_in_flight is None
    gw.admin("edit-plan", "Growth", "--in-flight", "7")
    assert Plan.get(Plan.name == "Growth").max_in_flight == 7
    refused = gw.admin("edit-plan", "Growth", "--in-flight", "0", check=False)
    assert refused.returncode != 0 and "calls in flight at once" in refused.stderr
    bad = subprocess.run([sys.executable, "-m", "addons", "--port", "1"], cwd=ROOT,
                         env={**gw.env, "MAX_CONNECTIONS_PER_ADDRESS": "-3"},
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "MAX_CONNECTIONS_PER_ADDRESS" in bad.stderr


@pytest.mark.parametrize("workers", [1, 2])
def test_a_flood_from_one_address_leaves_another_customer_its_latency(workers):
    """wrk floods from 127.0.0.1 (unknown keys, a revoked key, a customer far over its rate)
    while a customer calls with the OpenAI SDK from 127.0.0.2 (bench/flood.py): its median
    stays within 3x of quiet and none of its calls fails."""
    out = subprocess.run([sys.executable, "-m", "bench.flood", "--caps", "on", "--json",
                          "--seconds", "2", "--workers", str(workers)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])["caps on"]
    quiet = found.pop("quiet")
    assert quiet["failed"] == 0 and quiet["calls"] > 50
    assert set(found) == {"unknown keys", "revoked key", "over its rate"}
    for name, r in found.items():
        assert r["flood_rps"] > 0, name  # the flood ran, and was answered
        assert r["failed"] == 0 and r["calls"] > 20, (name, r)
        assert r["p50_ms"] <= 3 * quiet["p50_ms"], (name, r, quiet)
