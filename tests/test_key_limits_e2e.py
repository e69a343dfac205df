"""Keys with limits of their own (rate, monthly spend cap, models, expiry, client networks),
set with the operator's CLI and refused through the official SDKs, in each provider's shape:
in one process, and in two workers sharing Redis."""

from __future__ import annotations

import datetime as dt

import anthropic
import httpx
import openai
import pytest

from models.security import display_prefix
from tests.conftest import ant, new_customer, oai, wait_until

MSG = [{"role": "user", "content": "Hi"}]
CAP = 10_000_000  # $0.01 in nano-dollars


def key_with(gw, email: str, *limits: str) -> str:
    return gw.admin("create-key", email, "--name", "limited", *limits).stdout.strip()


def charges(key: str) -> list[int]:
    from models import ApiKey, UsageRecord
    from models.security import hash_key

    api_key = ApiKey.get(ApiKey.secret_hash == hash_key(key))
    return [r.charge_nanousd for r in UsageRecord.select().where(UsageRecord.api_key == api_key)]


def from_address(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address))


def exercise(gw) -> None:
    """Every limit, refused with its own message; the rest of the account unaffected."""
    email = new_customer(gw, "Startup")  # 60 requests a minute, 1M tokens
    plain = gw.create_key(email)

    # A spend cap of $0.01: the output cap is lowered to what the cap has left, then refused.
    capped = key_with(gw, email, "--monthly-usd", "0.01")
    client = ant(gw, capped)
    usage = {"x-fake-usage": "in=5,out=400"}
    answered = 0
    with pytest.raises(anthropic.RateLimitError) as refused:
        for _ in range(10):
            client.messages.create(model="claude-sonnet-4-6", max_tokens=4000, messages=MSG,
                                   extra_headers=usage)
            answered += 1
            wait_until(lambda n=answered: len(charges(capped)) >= n, what="the call recorded")
    assert 1 <= answered < 10
    assert "monthly spend cap of $0.01 is reached" in refused.value.message
    assert refused.value.response.headers["x-should-retry"] == "false"
    spent = sum(charges(capped))
    assert CAP * 0.5 < spent <= CAP * 1.001, spent  # the cap held, to its estimate's error
    ant(gw, plain).messages.create(model="claude-sonnet-4-6", max_tokens=4000, messages=MSG,
                                   extra_headers=usage)  # the account's other key goes on

    # One model only: another is refused as the provider refuses a key without access.
    one_model = key_with(gw, email, "--models", "gpt-4o-mini")
    assert oai(gw, one_model).chat.completions.create(
        model="gpt-4o-mini", messages=MSG).choices[0].message.content
    with pytest.raises(openai.PermissionDeniedError) as refused:
        oai(gw, one_model).chat.completions.create(model="gpt-4o", messages=MSG)
    assert "may not use the model 'gpt-4o'" in refused.value.message
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        ant(gw, one_model).messages.create(model="claude-sonnet-4-6", max_tokens=5, messages=MSG)
    assert refused.value.body["error"]["type"] == "permission_error"
    listed = httpx.get(f"{gw.url}/v1/models", headers={"authorization": f"Bearer {one_model}"})
    assert [m["id"] for m in listed.json()["data"]] == ["gpt-4o-mini"]

    # Expired: the CLI takes only a future date; the day passes (set in the database).
    expiring = key_with(gw, email, "--expires", (dt.date.today() + dt.timedelta(days=3))
                        .isoformat())
    assert oai(gw, expiring).chat.completions.create(model="gpt-4o-mini", messages=MSG)
    refused_past = gw.admin("set-key-limits", display_prefix(expiring), "--expires", "2020-01-01",
                            check=False)
    assert refused_past.returncode != 0 and "in the future" in refused_past.stderr
    from models import ApiKey, utcnow
    from models.security import hash_key

    ApiKey.update(expires_at=utcnow() - dt.timedelta(seconds=1)).where(
        ApiKey.secret_hash == hash_key(expiring)).execute()

    def expired_refusal():
        try:
            oai(gw, expiring).chat.completions.create(model="gpt-4o-mini", messages=MSG)
        except openai.AuthenticationError as e:
            return e
        return None

    refusal = wait_until(expired_refusal, what="the expiry seen (the key cache's TTL)")
    assert "This API key expired at" in refusal.message

    # From an address outside its networks: refused; from inside: served.
    fenced = key_with(gw, email, "--allow-cidr", "127.0.0.2/32", "--allow-cidr", "10.0.0.0/8")
    with pytest.raises(openai.PermissionDeniedError) as refused:
        oai(gw, fenced, http_client=from_address("127.0.0.1")).chat.completions.create(
            model="gpt-4o-mini", messages=MSG)
    assert "may not be used from your address (127.0.0.1)" in refused.value.message
    assert oai(gw, fenced, http_client=from_address("127.0.0.2")).chat.completions.create(
        model="gpt-4o-mini", messages=MSG).choices

    # Its own rate: the fourth call in a minute refused with Retry-After; the plan's other
    # keys are not.
    slow = key_with(gw, email, "--rpm", "3")
    for _ in range(3):
        oai(gw, slow).chat.completions.create(model="gpt-4o-mini", messages=MSG)
    with pytest.raises(openai.RateLimitError) as refused:
        oai(gw, slow).chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert "this API key allows 3 requests per minute" in refused.value.message
    assert 1 <= int(refused.value.response.headers["retry-after"]) <= 60
    assert oai(gw, plain).chat.completions.create(model="gpt-4o-mini", messages=MSG).choices


def test_key_limits_in_one_process(gateway):
    exercise(gateway)


def test_key_limits_in_two_workers_on_redis(make_gateway, postgres, redis_server):
    redis_server.client().flushall()
    gw = make_gateway(DATABASE_URL=postgres.new_database(), REDIS_URL=redis_server.url)
    gw.start(False, "--workers", "2")
    exercise(gw)
    # The cap's state lives in Redis, where both workers read it.
    keys = redis_server.client().keys("llm-gateway:kq:*")
    assert keys, "the key's spend in Redis"


def test_key_limits_survive_a_restart(make_gateway):
    """The spend and the rate are rebuilt from the usage records at start."""
    gw = make_gateway()
    gw.start()
    email = new_customer(gw, "Startup")
    capped = key_with(gw, email, "--monthly-usd", "0.01")
    usage = {"x-fake-usage": "in=5,out=100000"}  # the whole cap in one call
    ant(gw, capped).messages.create(model="claude-sonnet-4-6", max_tokens=4000, messages=MSG,
                                    extra_headers=usage)
    wait_until(lambda: charges(capped), what="the call recorded")
    gw.stop()
    gw.start()
    with pytest.raises(anthropic.RateLimitError) as refused:
        ant(gw, capped).messages.create(model="claude-sonnet-4-6", max_tokens=40,
                                        messages=MSG)
    assert "monthly spend cap" in refused.value.message


def test_cli_refuses_limits_it_cannot_keep(gateway):
    email = new_customer(gateway, "Explorer")
    for args, said in [(("--rpm", "0"), "at least 1"),
                       (("--monthly-usd", "-3"), "not negative"),
                       (("--monthly-usd", "abc"), "US dollars"),
                       (("--expires", "2020-01-01"), "in the future"),
                       (("--expires", "soon"), "YYYY-MM-DD"),
                       (("--allow-cidr", "10.0.0.300/8"), "not an address")]:
        out = gateway.admin("create-key", email, *args, check=False)
        assert out.returncode != 0 and said in out.stderr, (args, out.stderr)
