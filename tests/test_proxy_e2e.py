"""The gateway end to end: official SDKs and curl through the real process to the fakes."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import anthropic
import httpx
import openai
import pytest
from google.genai import errors as genai_errors

from tests.conftest import UPSTREAM_SECRETS, ant, gem, oai


@pytest.fixture
def key(gateway):
    return gateway.create_key("demo@startup.ai")


def assert_no_customer_key(req: dict, key: str) -> None:
    """The customer's key appears nowhere in what the upstream received."""
    assert key not in req["path"]
    assert key not in json.dumps(req["header_list"])
    assert key.encode() not in req["body"]


# --- OpenAI -------------------------------------------------------------------------------------


def test_openai_chat(gateway, fake_servers, key):
    r = oai(gateway, key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    assert r.choices[0].message.content == "Hello! How can I help you today?"
    assert r.usage.total_tokens == 18
    req = fake_servers["openai"].state.requests[-1]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["host"] == fake_servers["openai"].url.removeprefix("http://")
    assert req["headers"]["authorization"] == f"Bearer {UPSTREAM_SECRETS['openai']}"
    assert req["headers"]["accept-encoding"] == "identity"
    assert_no_customer_key(req, key)


def test_openai_chat_stream(gateway, fake_servers, key):
    stream = oai(gateway, key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello! How can I help you today?"
    assert_no_customer_key(fake_servers["openai"].state.requests[-1], key)


def test_openai_versioned_base_url(gateway, fake_servers, key):
    client = openai.OpenAI(base_url=f"{gateway.url}/v1/openai/v1", api_key=key, max_retries=0)
    client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert fake_servers["openai"].state.requests[-1]["path"] == "/v1/embeddings"


def test_openai_organisation_headers_not_forwarded(gateway, fake_servers, key):
    oai(gateway, key, organization="org-customer", project="proj-customer").models.list()
    headers = fake_servers["openai"].state.requests[-1]["headers"]
    assert "openai-organization" not in headers and "openai-project" not in headers


# --- Anthropic ----------------------------------------------------------------------------------


def test_anthropic_messages(gateway, fake_servers, key):
    msg = ant(gateway, key).messages.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "Hi"}])
    assert msg.content[0].text == "Hello! How can I help you today?"
    req = fake_servers["anthropic"].state.requests[-1]
    assert req["path"] == "/v1/messages"
    # SDK 2.x sends the key as a Bearer token: it must be gone, replaced by x-api-key.
    assert req["headers"]["x-api-key"] == UPSTREAM_SECRETS["anthropic"]
    assert "authorization" not in req["headers"]
    assert req["headers"]["anthropic-version"] == "2026-10-21"  # the client's, passed through
    assert_no_customer_key(req, key)


def test_anthropic_stream(gateway, fake_servers, key):
    with ant(gateway, key).messages.stream(
            model="claude-sonnet-4-6", max_tokens=64,
            messages=[{"role": "user", "content": "Hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello! How can I help you today?"
    assert final.usage.output_tokens == 6
    assert_no_customer_key(fake_servers["anthropic"].state.requests[-1], key)


def test_anthropic_x_api_key_and_default_version(gateway, fake_servers, key):
    """Old SDKs and curl send x-api-key; a missing anthropic-version gets the default."""
    r = httpx.post(f"{gateway.url}/v1/anthropic/v1/messages", headers={"x-api-key": key},
                   json={"model": "claude-sonnet-4-6", "max_tokens": 16,
                         "messages": [{"role": "user", "content": "Hi"}]})
    assert r.status_code == 200, r.text
    req = fake_servers["anthropic"].state.requests[-1]
    assert req["headers"]["anthropic-version"] == "2023-06-01"
    assert req["headers"]["x-api-key"] == UPSTREAM_SECRETS["anthropic"]
    assert_no_customer_key(req, key)


def test_anthropic_beta_query_passes_byte_for_byte(gateway, fake_servers, key):
    r = httpx.post(f"{gateway.url}/v1/anthropic/v1/messages/count_tokens?beta=true",
                   headers={"x-api-key": key, "anthropic-beta": "token-counting-2024-11-01"},
                   json={"model": "claude-sonnet-4-6", "messages": []})
    assert r.json() == {"input_tokens": 12}
    req = fake_servers["anthropic"].state.requests[-1]
    assert req["path"] == "/v1/messages/count_tokens?beta=true"
    assert req["headers"]["anthropic-beta"] == "token-counting-2024-11-01"


# --- Gemini -------------------------------------------------------------------------------------


def test_gemini_generate(gateway, fake_servers, key):
    r = gem(gateway, key).models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert r.text == "Hello! How can I help you today?"
    req = fake_servers["gemini"].state.requests[-1]
    assert req["path"] == ("/v1/models/gemini-2.5-flash:generateContent"
                           f"?key={UPSTREAM_SECRETS['gemini']}")
    assert "x-goog-api-key" not in req["headers"]
    assert_no_customer_key(req, key)


def test_gemini_stream(gateway, fake_servers, key):
    chunks = list(gem(gateway, key).models.generate_content_stream(
        model="gemini-2.5-flash", contents="Hi"))
    assert "".join(c.text for c in chunks) == "Hello! How can I help you today?"
    req = fake_servers["gemini"].state.requests[-1]
    assert req["path"].startswith("/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=")
    assert_no_customer_key(req, key)


def test_gemini_curl_forms_default_version_and_query_key(gateway, fake_servers, key):
    """The REST form: no version in the path (v1beta is put in front) and the key in ?key=."""
    r = httpx.post(f"{gateway.url}/v1/gemini/models/gemini-2.5-flash:generateContent?key={key}",
                   json={"contents": [{"parts": [{"text": "Hi"}]}]})
    assert r.status_code == 200, r.text
    req = fake_servers["gemini"].state.requests[-1]
    assert req["path"] == (f"/v1beta/models/gemini-2.5-flash:generateContent"
                           f"?key={UPSTREAM_SECRETS['gemini']}")
    assert_no_customer_key(req, key)


# --- Streaming is unbuffered ---------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_first_event_arrives_while_upstream_still_sending(gateway, fake_servers, key, provider):
    """The fake stops before its last events until released; the client must already have
    received the first event by then, or the gateway buffered the stream."""
    state = fake_servers[provider].state
    hdrs = {"x-fake-mode": "hold"}
    got_first = threading.Event()
    result = {}

    def consume():
        if provider == "openai":
            stream = oai(gateway, key).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}],
                stream=True, extra_headers=hdrs)
            parts = []
            for c in stream:
                got_first.set()
                parts += [c.choices[0].delta.content or ""] if c.choices else []
        elif provider == "anthropic":
            parts = []
            with ant(gateway, key).messages.stream(
                    model="claude-sonnet-4-6", max_tokens=64, extra_headers=hdrs,
                    messages=[{"role": "user", "content": "Hi"}]) as stream:
                for ev in stream:
                    got_first.set()
                    if ev.type == "text":
                        parts.append(ev.text)
        else:
            parts = []
            for c in gem(gateway, key, headers=hdrs).models.generate_content_stream(
                    model="gemini-2.5-flash", contents="Hi"):
                got_first.set()
                parts.append(c.text or "")
        result["text"] = "".join(parts)

    t = threading.Thread(target=consume)
    t.start()
    try:
        assert state.holding.wait(10), "the fake never reached its hold point"
        assert got_first.wait(10), "no event reached the client while upstream was sending"
        assert state.streams_finished == 0 or not state.hold.is_set()
    finally:
        state.release()
        t.join(20)
    assert result["text"] == "Hello! How can I help you today?"


# --- curl, as in the README ----------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_readme_curl_example(gateway, fake_servers, key):
    out = subprocess.run(
        ["curl", "-sS", f"{gateway.url}/v1/openai/chat/completions",
         "-H", f"Authorization: Bearer {key}", "-H", "Content-Type: application/json",
         "-d", '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}'],
        capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["choices"][0]["message"]["content"].startswith("Hello!")


# --- Keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_invalid_key_refused_in_provider_shape(gateway, fake_servers, provider):
    bad = "gw-" + "x" * 43
    before = len(fake_servers[provider].state.requests)
    if provider == "openai":
        with pytest.raises(openai.AuthenticationError) as e:
            oai(gateway, bad).chat.completions.create(model="gpt-4o-mini", messages=[])
        assert e.value.body["code"] == "invalid_api_key"
    elif provider == "anthropic":
        with pytest.raises(anthropic.AuthenticationError) as e:
            ant(gateway, bad).messages.create(model="claude-sonnet-4-6", max_tokens=5,
                                              messages=[])
        assert e.value.body["error"]["type"] == "authentication_error"
    else:
        with pytest.raises(genai_errors.ClientError) as e:
            gem(gateway, bad).models.generate_content(model="gemini-2.5-flash", contents="Hi")
        assert e.value.code == 401 and e.value.status == "UNAUTHENTICATED"
    assert len(fake_servers[provider].state.requests) == before  # never sent upstream


def test_missing_key_refused(gateway, fake_servers):
    r = httpx.post(f"{gateway.url}/v1/anthropic/v1/messages", json={})
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"
    assert fake_servers["anthropic"].state.requests == []


def test_revoked_key_stops_within_five_seconds(gateway, key):
    client = oai(gateway, key)
    client.models.list()  # now cached as valid
    prefix = key[:11]
    gateway.admin("revoke-key", prefix)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            client.models.list()
        except openai.AuthenticationError:
            return
        time.sleep(0.25)
    pytest.fail("a revoked key still worked after 5 seconds")


def test_suspended_customer_refused(gateway):
    gateway.admin("create-user", "suspended@example.com", "--plan", "Explorer")
    key = gateway.create_key("suspended@example.com")
    gateway.admin("set-active", "suspended@example.com", "--suspended")
    with pytest.raises(openai.AuthenticationError):
        oai(gateway, key).models.list()


# --- Paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/v1/openai/../admin",
    "/v1/openai/v1/../../x",
    "/v1/openai/%2e%2e/chat/completions",
    "/v1/openai/chat%2fcompletions",
    "/v1/openai//chat/completions",
    "/v1/openai/chat\\completions",
    "/v1/gemini/v1beta/models/..%5c..:generateContent",
    "/v1/openai/chat/completions%00",
])
def test_path_tricks_refused_before_upstream(gateway, fake_servers, key, path):
    with socket_request(gateway, "POST", path, key) as status:
        assert status == 400
    assert all(s.state.requests == [] for s in fake_servers.values())


class socket_request:
    """Send a raw request line, so no client normalises the path first."""

    def __init__(self, gateway, method, path, key) -> None:
        import socket

        body = b"{}"
        self.sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
        self.sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}"
                          f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                          .encode() + body)

    def __enter__(self) -> int:
        data = b""
        while chunk := self.sock.recv(65536):
            data += chunk
        return int(data.split(b" ", 2)[1])

    def __exit__(self, *exc) -> None:
        self.sock.close()


def test_unknown_provider_and_endpoint(gateway, key):
    r = httpx.get(f"{gateway.url}/v1/mistral/models", headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_route"
    r = httpx.post(f"{gateway.url}/v1/anthropic/v1/files", headers={"x-api-key": key})
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"


def test_malformed_json_refused_in_provider_shape(gateway, fake_servers, key):
    r = httpx.post(f"{gateway.url}/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
                   headers={"x-goog-api-key": key}, content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert fake_servers["gemini"].state.requests == []


# --- Served by the gateway ----------------------------------------------------------------------


def test_models_list(gateway, key):
    """The gateway's own catalog, read with the OpenAI SDK pointed at /v1."""
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    models = client.models.list()
    ids = {m.id for m in models.data}
    assert {"gpt-4o-mini", "claude-sonnet-4-6", "gemini-2.5-flash"} <= ids
    owners = {m.id: m.owned_by for m in models.data}
    assert owners["claude-sonnet-4-6"] == "anthropic"


def test_models_list_needs_key(gateway):
    assert httpx.get(f"{gateway.url}/v1/models").status_code == 401


def test_healthz(gateway):
    r = httpx.get(f"{gateway.url}/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["limits"] == "ok"


def test_admin_ui_on_same_port(gateway):
    r = httpx.get(f"{gateway.url}/")
    assert r.status_code == 302 and r.headers["location"].startswith("/login")
    assert "Sign in" in httpx.get(f"{gateway.url}/login").text


def test_one_usage_record_per_proxied_request(gateway, key):
    client = oai(gateway, key)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    ant(gateway, key).messages.create(model="claude-sonnet-4-6", max_tokens=8,
                                      messages=[{"role": "user", "content": "x"}])
    rows = gateway.records(key, count=2)
    assert [(r.provider, r.endpoint, r.status) for r in rows] == [
        ("openai", "chat.completions", 200), ("anthropic", "messages", 200)]
    assert rows[0].model == "gpt-4o-mini-2024-07-18"
    assert all(r.latency_ms >= 0 and r.user.email == "demo@startup.ai" for r in rows)
