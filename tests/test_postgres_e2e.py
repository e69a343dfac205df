"""PostgreSQL is a URL away: the real gateway on DATABASE_URL=postgresql://..., against a private
cluster started for the test (Debian's PostgreSQL, which test.sh installs)."""

from __future__ import annotations

import json
import re
import time

import anthropic
import httpx
import openai


def test_gateway_on_postgresql(make_gateway, postgres, fake_servers):
    gw = make_gateway(DATABASE_URL=postgres.url)
    gw.admin("create-user", "pg@example.com", "--plan", "Growth")
    gw.start()
    key = gw.create_key("pg@example.com")  # this test process, bound to PostgreSQL too
    usage = {"x-fake-usage": "in=25,out=7,cache_read=3,cache_write=2"}
    oai = openai.OpenAI(base_url=f"{gw.url}/v1/openai", api_key=key, max_retries=0)
    oai.chat.completions.create(model="gpt-4o-mini", messages=[], extra_headers=usage)
    ant = anthropic.Anthropic(base_url=f"{gw.url}/v1/anthropic", api_key=key, max_retries=0)
    with ant.messages.stream(model="claude-sonnet-4-6", max_tokens=9, messages=[],
                             extra_headers=usage) as s:
        s.get_final_message()
    rows = gw.records(key, count=2)
    assert [(r.provider, r.total_tokens, r.complete) for r in rows] == [
        ("openai", 35, True), ("anthropic", 37, True)]
    assert rows[0].cost_usd > 0 and rows[0].priced
    out = json.loads(gw.admin("usage", "pg@example.com").stdout)
    assert out["requests"] == 2 and out["total_tokens"] == 72

    # Keys issued from many threads at once (read, then write, in one transaction).
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda i: gw.create_key("pg@example.com", f"k{i}"), range(16)))
    assert len(set(keys)) == 16

    # The pages read the same database (dates come back as dates there, not text).
    gw.admin("set-password", "pg@example.com", input="pg-password-123\n")
    with httpx.Client(base_url=gw.url) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)[1]
        c.post("/login", data={"email": "pg@example.com", "csrf_token": token,
                               "password": "pg-password-123"})
        page = c.get("/usage")
        assert page.status_code == 200 and 'id="usage-total">72<' in page.text
        chart = json.loads(re.search(r'id="usage-data">(.*?)</script>', page.text, re.S)[1])
        assert sum(sum(days) for days in chart["tokens"].values()) == 72  # today's tokens
    with httpx.Client(base_url=gw.url) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)[1]
        c.post("/login", data={"email": "admin@llm-gateway.io", "csrf_token": token,
                               "password": gw.env["ADMIN_PASSWORD"]})
        assert c.get("/ops/usage").status_code == 200
        assert "pg@example.com" in c.get("/ops/customers").text
    deadline = time.monotonic() + 5
    while "pg@example.com" not in gw.log_path.read_text():  # the access log reached the file
        assert time.monotonic() < deadline
        time.sleep(0.1)


def _sign_in(c: httpx.Client, email: str, password: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)[1]
    c.post("/login", data={"email": email, "csrf_token": token, "password": password})


def test_the_gateway_carries_on_after_postgresql_restarts(make_gateway, postgres, fake_servers):
    """Every thread that holds a connection (the usage writer, key look-ups, the admin app)
    finds it dead after the restart and opens a new one: nothing is lost, nothing restarts."""
    gw = make_gateway(DATABASE_URL=postgres.url)
    gw.admin("create-user", "restart@example.com", "--plan", "Growth")
    gw.start()
    key = gw.create_key("restart@example.com")
    oai = openai.OpenAI(base_url=f"{gw.url}/v1/openai", api_key=key, max_retries=0)
    usage = {"x-fake-usage": "in=5,out=5"}
    oai.chat.completions.create(model="gpt-4o-mini", messages=[], extra_headers=usage)
    assert len(gw.records(key, count=1)) == 1
    with httpx.Client(base_url=gw.url) as admin:
        _sign_in(admin, "admin@llm-gateway.io", gw.env["ADMIN_PASSWORD"])
        assert admin.get("/ops/customers").status_code == 200

        postgres.restart()

        for _ in range(3):  # the writer's connection: its next batch reconnects
            oai.chat.completions.create(model="gpt-4o-mini", messages=[], extra_headers=usage)
        assert len(gw.records(key, count=4)) == 4
        fresh = gw.create_key("restart@example.com", "after")  # a look-up on a key-cache miss
        again = openai.OpenAI(base_url=f"{gw.url}/v1/openai", api_key=fresh, max_retries=0)
        again.chat.completions.create(model="gpt-4o-mini", messages=[], extra_headers=usage)
        assert len(gw.records(fresh, count=1)) == 1
        page = admin.get("/ops/customers")  # the admin app's threads, signed in before
        assert page.status_code == 200 and "restart@example.com" in page.text
