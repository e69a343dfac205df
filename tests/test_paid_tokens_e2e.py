"""Every token paid for: output caps and reservations under concurrency, background mode,
server-side tool fees, the catalog, exact money, streams that end after their terminator, and
token counting's own allowance. Through the real gateway, official SDKs where they apply."""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import sqlite3
from decimal import Decimal

import anthropic
import httpx
import openai
import pytest

from addons.wire.usage import estimate_input
from tests.conftest import gem, new_customer, raw_plan

MSG = [{"role": "user", "content": "Hi"}]


def oai(gateway, key, **kw):
    return openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=key, max_retries=0, **kw)


def ant(gateway, key):
    return anthropic.Anthropic(base_url=f"{gateway.url}/v1/anthropic", api_key=key,
                               max_retries=0)


def sent_bodies(fake) -> list[dict]:
    return [json.loads(r["body"]) for r in fake.state.requests if r["body"]]


def spend(gateway, key, tokens: int) -> None:
    """Use `tokens` of the customer's quota with one metered call (and wait till it is)."""
    before = len(gateway.records(key, count=0))
    oai(gateway, key).chat.completions.create(
        model="gpt-4o-mini", messages=MSG, max_tokens=1,
        extra_headers={"x-fake-usage": f"in={tokens - 1},out=1"})
    gateway.records(key, count=before + 1)


# --- Background responses ----------------------------------------------------------------------


def test_background_responses_are_refused_in_openais_shape(gateway, fake_servers):
    key = gateway.create_key("demo@startup.ai")
    with pytest.raises(openai.BadRequestError) as e:
        oai(gateway, key).responses.create(model="gpt-4.1-mini", input="Hi", background=True)
    assert e.value.status_code == 400 and e.value.param == "background"
    assert "Background responses" in e.value.message
    assert fake_servers["openai"].state.requests == []  # nothing generated, nothing unpaid
    # background: false is the ordinary request
    r = oai(gateway, key).responses.create(model="gpt-4.1-mini", input="Hi", background=False)
    assert r.status == "completed"


# --- Output caps and reservations -----------------------------------------------------------


def test_concurrent_uncapped_requests_stay_within_the_quota(gateway, fake_servers):
    """20 parallel requests with no output cap from a 100K-token plan, each of which the model
    would answer at length: the gateway caps each (the model's own maximum, lowered to what is
    left), so the month's metered total stays within the quota but for input-estimate error."""
    key = gateway.create_key(new_customer(gateway, raw_plan(gateway, "Explorer")))

    def call(_):
        r = httpx.post(f"{gateway.url}/v1/openai/chat/completions",
                       headers={"authorization": f"Bearer {key}",
                                "x-fake-usage": "in=30,out=60000", "x-fake-mode": "slow:20"},
                       json={"model": "gpt-4o-mini", "messages": MSG, "stream": True},
                       timeout=30)
        return r.status_code

    with cf.ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(call, range(20)))
    admitted = statuses.count(200)
    assert admitted + statuses.count(429) == 20 and 1 <= admitted < 20
    caps = [b["max_completion_tokens"] for b in sent_bodies(fake_servers["openai"])]
    assert len(caps) == admitted and max(caps) == 16_384  # gpt-4o-mini's own maximum
    estimate = estimate_input({"model": "gpt-4o-mini", "messages": MSG, "stream": True})
    assert sum(caps) + admitted * estimate <= 100_000  # what was reserved fits the quota
    records = gateway.records(key, count=admitted)
    total = sum(r.total_tokens for r in records)
    assert total <= 100_000 + admitted * (30 - estimate)  # only the input estimate's error
    assert total > 90_000  # and the quota was used, not refused early


def test_choices_multiply_the_reservation(gateway, fake_servers):
    gateway.admin("create-plan", "Ten thousand", "--rpm", "100", "--monthly-tokens", "10000")
    key = gateway.create_key(new_customer(gateway, "Ten thousand"))
    body = {"model": "gpt-4o-mini", "messages": MSG, "n": 4}
    r = httpx.post(f"{gateway.url}/v1/openai/chat/completions", json=body,
                   headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 200 and len(r.json()["choices"]) == 4
    (sent,) = sent_bodies(fake_servers["openai"])
    assert sent["max_completion_tokens"] == (10_000 - estimate_input(body)) // 4
    # Gemini: candidateCount, in generationConfig
    gem(gateway, key).models.generate_content(
        model="gemini-2.5-flash", contents="Hi", config={"candidate_count": 2})
    (sent,) = sent_bodies(fake_servers["gemini"])
    cfg = sent["generationConfig"]
    assert cfg["candidateCount"] == 2 and 2 * cfg["maxOutputTokens"] < 10_000


def test_a_large_cap_near_the_end_of_the_quota_is_lowered_not_refused(gateway, fake_servers):
    """Claude Code asks for 32,000-64,000 output tokens on every call, with thinking."""
    key = gateway.create_key(new_customer(gateway, raw_plan(gateway, "Explorer")))
    spend(gateway, key, 21_000)  # 79,000 left
    body = {"model": "claude-haiku-4-5", "max_tokens": 64_000, "messages": MSG,
            "thinking": {"type": "enabled", "budget_tokens": 63_999}}
    r = httpx.post(f"{gateway.url}/v1/anthropic/v1/messages", json=body,
                   headers={"x-api-key": key, "anthropic-version": "2023-06-01"})
    assert r.status_code == 200
    (sent,) = sent_bodies(fake_servers["anthropic"])
    assert sent["max_tokens"] == 64_000  # it fits: untouched
    # The header does not count the answering call's own reservation.
    assert r.headers["x-ratelimit-remaining-tokens"] == "79000"
    gateway.records(key, count=2)  # the fake's answer used 18 (12 in, 6 out)
    spend(gateway, key, 79_000 - 18 - 30_000)  # 30,000 left
    fake_servers["anthropic"].state.requests.clear()
    with ant(gateway, key).messages.stream(**body) as stream:  # as Claude Code calls
        assert stream.get_final_message().content
    (sent,) = sent_bodies(fake_servers["anthropic"])
    assert sent["max_tokens"] == 30_000 - estimate_input(body)  # lowered to what is left
    assert sent["thinking"]["budget_tokens"] == sent["max_tokens"] - 1  # still below it


def test_refused_only_when_too_little_remains_to_answer(gateway, fake_servers):
    gateway.admin("create-plan", "Thousand", "--rpm", "100", "--monthly-tokens", "1000")
    key = gateway.create_key(new_customer(gateway, "Thousand"))
    client = ant(gateway, key)
    thinking = {"type": "enabled", "budget_tokens": 2000}
    with pytest.raises(anthropic.RateLimitError) as e:  # thinking needs 1,025 at the least
        client.messages.create(model="claude-sonnet-4-6", max_tokens=4000, messages=MSG,
                               thinking=thinking)
    assert "needs at least" in e.value.body["error"]["message"]
    assert fake_servers["anthropic"].state.requests == []
    with client.messages.stream(model="claude-sonnet-4-6", max_tokens=64_000,
                                messages=MSG) as stream:
        stream.get_final_message()
    (sent,) = sent_bodies(fake_servers["anthropic"])
    assert 900 < sent["max_tokens"] < 1000


# --- Server-side tool fees ----------------------------------------------------------------------


def test_web_search_calls_are_metered_with_their_fee(gateway, fake_servers):
    key = gateway.create_key(new_customer(gateway, "Startup"))
    ant(gateway, key).messages.create(
        model="claude-sonnet-4-6", max_tokens=100, messages=MSG,
        tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}],
        extra_headers={"x-fake-searches": "3", "x-fake-usage": "in=100,out=10"})
    oai(gateway, key).responses.create(
        model="gpt-4.1-mini", input="Hi", tools=[{"type": "web_search"}],
        extra_headers={"x-fake-searches": "2", "x-fake-usage": "in=100,out=10"})
    with httpx.stream("POST", f"{gateway.url}/v1/gemini/v1beta/models/gemini-2.5-flash:"
                      "streamGenerateContent?alt=sse",
                      json={"contents": [{"parts": [{"text": "Hi"}]}],
                            "tools": [{"google_search": {}}]},
                      headers={"x-goog-api-key": key, "x-fake-searches": "4",
                               "x-fake-usage": "in=100,out=10"}) as r:
        r.read()
    a, o, g = gateway.records(key, count=3)
    assert json.loads(a.tool_calls) == {"web_search": 3}
    assert a.cost_usd == (100 * Decimal(3) + 10 * Decimal(15)) / 10**6 + 3 * Decimal("0.01")
    assert json.loads(o.tool_calls) == {"web_search": 2}
    # gpt-4.1-mini: $0.40 in, $1.60 out; web search $25 per 1,000 calls on this model
    assert o.cost_usd == (100 * Decimal("0.4") + 10 * Decimal("1.6")) / 10**6 \
        + 2 * Decimal("0.025")
    assert json.loads(g.tool_calls) == {"google_search": 4}
    assert g.cost_usd == (100 * Decimal("0.3") + 10 * Decimal("2.5")) / 10**6 \
        + 4 * Decimal("0.014")
    assert a.priced and o.priced and g.priced
    usage = json.loads(gateway.admin("usage", a.user.email).stdout)
    assert usage["tool_calls"] == {"google_search": 4, "web_search": 5}
    assert Decimal(usage["cost_usd"]) == a.cost_usd + o.cost_usd + g.cost_usd


# --- The catalog and exact money ----------------------------------------------------------------


@pytest.mark.parametrize("provider,model", [("anthropic", "claude-sonnet-4-20250514"),
                                            ("anthropic", "claude-opus-4-8"),
                                            ("gemini", "gemini-2.0-flash")])
def test_current_and_still_served_models_are_priced(gateway, provider, model):
    key = gateway.create_key("demo@startup.ai")
    if provider == "anthropic":
        ant(gateway, key).messages.create(model=model, max_tokens=10, messages=MSG)
    else:
        gem(gateway, key).models.generate_content(model=model, contents="Hi")
    (rec,) = gateway.records(key)
    assert rec.priced and rec.cost_usd > 0


def test_load_prices_refreshes_the_catalog(make_gateway, tmp_path):
    from models import ModelPrice, ToolPrice

    gw = make_gateway()  # a database of its own: the session gateway's prices stay put
    newer = {"models": [
        {"model": "gpt-4o-mini", "provider": "openai", "input": 0.2, "output": 0.8,
         "cache_read": 0.1, "max_output": 16384},
        {"model": "brand-new-model", "provider": "openai", "input": 1, "output": 2,
         "max_output": 4096}],
        "tools": [{"provider": "openai", "tool": "web_search", "per_call": 0.012}]}
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(newer))
    assert gw.admin("load-prices", str(path)).stdout.strip() == \
        "1 added, 2 updated, 0 unchanged"
    m = ModelPrice.get(ModelPrice.model == "gpt-4o-mini")
    assert (m.input_per_mtok, m.output_per_mtok) == (Decimal("0.2"), Decimal("0.8"))
    assert ModelPrice.get(ModelPrice.model == "brand-new-model").max_output_tokens == 4096
    fee = ToolPrice.get(ToolPrice.provider == "openai", ToolPrice.tool == "web_search",
                        ToolPrice.model == "")
    assert fee.usd_per_call == Decimal("0.012")
    path.write_text(json.dumps({"prices": []}))
    bad = gw.admin("load-prices", str(path), check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: not a price file")
    # Without a path: the shipped catalog, whose prices come back.
    assert gw.admin("load-prices").stdout.startswith("0 added, 2 updated, ")


def test_money_is_stored_and_summed_exactly(gateway):
    from models import ApiKey, UsageRecord, User, utcnow

    email = new_customer(gateway, "Startup")
    user = User.get(User.email == email)
    key = ApiKey.issue(user, "exact")[1]
    # A thousand records of $0.10: as doubles these sum to 99.99999999999986. Written as the
    # usage writer writes them: with their daily and hourly sums, which the pages read.
    from models import rollup

    rows = [dict(user=user.id, api_key=key.id, provider="openai", endpoint="chat.completions",
                 status=200, cost_nanousd=100_000_000, created_at=utcnow())
            for _ in range(1000)]
    UsageRecord.insert_many(rows).execute()
    rollup.add(rollup.summed(rows))
    usage = json.loads(gateway.admin("usage", email).stdout)
    assert usage["cost_usd"] == "100.000000000"
    db = sqlite3.connect(gateway.data_dir / "gateway.db")
    types = {row[1]: row[2] for row in db.execute("PRAGMA table_info(usagerecord)")}
    assert types["cost_nanousd"] == "INTEGER" and "cost_usd" not in types
    assert db.execute("SELECT typeof(SUM(cost_nanousd)) FROM usagerecord").fetchone()[0] \
        == "integer"


# --- How streams end ----------------------------------------------------------------------------


def test_a_stream_whose_terminator_arrived_is_complete_though_the_client_left(gateway,
                                                                             fake_servers):
    """The official SDK stops reading at [DONE] and hangs up; the body's end comes later."""
    key = gateway.create_key("demo@startup.ai")
    client = oai(gateway, key)
    for _ in range(3):
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=MSG, stream=True,
            extra_headers={"x-fake-mode": "linger:1500", "x-fake-usage": "in=15,out=9"})
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text
        stream.close()
    records = gateway.records(key, count=3)
    assert [(r.complete, r.estimated, r.total_tokens) for r in records] == [(True, False, 24)] * 3


def test_a_chat_stream_cut_before_its_usage_is_charged_the_prompts_text(gateway):
    key = gateway.create_key("demo@startup.ai")
    prompt = "Tell me a story about a gateway that counts every token. " * 8
    body = {"model": "gpt-4o-mini", "stream": True,
            "messages": [{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": prompt}]}
    with (httpx.stream("POST", f"{gateway.url}/v1/openai/chat/completions", json=body,
                       headers={"authorization": f"Bearer {key}", "x-fake-mode": "cut:4"}) as r,
          pytest.raises(httpx.HTTPError)):
        r.read()
    (rec,) = gateway.records(key)
    assert rec.estimated and not rec.complete
    chars = len("gpt-4o-mini") + len("system") + len("Be brief.") + len("user") + len(prompt)
    assert rec.input_tokens == math.ceil(chars / 4) == estimate_input(body)
    assert rec.input_tokens < len(json.dumps(body)) / 4 * 0.9  # not the JSON's length


# --- Token counting -----------------------------------------------------------------------------


def test_token_counting_has_its_own_allowance(gateway, fake_servers):
    """Claude Code's /context sends 18 count_tokens calls at once; twice in a minute on the
    free plan must not meet refusals, nor spend the plan's 20 requests a minute."""
    key = gateway.create_key(new_customer(gateway, raw_plan(gateway, "Explorer")))

    def count(_):
        return httpx.post(f"{gateway.url}/v1/anthropic/v1/messages/count_tokens",
                          json={"model": "claude-haiku-4-5", "messages": MSG},
                          headers={"x-api-key": key, "anthropic-version": "2023-06-01"})

    for _ in range(2):
        with cf.ThreadPoolExecutor(18) as pool:
            answers = list(pool.map(count, range(18)))
        assert [r.status_code for r in answers] == [200] * 18
    assert answers[-1].headers["x-ratelimit-limit-requests"] == "100"
    r = ant(gateway, key).messages.with_raw_response.create(
        model="claude-haiku-4-5", max_tokens=5, messages=MSG)
    assert r.http_response.headers["x-ratelimit-remaining-requests"] == "19"
    # Still bounded: past its own allowance, counting is refused in the provider's shape.
    with cf.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(count, range(80)))
    refused = [r for r in answers if r.status_code == 429]
    assert len(refused) == 16 and "token-counting" in refused[0].json()["error"]["message"]
