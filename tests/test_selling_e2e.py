"""Selling, end to end with the official SDKs: sell prices from a plan's markup and the
operator's own prices, charges recorded and reported exactly, allowances weighted by price (in
one process and across two on Redis), prepaid credit spent and refused, refusals counted."""

from __future__ import annotations

import concurrent.futures as cf
import json
import time
from decimal import Decimal

import anthropic
import httpx
import openai
import pytest

from tests.conftest import new_customer, wait_until

# A prompt the gateway estimates at no fewer tokens than the fakes then report (in=1000):
# reservations are upper bounds, so nothing is spent past a limit.
PROMPT = [{"role": "user", "content": "hello " * 700}]


def plan(gw, name: str, *options: str) -> str:
    name = f"{name} {time.monotonic_ns()}"
    gw.admin("create-plan", name, "--rpm", "1000", *options)
    return name


def key_on(gw, plan_name: str) -> tuple[str, str]:
    email = new_customer(gw, plan_name)
    return email, gw.create_key(email)


def usage_json(gw, email: str) -> dict:
    return json.loads(gw.admin("usage", email).stdout)


def models_of(gw, key: str) -> dict[str, dict]:
    listed = httpx.get(f"{gw.url}/v1/models", headers={"authorization": f"Bearer {key}"})
    assert listed.status_code == 200
    return {m["id"]: m for m in listed.json()["data"]}


def call(gw, key: str, model: str = "gpt-4o-mini", usage: str = "in=1000,out=100",
         max_tokens: int = 100) -> httpx.Response:
    """A call to the model's own provider (Chat Completions, or Anthropic's Messages)."""
    body = {"model": model, "messages": PROMPT, "max_tokens": max_tokens}
    if model.startswith("claude"):
        return httpx.post(f"{gw.url}/v1/anthropic/v1/messages", json=body, timeout=30,
                          headers={"x-api-key": key, "anthropic-version": "2023-06-01",
                                   "x-fake-usage": usage})
    return httpx.post(f"{gw.url}/v1/openai/chat/completions", json=body, timeout=30,
                      headers={"authorization": f"Bearer {key}", "x-fake-usage": usage})


def test_markup_and_the_operators_prices_set_what_customers_see_and_pay(gateway):
    name = plan(gateway, "Half again", "--monthly-tokens", "unlimited", "--markup", "50")
    email, key = key_on(gateway, name)
    listed = models_of(gateway, key)["gpt-4o-mini"]
    # The catalog's cost is $0.15 / $0.60 a million; sold at 50% more, as USD per token.
    assert listed["pricing"]["prompt"] == "0.000000225"
    assert listed["pricing"]["completion"] == "0.0000009"
    assert listed["pricing"]["input_cache_read"] == "0.0000001125"
    assert "web_search" not in listed["pricing"] or Decimal(listed["pricing"]["web_search"])
    assert listed["allowance"] == {"mode": "raw", "counted_per_token": {
        "prompt": "1", "completion": "1", "input_cache_read": "1", "input_cache_write": "1"}}
    reply = openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=key, max_retries=0
                          ).chat.completions.create(
        model="gpt-4o-mini", messages=PROMPT, max_tokens=100,
        extra_headers={"x-fake-usage": "in=1000,out=100"})
    assert reply.usage.prompt_tokens == 1000
    gateway.records(key)
    used = usage_json(gateway, email)
    # 1000 x 0.15 + 100 x 0.60 = $0.00021 cost; charged 50% more, to the nano-dollar.
    assert (used["cost_usd"], used["charge_usd"]) == ("0.000210000", "0.000315000")

    # The operator's own price for this plan: taken within the cache's lifetime.
    gateway.admin("set-sell-price", "gpt-4o-mini", "--plan", name, "--input", "1",
                  "--output", "2")
    wait_until(lambda: models_of(gateway, key)["gpt-4o-mini"]["pricing"]["prompt"]
               == "0.000001", what="the operator's price in /v1/models")
    assert models_of(gateway, key)["gpt-4o-mini"]["pricing"]["input_cache_read"] \
        == "0.0000001125"  # a field left out keeps the markup
    assert call(gateway, key).status_code == 200
    gateway.records(key, count=2)
    used = usage_json(gateway, email)
    assert (used["cost_usd"], used["charge_usd"]) == ("0.000420000", "0.001515000")  # +.0012
    # Another plan's customers still pay the markup.
    other = models_of(gateway, key_on(gateway, "Startup")[1])["gpt-4o-mini"]
    assert other["pricing"]["prompt"] == "0.0000001875"  # Startup: 25%


def weighted_run(gateways, key: str, model: str, allowance: int, per_call: int) -> int:
    """Calls (spread over `gateways`) until the allowance refuses one; returns how many were
    answered, checking each answer's remaining tokens."""
    answered = 0
    while True:
        r = call(gateways[answered % len(gateways)], key, model=model)
        if r.status_code == 429:
            assert r.headers["x-should-retry"] == "false"
            assert "counted tokens (weighted by each model's price)" in r.text
            return answered
        assert r.status_code == 200, r.text
        answered += 1
        assert answered <= allowance // per_call + 1, "the allowance did not stop the calls"


@pytest.mark.parametrize("where", ["one process", "two processes on Redis"])
def test_a_weighted_allowance_lasts_as_long_as_its_worth(where, gateway, fleet):
    gateways = [gateway] if where == "one process" else fleet(2)
    gw = gateways[0]
    # 9,000 counted tokens at $1 a million counted (sold at cost): $0.009 of calls.
    name = plan(gw, "Weighted", "--monthly-tokens", "9000", "--markup", "0", "--allowance",
                "weighted", "--reference", "1")
    listed = models_of(gw, key_on(gw, name)[1])
    assert listed["gpt-4o-mini"]["allowance"]["counted_per_token"]["completion"] == "0.6"
    assert listed["claude-sonnet-4-5"]["allowance"]["counted_per_token"]["prompt"] == "3"
    cheap_per_call = 210  # 1000 x 0.15 + 100 x 0.6
    dear_per_call = 4500  # 1000 x 3 + 100 x 15 (claude-sonnet-4-5)
    for model, per_call in (("gpt-4o-mini", cheap_per_call),
                            ("claude-sonnet-4-5", dear_per_call)):
        email, key = key_on(gw, name)
        answered = weighted_run(gateways, key, model, 9000, per_call)
        records = gw.records(key, count=answered)
        counted = sum(r.counted_tokens for r in records)
        assert counted <= 9000  # never past the allowance: the reservations held
        # Each full call counted its sell value; the last may have been capped to what was left.
        assert 9000 // per_call <= answered <= 9000 // per_call + 1
        assert sum(r.counted_tokens == per_call for r in records) >= answered - 1
        assert usage_json(gw, email)["counted_tokens"] == counted
    # The same allowance in raw tokens would have allowed 8 calls of either model.


@pytest.mark.parametrize("where", ["one process", "two processes on Redis"])
def test_pay_as_you_go_spends_credit_to_zero_under_concurrent_calls(where, gateway, fleet):
    gateways = [gateway] if where == "one process" else fleet(2)
    gateway = gateways[0]
    name = plan(gateway, "PAYG", "--monthly-tokens", "0", "--markup", "0")
    email, key = key_on(gateway, name)
    # Out of credit: each SDK gets its provider's own answer, not retried.
    with pytest.raises(openai.RateLimitError) as e:
        openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=key, max_retries=0
                      ).chat.completions.create(model="gpt-4o-mini", messages=PROMPT,
                                                max_tokens=100)
    assert e.value.code == "insufficient_quota"
    with pytest.raises(anthropic.APIStatusError) as e:
        anthropic.Anthropic(base_url=f"{gateway.url}/v1/anthropic", api_key=key).messages.create(
            model="claude-haiku-4-5", max_tokens=100, messages=PROMPT)
    assert e.value.status_code == 402 and e.value.body["error"]["type"] == "billing_error"

    # $0.002: 9 calls of $0.00021, and a tenth capped to what is left.
    gateway.admin("grant-credits", email, "0.002", "--reason", "welcome")
    for gw in gateways:
        wait_until(lambda gw=gw: call(gw, key, max_tokens=1, usage="in=1,out=1").status_code
                   == 200, what="the grant reaching the gateway")
    with cf.ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda i: call(gateways[i % len(gateways)], key).status_code,
                                 range(20)))
    assert set(statuses) <= {200, 429} and 429 in statuses
    credits = json.loads(gateway.admin("credits", email).stdout)
    records = gateway.records(key, count=len(gateways) + statuses.count(200))
    spent = sum(r.credit_nanousd for r in records)
    assert spent == sum(r.charge_nanousd for r in records)  # every call paid from credit
    assert 1_000_000 < spent <= 2_000_000  # never past the balance: estimates are high
    balance = Decimal(credits["balance_usd"])
    assert balance == Decimal("0.002") - Decimal(spent).scaleb(-9) and balance >= 0
    assert [m["kind"] for m in credits["movements"]] == ["usage", "grant"]
    assert credits["movements"][1]["reason"] == "welcome"
    assert Decimal(credits["movements"][0]["amount_usd"]) == -Decimal(spent).scaleb(-9)
    # The refusals are counted for the customer.
    st = httpx.get(f"{gateway.url}/v1/usage", headers={"authorization": f"Bearer {key}"}).json()
    assert st["refusals"]["credit"] >= 2 + statuses.count(429)
    assert Decimal(st["credit"]["balance_usd"]) == balance


def test_credit_pays_past_the_allowance_only_when_the_customer_says_so(gateway):
    name = plan(gateway, "Small", "--monthly-tokens", "1200", "--markup", "0")
    email, key = key_on(gateway, name)
    gateway.admin("grant-credits", email, "1", "--reason", "trial")
    assert call(gateway, key).status_code == 200  # 1,100 tokens of the allowance
    refused = call(gateway, key)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "insufficient_quota"
    from models import User

    User.update(spend_credit=True).where(User.email == email).execute()
    wait_until(lambda: call(gateway, key).status_code == 200, what="credit spent")
    records = gateway.records(key, count=2)
    assert records[0].credit_nanousd == 0 and records[-1].credit_nanousd == 210_000
    st = httpx.get(f"{gateway.url}/v1/usage", headers={"authorization": f"Bearer {key}"}).json()
    assert st["allowance"] == {**st["allowance"], "tokens": 1200, "used": 1100,
                               "remaining": 100, "mode": "raw"}
    assert Decimal(st["paid_from_credit_usd"]) == Decimal("0.00021")
    assert st["refusals"]["quota"] >= 1


def test_a_customer_sees_charges_and_never_a_cost_anywhere(gateway):
    """Every customer page, the CSV and every API answer, scanned for the cost figures."""
    from tests.conftest import client, sign_in

    name = plan(gateway, "Sold", "--monthly-tokens", "1000000", "--markup", "50",
                "--models", "gpt-4o-mini")
    email, key = key_on(gateway, name)
    gateway.admin("set-password", email, input="selling-scan-password\n")
    answers = [call(gateway, key).text for _ in range(2)]
    gateway.records(key, count=2)
    answers.append(httpx.get(f"{gateway.url}/v1/models",
                             headers={"authorization": f"Bearer {key}"}).text)
    answers.append(httpx.get(f"{gateway.url}/v1/usage",
                             headers={"authorization": f"Bearer {key}"}).text)
    browser = client(gateway)
    assert sign_in(browser, email, "selling-scan-password").status_code == 302
    pages = {path: browser.get(path).text
             for path in ("/", "/usage", "/usage/export.csv", "/pricing", "/credit", "/keys",
                          "/quickstart")}
    # gpt-4o-mini costs $0.15 / $0.60 / $0.075 a million ($0.00042 for these two calls); it
    # sells at $0.225 / $0.90 / $0.1125 ($0.00063).
    cost_figures = ("0.00000015", "0.0000006", "0.000000075", "$0.15", "$0.60", "$0.075",
                    "0.00042", "$0.0004")
    for where, text in [*pages.items(), *(("API", a) for a in answers)]:
        found = [f for f in cost_figures if f in text]
        assert not found, f"{where} shows the cost: {found}"
        assert "cost" not in text.lower() or where == "/quickstart", where
    assert "$0.225" in pages["/pricing"] and "0.000000225" in answers[2]
    assert "0.000630000" in answers[3] and "$0.0006" in pages["/usage"]
    assert ",0.000315000," in pages["/usage/export.csv"]


def expected_charge(record, markup_bp: int) -> int:
    """A record's charge from the catalog, computed apart from the gateway: each price marked
    up and kept in whole nano-dollars per million tokens, the sum rounded once."""
    from decimal import ROUND_HALF_EVEN

    from models import ModelPrice
    from models.catalog import catalog_name

    known = {m.model: m for m in ModelPrice.select()}
    m = known[catalog_name(record.model, known)]

    def sell(usd_per_mtok) -> int:
        nanos = Decimal(str(usd_per_mtok)) * 10**9 * (10_000 + markup_bp) / 10_000
        return int(nanos.to_integral_value(ROUND_HALF_EVEN))

    total = (record.input_tokens * sell(m.input_per_mtok)
             + record.output_tokens * sell(m.output_per_mtok)
             + record.cache_read_tokens * sell(m.cache_read_per_mtok)
             + record.cache_write_tokens * sell(m.cache_write_per_mtok))
    return int((Decimal(total) / 10**6).to_integral_value(ROUND_HALF_EVEN))


def test_a_soak_of_mixed_calls_is_charged_to_the_nano_dollar_and_the_ledger_balances(gateway):
    import random

    rng = random.Random(26)
    name = plan(gateway, "Soak", "--monthly-tokens", "20000", "--markup", "37.5")
    email, key = key_on(gateway, name)
    from models import User

    User.update(spend_credit=True).where(User.email == email).execute()
    gateway.admin("grant-credits", email, "1", "--reason", "soak")
    time.sleep(2.5)  # the key cache's lifetime: the grant and the choice reach the gateway
    answered = 0
    for i in range(60):
        # A prompt of ~1,050 tokens: what a provider reports of it, cached or not, is less.
        usage = (f"in={rng.randint(1, 300)},out={rng.randint(1, 400)},"
                 f"cache_read={rng.randint(0, 500)},cache_write={rng.randint(0, 200)}")
        model = ("gpt-4o-mini", "claude-haiku-4-5", "gpt-4.1-mini")[i % 3]
        r = call(gateway, key, model=model, usage=usage, max_tokens=400)
        assert r.status_code == 200, r.text
        answered += 1
    records = gateway.records(key, count=answered)
    assert len(records) == answered
    for r in records:
        assert r.charge_nanousd == expected_charge(r, 3750), (r.model, r.input_tokens)
    paid = [r for r in records if r.credit_nanousd]
    assert paid and len(paid) < len(records)  # the allowance first, then credit
    assert all(r.credit_nanousd == r.charge_nanousd for r in paid)
    # Every report adds up to the records, exactly.
    charges = sum(r.charge_nanousd for r in records)
    st = httpx.get(f"{gateway.url}/v1/usage", headers={"authorization": f"Bearer {key}"}).json()
    assert Decimal(st["charge_usd"]) == Decimal(charges).scaleb(-9)
    assert Decimal(usage_json(gateway, email)["charge_usd"]) == Decimal(charges).scaleb(-9)
    spent = sum(r.credit_nanousd for r in paid)
    credits = json.loads(gateway.admin("credits", email).stdout)
    assert Decimal(credits["balance_usd"]) == 1 - Decimal(spent).scaleb(-9)
    assert sum(Decimal(m["amount_usd"]) for m in credits["movements"]) == Decimal(
        credits["balance_usd"])
    assert Decimal(st["paid_from_credit_usd"]) == Decimal(spent).scaleb(-9)
    assert st["allowance"]["used"] <= 20000
