"""Money that cannot walk out of the door, through the real gateway process: a customer cannot
take tokens unpaid by hanging up, by masking usage out of the answer or by gaming the input
estimate, and one record the database refuses stops no other customer's metering."""

from __future__ import annotations

import concurrent.futures as cf
import json

import httpx
import openai
import pytest

from tests.conftest import customer, raw_plan, wait_until

MSG = [{"role": "user", "content": "Write me a long essay."}]


def remaining_tokens(gw, key: str) -> int:
    r = httpx.get(f"{gw.url}/v1/openai/models", headers={"authorization": f"Bearer {key}"})
    return int(r.headers["x-ratelimit-remaining-tokens"])


# --- Hanging up on a non-streamed call ------------------------------------------------------


def test_hanging_up_on_a_long_answer_with_the_openai_sdk_is_charged_each_generation(
        gateway, fake_servers):
    """The audit's case: the SDK's timeout and retries got three generations for nothing."""
    key = customer(gateway, raw_plan(gateway, "Startup"))
    before = remaining_tokens(gateway, key)
    client = openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=key, timeout=1,
                           max_retries=2)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MSG, max_tokens=7000,
            extra_headers={"x-fake-mode": "think:2500", "x-fake-usage": "in=40,out=7000"})
    # The provider generated all three answers and bills the business for them.
    wait_until(lambda: len(fake_servers["openai"].state.reported) == 3, what="3 generations")
    records = [r for r in gateway.records(key, count=4) if r.endpoint != "models"]
    assert len(records) == 3
    for r in records:
        assert r.estimated and not r.complete and r.status == 0
        assert r.output_tokens == 7000 and r.total_tokens >= 7000  # what was reserved
    assert before - remaining_tokens(gateway, key) >= 3 * 7000


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_hanging_up_on_a_long_answer_is_charged_for_every_provider(gateway, fake_servers,
                                                                   provider):
    key = customer(gateway, raw_plan(gateway, "Startup"))
    if provider == "anthropic":
        url = f"{gateway.url}/v1/anthropic/v1/messages"
        body = {"model": "claude-haiku-4-5", "max_tokens": 5000, "messages": MSG}
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    else:
        url = f"{gateway.url}/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent"
        body = {"contents": [{"role": "user", "parts": [{"text": MSG[0]["content"]}]}],
                "generationConfig": {"maxOutputTokens": 5000}}
        headers = {"x-goog-api-key": key}
    headers |= {"x-fake-mode": "think:2500", "x-fake-usage": "in=40,out=5000"}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url, json=body, headers=headers, timeout=1)
    wait_until(lambda: fake_servers[provider].state.reported, what="the generation")
    (record,) = gateway.records(key)
    assert record.estimated and record.output_tokens == 5000


def test_a_call_that_never_reached_the_provider_is_not_charged(make_gateway):
    gw = make_gateway(UPSTREAM_OPENAI_URL="http://127.0.0.1:9").start()  # nothing listens
    key = customer(gw, "Startup")
    r = httpx.post(f"{gw.url}/v1/openai/chat/completions",
                   headers={"authorization": f"Bearer {key}"},
                   json={"model": "gpt-4o-mini", "max_tokens": 5000, "messages": MSG})
    assert r.status_code == 502
    (record,) = gw.records(key)
    assert record.total_tokens == 0 and not record.estimated


# --- A record the database refuses -----------------------------------------------------------


def test_a_record_the_database_refuses_is_set_aside_and_others_are_still_metered(make_gateway):
    gw = make_gateway(UNPRICED_MODELS="serve").start()
    bad, good = customer(gw, "Startup"), customer(gw, "Startup")
    # A lone surrogate is valid JSON, and Anthropic answers with the model asked for; SQLite's
    # driver cannot store it.
    r = httpx.post(f"{gw.url}/v1/anthropic/v1/messages", content=json.dumps(
        {"model": "\ud800", "max_tokens": 5, "messages": MSG}),
        headers={"x-api-key": bad, "anthropic-version": "2023-06-01",
                 "content-type": "application/json"})
    assert r.status_code == 200
    for _ in range(3):
        r = httpx.post(f"{gw.url}/v1/openai/chat/completions",
                       headers={"authorization": f"Bearer {good}"},
                       json={"model": "gpt-4o-mini", "max_tokens": 5, "messages": MSG})
        assert r.status_code == 200
    assert len(gw.records(good, count=3)) == 3
    letters = wait_until(lambda: gw.admin("dead-letters").stdout.splitlines(), what="a letter")
    (letter,) = [json.loads(line) for line in letters]
    assert letter["record"]["model"] == "\ud800" and letter["total_tokens"] > 0
    assert "set aside as a dead letter" in gw.log_path.read_text()
    # Stopping writes what is queued: nothing waits on the refused record.
    assert gw.stop() == 0


# --- Request parameters that would hide usage ------------------------------------------------


@pytest.mark.parametrize("mask", ["fields=candidates", "%24fields=candidates",
                                  "fields=candidates(content)&prettyPrint=false"])
def test_a_field_mask_cannot_hide_usage_from_the_gateway(gateway, fake_servers, mask):
    key = customer(gateway, raw_plan(gateway, "Startup"))
    r = httpx.post(
        f"{gateway.url}/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent?{mask}",
        json={"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]},
        headers={"x-goog-api-key": key, "x-fake-usage": "in=20000,out=30000"})
    assert r.status_code == 200 and r.json()["candidates"]
    (sent,) = fake_servers["gemini"].state.requests
    assert "fields" not in sent["path"]
    assert ("prettyPrint=false" in sent["path"]) == ("prettyPrint" in mask)
    (record,) = gateway.records(key)
    assert record.total_tokens == 50_000 and record.complete and not record.estimated


@pytest.mark.parametrize("alt", ["alt=proto", "%24alt=proto", "alt=media"])
def test_an_answer_in_a_format_the_gateway_cannot_read_is_refused(gateway, fake_servers, alt):
    key = customer(gateway, raw_plan(gateway, "Startup"))
    r = httpx.post(
        f"{gateway.url}/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent?{alt}",
        json={"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]},
        headers={"x-goog-api-key": key})
    assert r.status_code == 400
    assert r.json()["error"]["status"] == "INVALID_ARGUMENT" and "alt=sse" in r.text
    assert fake_servers["gemini"].state.requests == []


# --- Estimates that cannot be gamed -------------------------------------------------------


@pytest.fixture(scope="module")
def small_plan(gateway):
    """A plan of 20,000 tokens a month, the audit's."""
    gateway.admin("create-plan", "Small20k", "--rpm", "1000", "--monthly-tokens", "20000")
    return "Small20k"


def test_concurrent_long_unbroken_prompts_cannot_overdraw_the_quota(gateway, fake_servers,
                                                                    small_plan):
    key = customer(gateway, small_plan)
    body = {"model": "gpt-4o-mini", "max_tokens": 1,
            "messages": [{"role": "user", "content": "a" * 400_000}]}
    with cf.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: httpx.post(
            f"{gateway.url}/v1/openai/chat/completions", json=body, timeout=30,
            headers={"authorization": f"Bearer {key}"}), range(20)))
    assert {r.status_code for r in answers} == {429}
    assert all("quota" in r.json()["error"]["message"] for r in answers)
    assert fake_servers["openai"].state.requests == []


def test_embeddings_sent_as_token_ids_are_reserved_for_every_token(gateway, fake_servers,
                                                                   small_plan):
    key = customer(gateway, small_plan)
    r = httpx.post(f"{gateway.url}/v1/openai/embeddings",
                   headers={"authorization": f"Bearer {key}"},
                   json={"model": "text-embedding-3-small", "input": [[1, 2, 3] * 1000] * 80})
    assert r.status_code == 429 and "needs at least 240,0" in r.json()["error"]["message"]
    assert fake_servers["openai"].state.requests == []


@pytest.mark.parametrize("count", ["8", 8.0])
def test_gemini_candidate_counts_in_any_json_spelling_are_reserved_for_each(
        gateway, fake_servers, small_plan, count):
    key = customer(gateway, small_plan)
    r = httpx.post(
        f"{gateway.url}/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
        json={"contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
              "generationConfig": {"candidateCount": count, "maxOutputTokens": 5000}},
        headers={"x-goog-api-key": key})
    assert r.status_code == 200
    # Eight answers: each capped so that all eight fit in what the quota had left (20,000).
    (sent,) = fake_servers["gemini"].state.requests
    cap = json.loads(sent["body"])["generationConfig"]["maxOutputTokens"]
    assert 8 * int(cap) <= 20_000


def test_a_large_bodys_generation_config_is_kept_whole_with_the_cap_in_it(gateway,
                                                                         fake_servers):
    """Over 1 MiB the body is read aside and handed back shallow: Gemini's generationConfig
    (a 20 KiB response schema here) must come back as the customer's, with the cap in it."""
    key = customer(gateway, raw_plan(gateway, "Startup"))
    schema = {"type": "object", "properties": {f"field_{i}": {"type": "string",
              "description": "d" * 60} for i in range(300)}}
    for spelling in ("generationConfig", "generation_config"):
        config = {"responseMimeType": "application/json", "responseSchema": schema,
                  "temperature": 0.3, "maxOutputTokens": 100}
        body = {"contents": [{"role": "user", "parts": [{"text": "word " * 300_000}]}],
                spelling: config}
        assert len(json.dumps(config)) > 16 * 1024 and len(json.dumps(body)) > 1024 * 1024
        r = httpx.post(
            f"{gateway.url}/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
            json=body, headers={"x-goog-api-key": key}, timeout=30)
        assert r.status_code == 200, r.text
        sent = json.loads(fake_servers["gemini"].state.requests[-1]["body"])
        assert set(sent) == {"contents", spelling}  # nothing added beside it
        assert sent[spelling] == config


# --- Requests the gateway and the provider could read differently ---------------------------


def test_a_key_given_twice_is_refused_before_anything_goes(gateway, fake_servers):
    """JSON parsers keep the last of two keys; a provider's might keep the first: the model
    and the cap the gateway checked must be the ones used."""
    key = customer(gateway, "Explorer")  # inexpensive models only
    raw = ('{"model": "gpt-5", "model": "gpt-4o-mini", "max_tokens": 5, '
           '"messages": [{"role": "user", "content": "Hi"}]}')
    r = httpx.post(f"{gateway.url}/v1/openai/chat/completions", content=raw,
                   headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    assert r.status_code == 400 and "'model' more than once" in r.json()["error"]["message"]
    nested = ('{"contents": [{"parts": [{"text": "Hi"}]}], "generationConfig": '
              '{"maxOutputTokens": 60000, "maxOutputTokens": 10}}')
    r = httpx.post(f"{gateway.url}/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
                   content=nested, headers={"x-goog-api-key": key,
                                            "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert fake_servers["openai"].state.requests == fake_servers["gemini"].state.requests == []


@pytest.mark.parametrize("body", [{"messages": MSG}, {"model": 4, "messages": MSG},
                                  {"model": ["gpt-5"], "messages": MSG}])
def test_a_generating_call_must_name_its_model_as_a_string(gateway, fake_servers, body):
    key = customer(gateway, "Explorer")
    r = httpx.post(f"{gateway.url}/v1/openai/chat/completions", json=body,
                   headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"
    assert fake_servers["openai"].state.requests == []


def test_models_off_the_plan_or_the_catalog_get_the_providers_404(gateway, fake_servers):
    """Anthropic answers a model it does not have with 404 not_found_error; Claude Code shows
    a 403 as "Failed to authenticate"."""
    free = customer(gateway, "Explorer")
    paid = customer(gateway, "Startup")
    r = httpx.post(f"{gateway.url}/v1/anthropic/v1/messages",
                   json={"model": "claude-opus-4-5", "max_tokens": 5, "messages": MSG},
                   headers={"x-api-key": free, "anthropic-version": "2023-06-01"})
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
    assert "Explorer" in r.json()["error"]["message"]
    for model in ("o1-pro-2025-03-19", "gpt-5-pro", "o3-pro"):  # priced now
        r = httpx.post(f"{gateway.url}/v1/openai/chat/completions",
                       json={"model": model, "max_tokens": 5, "messages": MSG},
                       headers={"authorization": f"Bearer {paid}"})
        assert r.status_code == 200, (model, r.text)
    r = httpx.post(f"{gateway.url}/v1/openai/chat/completions",
                   json={"model": "gpt-9-imaginary", "max_tokens": 5, "messages": MSG},
                   headers={"authorization": f"Bearer {paid}"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    records = gateway.records(paid, count=3)
    assert all(r.priced and r.cost_nanousd > 0 for r in records)


def test_an_unreadable_stored_response_id_is_nobodys(gateway, fake_servers):
    key = customer(gateway, raw_plan(gateway, "Startup"))
    r = httpx.post(f"{gateway.url}/v1/openai/responses", content=json.dumps(
        {"model": "gpt-4.1-mini", "input": "Hi", "previous_response_id": "\ud800"}),
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    assert r.status_code == 404 and r.json()["error"]["message"].startswith("No response")
    assert fake_servers["openai"].state.requests == []


def test_the_providers_model_lists_show_only_what_the_caller_may_use(gateway, fake_servers):
    free, paid = customer(gateway, "Explorer"), customer(gateway, "Startup")

    def ids(key: str) -> list[str]:
        r = httpx.get(f"{gateway.url}/v1/openai/models", headers={"authorization":
                                                                  f"Bearer {key}"})
        assert r.status_code == 200
        return [m["id"] for m in r.json()["data"]]

    # The business's account lists five (a fine-tune of its own among them).
    assert ids(free) == ["gpt-4o-mini"]
    assert ids(paid) == ["gpt-4o-mini", "gpt-5", "o3-pro"]
    headers = {"x-api-key": free, "anthropic-version": "2023-06-01"}
    r = httpx.get(f"{gateway.url}/v1/anthropic/v1/models", headers=headers)
    assert [m["id"] for m in r.json()["data"]] == ["claude-haiku-4-5-20251001"]
    assert r.json()["first_id"] == r.json()["last_id"] == "claude-haiku-4-5-20251001"
    r = httpx.get(f"{gateway.url}/v1/anthropic/v1/models/claude-opus-4-5-20251101",
                  headers=headers)
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"


def test_an_output_cap_below_the_apis_minimum_is_its_400_not_a_quota_refusal(gateway):
    key = customer(gateway, raw_plan(gateway, "Startup"))
    r = httpx.post(f"{gateway.url}/v1/openai/responses",
                   json={"model": "gpt-4.1-mini", "input": "Hi", "max_output_tokens": 5},
                   headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error" and "(16)" in r.text


def test_processing_tiers_are_charged_at_their_own_prices_and_an_unpriced_one_is_refused(
        gateway, fake_servers):
    """OpenAI's tiers cost differently: a call is charged at the prices of the tier the provider
    reports it served in (priority dearer, flex cheaper, streamed or not, Chat or Responses);
    priority for a model the catalog has no priority price for, and tiers the gateway does not
    offer, are refused before anything goes upstream."""
    key = customer(gateway, raw_plan(gateway, "Startup"))
    client = openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=key, max_retries=0)
    usage = {"x-fake-usage": "in=100000,out=10000"}
    for model, tier in (("gpt-5-nano", "priority"), ("gpt-5-mini", "scale")):
        with pytest.raises(openai.BadRequestError) as e:
            client.chat.completions.create(model=model, messages=MSG, max_tokens=5,
                                           service_tier=tier)
        assert e.value.body["param"] == "service_tier"
    assert fake_servers["openai"].state.requests == []
    # The fake answers as gpt-4o-mini, per million tokens: standard $0.15 in, $0.60 out;
    # priority $0.25, $1; no flex price (flex is charged the standard one). 100,000 tokens in
    # and 10,000 out:
    expected = {"auto": 21_000_000, "flex": 21_000_000, "priority": 35_000_000}
    for tier in expected:
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG, max_tokens=20000,
                                       service_tier=tier, extra_headers=usage)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MSG, max_tokens=20000,
                                            service_tier="priority", stream=True,
                                            extra_headers=usage)
    assert [c.service_tier for c in stream][-1] == "priority"
    # Responses, answered as gpt-4.1-mini: priority $0.70 in, $2.80 out.
    client.responses.create(model="gpt-4.1-mini", input="Hi", max_output_tokens=20000,
                            service_tier="priority", extra_headers=usage)
    records = [r for r in gateway.records(key, count=5) if r.endpoint != "models"]
    assert [r.cost_nanousd for r in records] == [*expected.values(), 35_000_000, 98_000_000]
    assert all(r.priced and r.input_tokens == 100_000 for r in records)
