"""Plans enforced end to end, in each provider's own error language, seen through the SDKs."""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import json
import time

import anthropic
import httpx
import openai
import pytest
from google.genai import errors as genai_errors

from tests.conftest import gem, new_customer

MSG = [{"role": "user", "content": "Hi"}]


def counting_client(module):
    """An SDK http client that counts the attempts the SDK makes."""
    calls = []
    client = module.DefaultHttpxClient(event_hooks={"request": [lambda r: calls.append(r)]})
    return client, calls


def chat(gateway, key, **headers):
    return httpx.post(f"{gateway.url}/v1/openai/chat/completions",
                      headers={"authorization": f"Bearer {key}", **headers},
                      json={"model": "gpt-4o-mini", "max_tokens": 50, "messages": MSG})


# --- Headers ------------------------------------------------------------------------------------


UPSTREAM_ONLY = ("openai-organization", "openai-project", "anthropic-organization-id",
                 "set-cookie", "anthropic-ratelimit-requests-limit")


@pytest.mark.parametrize("stream", [False, True])
def test_customer_limits_replace_upstream_headers(gateway, stream):
    key = gateway.create_key("demo@startup.ai")  # Startup: 60 rpm, 1M tokens
    for path, body in [
        ("/v1/openai/chat/completions", {"model": "gpt-4o-mini", "messages": MSG,
                                         "stream": stream}),
        ("/v1/anthropic/v1/messages", {"model": "claude-sonnet-4-6", "max_tokens": 9,
                                       "messages": MSG, "stream": stream}),
    ]:
        with httpx.stream("POST", gateway.url + path, json=body,
                          headers={"authorization": f"Bearer {key}"}) as r:
            r.read()
        h = r.headers
        assert r.status_code == 200
        assert ("text/event-stream" in h["content-type"]) == stream
        assert h["x-ratelimit-limit-requests"] == "60"  # the plan's, not the upstream's 10000
        assert 0 <= int(h["x-ratelimit-remaining-requests"]) < 60
        assert h["x-ratelimit-reset-requests"].endswith("s")
        assert h["x-ratelimit-limit-tokens"] == "1000000"
        assert int(h["x-ratelimit-remaining-tokens"]) <= 1_000_000
        assert "h" in h["x-ratelimit-reset-tokens"] or "m" in h["x-ratelimit-reset-tokens"]
        assert h.get_list("x-request-id") == [h["x-request-id"]]  # ours alone
        assert h["x-request-id"].startswith("req_") and h["x-request-id"] != "req_fake"
        for name in UPSTREAM_ONLY:
            assert name not in h


# --- Requests per minute ------------------------------------------------------------------------


def test_concurrent_burst_admits_exactly_the_plan_rate(gateway):
    email = new_customer(gateway, "Explorer")  # 20 requests per minute
    keys = [gateway.create_key(email, f"k{i}") for i in range(4)]
    with cf.ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(lambda i: chat(gateway, keys[i % 4]).status_code, range(100)))
    assert statuses.count(200) == 20 and statuses.count(429) == 80, statuses


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_rate_limit_refusal_in_provider_shape(gateway, provider):
    email = new_customer(gateway, "Explorer")
    key = gateway.create_key(email)
    url, headers, body = {
        "openai": ("/v1/openai/chat/completions", {"authorization": f"Bearer {key}"},
                   {"model": "gpt-4o-mini", "max_tokens": 5, "messages": MSG}),
        "anthropic": ("/v1/anthropic/v1/messages", {"x-api-key": key},
                      {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": MSG}),
        "gemini": ("/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
                   {"x-goog-api-key": key}, {"contents": [{"parts": [{"text": "Hi"}]}]}),
    }[provider]
    first = time.time()
    for _ in range(20):
        assert httpx.post(gateway.url + url, headers=headers, json=body).status_code == 200
    r = httpx.post(gateway.url + url, headers=headers, json=body)
    assert r.status_code == 429
    retry_after = int(r.headers["retry-after"])
    # The real wait: the first admission leaves the 60 s window then (rounded up).
    assert 60 - (time.time() - first) - 1 <= retry_after <= 60
    err = r.json()["error"]
    if provider == "openai":
        assert err["code"] == "rate_limit_exceeded" and err["type"] == "requests"
    elif provider == "anthropic":
        assert err["type"] == "rate_limit_error" and r.json()["type"] == "error"
    else:
        assert err["status"] == "RESOURCE_EXHAUSTED" and err["code"] == 429
        info = [d for d in err["details"] if d["@type"].endswith("RetryInfo")]
        assert info[0]["retryDelay"] == f"{retry_after}s"


def test_sdk_retries_a_rate_limit_and_succeeds(make_gateway):
    """A customer who spent the window 56 s ago, across a restart: the gateway rebuilds the
    window from the database, answers 429 with a retry-after of the seconds left (what the
    start took leaves 1 to 3), and the SDKs wait and succeed."""
    gw = make_gateway()
    email = new_customer(gw, "Explorer")
    key = gw.create_key(email)
    from models import ApiKey, UsageRecord, User, utcnow

    user = User.get(User.email == email)
    then = utcnow() - dt.timedelta(seconds=56)
    UsageRecord.insert_many([dict(created_at=then, user=user, api_key=ApiKey.get(user=user),
                                  provider="openai", endpoint="chat.completions", status=200)
                             for _ in range(20)]).execute()
    gw.start()
    http_client, calls = counting_client(openai)
    client = openai.OpenAI(base_url=f"{gw.url}/v1/openai", api_key=key, max_retries=2,
                           http_client=http_client)
    started = time.monotonic()
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert r.choices[0].message.content
    assert len(calls) == 2 and 1 <= time.monotonic() - started < 10
    http_client, calls = counting_client(anthropic)
    client = anthropic.Anthropic(base_url=f"{gw.url}/v1/anthropic", api_key=key, max_retries=2,
                                 http_client=http_client)
    client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=MSG)


# --- Monthly tokens -----------------------------------------------------------------------------


def test_concurrent_streams_near_quota_end(gateway, fake_servers):
    gateway.admin("create-plan", "Tiny", "--rpm", "1000", "--monthly-tokens", "2000")
    email = new_customer(gateway, "Tiny")
    key = gateway.create_key(email)
    body = {"model": "gpt-4o-mini", "max_tokens": 300, "stream": True, "messages": MSG}

    def stream(_):
        # Real providers never exceed max_tokens; the input estimate covers the 20 input tokens.
        with httpx.stream("POST", f"{gateway.url}/v1/openai/chat/completions", json=body,
                          headers={"authorization": f"Bearer {key}", "x-fake-mode": "slow:30",
                                   "x-fake-usage": "in=20,out=300"}) as r:
            r.read()
            return r.status_code

    with cf.ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(stream, range(12)))
    admitted = statuses.count(200)
    assert 1 <= admitted < 12 and statuses.count(429) == 12 - admitted
    usage = gateway.records(gateway_key := key, count=admitted)
    total = sum(r.total_tokens for r in usage)
    # The last one admitted had its cap lowered to what was left, not refused; together they
    # ran past the quota by no more than the error of their input estimates (the fake counts
    # 20 input tokens for a prompt the gateway estimates at 5 from its text).
    caps = sorted(json.loads(r["body"])["max_tokens"]
                  for r in fake_servers["openai"].state.requests)
    assert len(caps) == admitted and caps[-1] == 300 and caps[0] < 300
    assert total == sum(20 + c for c in caps)
    assert 2000 - 330 < total <= 2000 + admitted * (20 - 5)
    # A later request of the same size no longer fits what is left.
    r = httpx.post(f"{gateway.url}/v1/openai/chat/completions", json={**body, "stream": False},
                   headers={"authorization": f"Bearer {gateway_key}"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "insufficient_quota"
    assert r.headers["x-should-retry"] == "false" and "retry-after" not in r.headers
    msg = r.json()["error"]["message"]
    assert "Tiny" in msg and "2,000" in msg and "resets at" in msg


def test_quota_exhausted_sdks_do_not_retry(gateway):
    # One token: less than any prompt, so nothing can be answered (a larger rest would be
    # answered with the output cap lowered to it).
    gateway.admin("create-plan", "Drained", "--rpm", "1000", "--monthly-tokens", "1")
    email = new_customer(gateway, "Drained")
    key = gateway.create_key(email)
    http_client, calls = counting_client(openai)
    client = openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=key, max_retries=2,
                           http_client=http_client)
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert e.value.code == "insufficient_quota" and len(calls) == 1
    http_client, calls = counting_client(anthropic)
    client = anthropic.Anthropic(base_url=f"{gateway.url}/v1/anthropic", api_key=key,
                                 max_retries=2, http_client=http_client)
    with pytest.raises(anthropic.RateLimitError) as e:
        client.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=MSG)
    assert e.value.body["error"]["type"] == "rate_limit_error" and len(calls) == 1
    with pytest.raises(genai_errors.ClientError) as e:
        gem(gateway, key).models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert e.value.code == 429 and e.value.status == "RESOURCE_EXHAUSTED"


# --- Model access -------------------------------------------------------------------------------


def test_restricted_plan_refuses_other_models(gateway, fake_servers):
    gateway.admin("create-plan", "Haiku only", "--rpm", "100", "--monthly-tokens", "100000",
                  "--models", "claude-haiku-4-5,gemini-2.5-flash-lite")
    email = new_customer(gateway, "Haiku only")
    key = gateway.create_key(email)
    ant = anthropic.Anthropic(base_url=f"{gateway.url}/v1/anthropic", api_key=key, max_retries=0)
    # As each provider answers a model the caller cannot use: 404 (Claude Code shows a 403
    # as "Failed to authenticate").
    with pytest.raises(anthropic.NotFoundError) as e:
        ant.messages.create(model="claude-opus-5", max_tokens=8, messages=MSG)
    assert e.value.body["error"]["type"] == "not_found_error"
    assert "Haiku only" in e.value.body["error"]["message"]
    assert fake_servers["anthropic"].state.requests == []
    ant.messages.create(model="claude-haiku-4-5-20251001", max_tokens=8, messages=MSG)  # snapshot
    with pytest.raises(openai.NotFoundError) as e:
        openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=key, max_retries=0
                      ).chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert e.value.code == "model_not_found"
    with pytest.raises(genai_errors.ClientError) as e:
        gem(gateway, key).models.generate_content(model="gemini-2.5-pro", contents="Hi")
    assert e.value.code == 404 and e.value.status == "NOT_FOUND"
    gem(gateway, key).models.generate_content(model="gemini-2.5-flash-lite", contents="Hi")
    models = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key).models.list()
    assert sorted(m.id for m in models.data) == ["claude-haiku-4-5", "gemini-2.5-flash-lite"]
    haiku = next(m for m in models.data if m.id == "claude-haiku-4-5")
    # Sold at the plan's default markup (25%): $5 a million output tokens cost, $6.25 sold.
    assert haiku.max_output_tokens == 64_000 and haiku.pricing["completion"] == "0.00000625"


def test_plan_change_takes_effect(gateway):
    email = new_customer(gateway, "Explorer")
    key = gateway.create_key(email)
    assert chat(gateway, key).headers["x-ratelimit-limit-requests"] == "20"
    gateway.admin("set-plan", email, "Growth")
    deadline = time.monotonic() + 5  # the key cache lives KEY_CACHE_TTL (2 s in tests)
    while chat(gateway, key).headers["x-ratelimit-limit-requests"] != "200":
        assert time.monotonic() < deadline, "the new plan did not apply within 5 s"
        time.sleep(0.2)
    assert chat(gateway, key).headers["x-ratelimit-limit-tokens"] == "10000000"
