"""Bad input is refused cleanly, never forwarded with a credential, and never takes the
gateway down: hand-picked attacks, then hypothesis fuzzing while other clients carry on."""

from __future__ import annotations

import socket
import threading
from collections import Counter

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def fuzz_key(gateway):
    gateway.admin("create-plan", "Fuzz", "--rpm", "100000", "--monthly-tokens", "unlimited")
    gateway.admin("create-user", "fuzz@example.com", "--plan", "Fuzz")
    return gateway.create_key("fuzz@example.com")


def raw(gateway, data: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return out


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0


def upstream_requests(fake_servers) -> int:
    return sum(len(s.state.requests) for s in fake_servers.values())


def test_absolute_form_never_reaches_the_named_host(gateway, fake_servers, fuzz_key):
    """The URL names the Anthropic fake; routing goes by path only, so it never hears of it."""
    named = fake_servers["anthropic"].url
    for path in ("/v1/openai/models", "/admin", "/v1/models"):
        out = raw(gateway, f"GET {named}{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                           f"{fuzz_key}\r\nConnection: close\r\n\r\n".encode())
        assert status_of(out) in (200, 302, 404)
    assert fake_servers["anthropic"].state.requests == []
    assert [r["path"] for r in fake_servers["openai"].state.requests] == ["/v1/models"]


def test_connect_refused(gateway, fake_servers):
    host = fake_servers["openai"].url.removeprefix("http://")
    out = raw(gateway, f"CONNECT {host} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    assert status_of(out) == 400
    assert upstream_requests(fake_servers) == 0


def test_request_smuggling_refused(gateway, fake_servers, fuzz_key):
    body = b'{"model":"gpt-4o-mini","messages":[]}'
    out = raw(gateway, b"POST /v1/openai/chat/completions HTTP/1.1\r\nHost: x\r\n"
                       b"Authorization: Bearer " + fuzz_key.encode() + b"\r\n"
                       b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                       + hex(len(body))[2:].encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"
                       b"GET /v1/openai/models HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(out) == 400
    assert upstream_requests(fake_servers) == 0


def test_oversized_headers_refused(gateway, fake_servers, fuzz_key):
    out = raw(gateway, b"GET /v1/openai/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                       + fuzz_key.encode() + b"\r\n" + b"X-Big: " + b"a" * 300_000
                       + b"\r\n\r\n")
    assert status_of(out) in (0, 400, 413, 431)  # refused or hung up on, never forwarded
    assert upstream_requests(fake_servers) == 0
    assert httpx.get(f"{gateway.url}/healthz").status_code == 200


@pytest.mark.parametrize("value", ["gw-ü" + "a" * 40, "gw-" + "a" * 40 + "\u202e",
                                   "gw-" + "a" * 5000, "Bearer gw-x",
                                   "gw-%00aaaaaaaaaaaaaaaaaaaaaaaa"])
def test_odd_keys_refused(gateway, fake_servers, value):
    out = raw(gateway, b"POST /v1/anthropic/v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: "
                       + value.encode("utf-8") + b"\r\nContent-Length: 2\r\n"
                       b"Connection: close\r\n\r\n{}")
    assert status_of(out) == 401 and b"authentication_error" in out
    assert upstream_requests(fake_servers) == 0


# --- fuzzing --------------------------------------------------------------------------------------

PATH_PARTS = st.sampled_from(["v1", "openai", "anthropic", "gemini", "v1beta", "chat",
                              "completions", "messages", "models",
                              "gemini-2.5-flash:generateContent",
                              "..", ".", "", "%2e", "%2F", "%00", "\\", "ü", "%ff", "a:b", "~",
                              "count_tokens", "responses", "embeddings", "healthz"])
# Half the paths are real endpoints, so every run reaches auth, limits and the fake providers
# (without them the fuzzer can spend a whole run on 400s and 404s).
ENDPOINTS = st.sampled_from(["/v1/openai/v1/chat/completions", "/v1/openai/chat/completions",
                             "/v1/openai/v1/models", "/v1/anthropic/v1/messages",
                             "/v1/anthropic/v1/messages/count_tokens", "/v1/models",
                             "/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent"])
SAFE_HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=60)


@st.composite
def requests(draw, key: str):
    path = draw(ENDPOINTS | st.lists(PATH_PARTS, min_size=1, max_size=6).map(
        lambda parts: "/" + "/".join(parts)))
    if draw(st.booleans()):
        path += "?" + draw(st.sampled_from(["alt=sse", f"key={key}", "key=", "a=%zz", "beta=true"]))
    method = draw(st.sampled_from(["GET", "POST", "DELETE", "PUT", "OPTIONS"]))
    carrier = draw(st.sampled_from(["x-api-key", "authorization", "x-goog-api-key", None]))
    value = draw(st.sampled_from([key, f"Bearer {key}", "", "gw-"]) | SAFE_HEADER_TEXT)
    headers = {carrier: value} if carrier else {}
    body = draw(st.one_of(
        st.binary(max_size=200),
        st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c,
                                                                          max_size=4),
                     max_leaves=12).map(lambda o: __import__("json").dumps(o).encode()),
        st.just(b'{"model": "gpt-4o-mini", "messages": [], "stream": true}'),
    ))
    return method, path, headers, body


def test_fuzz_never_a_gateway_5xx_and_keeps_serving(gateway, fuzz_key, fake_servers):
    stop = threading.Event()
    healthy: list[int] = []

    def other_client():
        with httpx.Client(base_url=gateway.url) as c:
            while not stop.is_set():
                healthy.append(c.post("/v1/openai/chat/completions",
                                      headers={"authorization": f"Bearer {fuzz_key}"},
                                      json={"model": "gpt-4o-mini", "messages": []}).status_code)

    t = threading.Thread(target=other_client)
    t.start()
    seen: list[int] = []

    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(requests(fuzz_key))
    def one(req):
        method, path, headers, body = req
        line = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        hdrs = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        out = raw(gateway, line.encode() + hdrs.encode() +
                  f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status = status_of(out)
        seen.append(status)
        # The gateway's own answers are never 5xx; upstream 5xx would carry the fake's body.
        assert status < 500, out[:500]

    try:
        one()
    finally:
        stop.set()
        t.join(10)
    assert httpx.get(f"{gateway.url}/healthz").status_code == 200
    assert healthy and set(healthy) == {200}, set(healthy)
    assert len(set(seen)) >= 3, Counter(seen)  # the fuzzer reached answers of several kinds
