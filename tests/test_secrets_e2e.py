"""Secrets never leak: not in logs, error bodies, response headers, the database or mitmweb."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_SECRETS, free_port

WEB_PASSWORD = "mitmweb-test-password"


@pytest.fixture
def web_gateway(make_gateway):
    web_port = free_port()
    gw = make_gateway(MITMWEB_PORT=str(web_port), MITMWEB_PASSWORD=WEB_PASSWORD,
                      MITMWEB_MAX_FLOWS="8")
    gw.web_url = f"http://127.0.0.1:{web_port}"
    gw.admin("create-user", "secrets@example.com", "--plan", "Growth")
    gw.start(web=True)
    deadline = time.monotonic() + 20
    while True:  # mitmweb starts a moment after the proxy
        try:
            httpx.get(gw.web_url, timeout=1)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    return gw


def web_get(gw, path, auth=True):
    headers = {"authorization": f"Bearer {WEB_PASSWORD}"} if auth else {}
    return httpx.get(gw.web_url + path, headers=headers, timeout=10)


def test_no_secret_anywhere(web_gateway, fake_servers):
    gw = web_gateway
    key = gw.create_key("secrets@example.com")
    responses = []
    oai = openai.OpenAI(base_url=f"{gw.url}/v1/openai", api_key=key, max_retries=0)
    responses.append(oai.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]).http_response)
    with httpx.stream("POST", f"{gw.url}/v1/anthropic/v1/messages", headers={"x-api-key": key},
                      json={"model": "claude-sonnet-4-6", "max_tokens": 9, "stream": True,
                            "messages": [{"role": "user", "content": "Hi"}]}) as r:
        r.read()
        responses.append(r)
    responses.append(httpx.post(
        f"{gw.url}/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent?key={key}",
        json={"contents": [{"parts": [{"text": "Hi"}]}]}))
    responses.append(httpx.post(f"{gw.url}/v1/openai/chat/completions",  # upstream refuses
                                headers={"authorization": f"Bearer {key}",
                                         "x-fake-mode": "fail:500:3"},
                                json={"model": "gpt-4o-mini", "messages": []}))
    responses.append(httpx.post(f"{gw.url}/v1/openai/chat/completions",  # gateway refuses
                                headers={"authorization": f"Bearer {key}x"}, json={}))
    assert [r.status_code for r in responses] == [200, 200, 200, 500, 401]
    # Upstreams did get the credential (so there is something to leak)...
    assert any(UPSTREAM_SECRETS["gemini"] in r["path"]
               for r in fake_servers["gemini"].state.requests)
    secrets = [*UPSTREAM_SECRETS.values(), key]
    # ...but nothing the client received carries one.
    for r in responses:
        blob = str(r.headers) + r.text
        assert not any(s in blob for s in secrets), blob
    gw.records(key, count=4)

    # mitmweb: refuses without the password; with it, flows and the export are redacted.
    assert web_get(gw, "/flows", auth=False).status_code == 403
    flows = web_get(gw, "/flows")
    assert flows.status_code == 200 and len(flows.json()) >= 5
    dump = web_get(gw, "/flows/dump")
    assert dump.status_code == 200 and len(dump.content) > 1000
    for blob in (flows.text, dump.content.decode("latin-1")):
        for s in secrets:
            assert s not in blob
    assert "[redacted]" in flows.text

    gw.stop()
    log = gw.log_path.read_bytes().decode("utf-8", "replace")
    # The access log: one JSON line per API call, named by key prefix, never by key.
    import json

    lines = [json.loads(line) for line in log.splitlines() if line.startswith('{"ts"')]
    assert [e["request_id"] for e in lines] == [r.headers["x-request-id"] for r in responses]
    assert [e["status"] for e in lines] == [200, 200, 200, 500, 401]
    assert lines[0]["key"] == key[:11] and lines[0]["customer"] == "secrets@example.com"
    assert lines[0]["total_tokens"] == 18 and lines[1]["provider"] == "anthropic"
    assert lines[1]["streamed"] and lines[4]["customer"] is None
    db = b"".join(p.read_bytes() for p in gw.data_dir.glob("gateway.db*"))
    for s in secrets:
        assert s not in log
        assert s.encode() not in db


def test_mitmweb_keeps_a_bounded_number_of_flows(web_gateway):
    gw = web_gateway
    key = gw.create_key("secrets@example.com")
    for _ in range(20):
        httpx.get(f"{gw.url}/v1/openai/models", headers={"authorization": f"Bearer {key}"})
    assert len(web_get(gw, "/flows").json()) <= 8


def test_mitmweb_holds_no_secret_even_while_a_call_is_in_flight(web_gateway, fake_servers):
    """The provider credential is on a live call from its `request` hook until it has left,
    and the admin app's flows carry passwords, session cookies and new keys: mitmweb's flow
    list and export show none of it, at any moment."""
    import re
    import threading

    from tests.conftest import ADMIN_PASSWORD

    gw = web_gateway
    key = gw.create_key("secrets@example.com")
    ui = httpx.Client(base_url=gw.url)
    token = re.search(r'name="csrf_token" value="([^"]+)"', ui.get("/login").text)[1]
    ui.post("/login", data={"email": "admin@llm-gateway.io", "password": ADMIN_PASSWORD,
                            "csrf_token": token})
    token = re.search(r'name="csrf_token" value="([^"]+)"', ui.get("/keys").text)[1]
    page = ui.post("/keys", data={"name": "web", "csrf_token": token}).text
    new_key = re.search(r'<pre id="new-key">(gw-[A-Za-z0-9_-]+)</pre>', page)[1]
    session = ui.cookies["session"]
    state = fake_servers["anthropic"].state

    def held_stream():
        with httpx.stream("POST", f"{gw.url}/v1/anthropic/v1/messages",
                          headers={"x-api-key": key, "x-fake-mode": "hold"},
                          json={"model": "claude-sonnet-4-6", "max_tokens": 9, "stream": True,
                                "messages": [{"role": "user", "content": "Hi"}]}) as r:
            r.read()

    thread = threading.Thread(target=held_stream)
    thread.start()
    try:
        assert state.holding.wait(10)  # the call is upstream now, its credential sent
        in_flight = web_get(gw, "/flows").text + web_get(gw, "/flows/dump").content.decode(
            "latin-1")
    finally:
        state.release()
        thread.join(10)
    after = web_get(gw, "/flows").text + web_get(gw, "/flows/dump").content.decode("latin-1")
    assert "/v1/messages" in in_flight and "[redacted]" in in_flight  # the upstream path
    for blob in (in_flight, after):
        for secret in (*UPSTREAM_SECRETS.values(), key, new_key, session, ADMIN_PASSWORD):
            assert secret not in blob
        assert "/login" not in blob and "/keys" not in blob  # the admin app's own: not shown
