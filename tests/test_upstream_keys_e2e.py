"""Key pools end to end: several provider keys per provider, stepped around when the provider
limits, refuses or fails one, with the official SDKs (their own retries off, so the gateway
alone must step around) against fakes that behave per key."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from datetime import UTC
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from tests.conftest import UPSTREAM_SECRETS, wait_until

A, B, C = ("sk-ant-pool-key-AAAA", "sk-ant-pool-key-BBBB", "sk-ant-pool-key-CCCC")
OA, OB = ("sk-proj-pool-key-OA01", "sk-proj-pool-key-OB02")
GA, GB = ("AIza-pool-key-GA01", "AIza-pool-key-GB02")


def claude(gw, key, **kw):
    return anthropic.Anthropic(base_url=f"{gw.url}/v1/anthropic", api_key=key, max_retries=0,
                               **kw)


def ask(client, **extra):
    return client.messages.create(model="claude-sonnet-4-6", max_tokens=16,
                                  messages=[{"role": "user", "content": "Hi"}], **extra)


def events(kind=None):
    from models.upstreams import UpstreamEvent as E

    q = E.select().order_by(E.id)
    return [e for e in q if kind is None or e.kind == kind]


@pytest.fixture
def pool_gateway(make_gateway, fake_servers):
    """A gateway with three Anthropic keys, two OpenAI keys and two Gemini keys."""

    def make(**env):
        defaults = dict(ANTHROPIC_API_KEY=f"{A},{B},{C}", OPENAI_API_KEY=f"{OA},{OB}",
                        GEMINI_API_KEY=f"{GA},{GB}")
        gw = make_gateway(**{**defaults, **env})
        for secret in (A, B, C):
            fake_servers["anthropic"].state.key(secret)
        for secret in (OA, OB):
            fake_servers["openai"].state.key(secret)
        for secret in (GA, GB):
            fake_servers["gemini"].state.key(secret)
        gw.admin("set-plan", "dev@enterprise.com", "Enterprise")  # 1,000 calls a minute
        gw.start()
        return gw, gw.create_key("dev@enterprise.com")

    return make


def test_a_rate_limited_key_rests_until_its_reset_and_every_call_succeeds(
        pool_gateway, fake_servers):
    gw, key = pool_gateway()
    fake = fake_servers["anthropic"].state
    fake.key(A, "limited:2")
    client = claude(gw, key)
    for _ in range(12):
        assert ask(client).content[0].text
    # The limited key was tried once, rested; the others took every call.
    assert fake.count(A) == 1
    assert fake.count(B) + fake.count(C) == 12
    assert fake.count(B) >= 1 and fake.count(C) >= 1  # spread (by weight: see the unit test)
    # One charge per call, and the failed attempt recorded for the operator, not the customer.
    records = gw.records(key, 12)
    assert len(records) == 12 and all(r.status == 200 for r in records)
    limited = wait_until(lambda: events("rate_limited"), what="the 429 recorded")
    assert [(e.key_name, e.fingerprint, e.status) for e in limited] == [
        ("anthropic-1", "AAAA", 429)]
    assert limited[0].until is not None
    # After its reset the key serves again.
    time.sleep(max(0.0, limited[0].until.replace(tzinfo=UTC).timestamp() - time.time()) + 0.2)
    wait_until(lambda: (ask(client), fake.count(A) > 1)[1], what="the key serving again")


def test_every_key_cooling_is_a_429_with_the_soonest_reset_and_nothing_charged(
        pool_gateway, fake_servers):
    gw, key = pool_gateway()
    fake = fake_servers["anthropic"].state
    fake.key(A, "limited:30")
    fake.key(B, "limited:8")
    fake.key(C, "limited:20")
    client = claude(gw, key)
    with pytest.raises(anthropic.RateLimitError) as e:
        ask(client)
    # Each key tried once, then the 429 waits for the soonest reset (B's 8 s).
    assert fake.count(A) == fake.count(B) == fake.count(C) == 1
    wait = int(e.value.response.headers["retry-after"])
    assert 6 <= wait <= 9
    assert e.value.body["error"]["type"] == "rate_limit_error"
    assert "sk-ant" not in e.value.response.text and "pool-key" not in e.value.response.text
    # The next call is refused at once, without going upstream.
    with pytest.raises(anthropic.RateLimitError) as again:
        ask(client)
    assert fake.count(A) + fake.count(B) + fake.count(C) == 3
    assert int(again.value.response.headers["retry-after"]) <= wait
    # Nothing charged; counted as refusals.
    time.sleep(0.6)
    assert all(r.total_tokens == 0 and r.charge_nanousd == 0 and r.status == 429
               for r in gw.records(key, 1, timeout=0.5))
    from models.selling import Refusal

    assert wait_until(lambda: Refusal.select().where(Refusal.reason == "upstream").first())


def test_a_revoked_key_is_taken_out_the_operator_told_and_put_back(pool_gateway,
                                                                  fake_servers, smtp):
    inbox, smtp_url = smtp
    gw, key = pool_gateway(SMTP_URL=smtp_url)
    fake = fake_servers["anthropic"].state
    fake.key(B, "revoked")
    client = claude(gw, key)
    for _ in range(10):
        ask(client)
    assert fake.count(B) == 1  # tried once, taken out
    revoked = wait_until(lambda: events("revoked"), what="the revocation recorded")
    assert revoked[0].key_name == "anthropic-2" and revoked[0].status == 401
    assert "disabled: revoked" in gw.log_path.read_text()
    # The operators are mailed, once, with what to do; never the key.
    text = inbox.wait_for("admin@llm-gateway.io", subject="anthropic-2")
    assert "…BBBB" in text and "upstreams --enable anthropic-2" in text and B not in text
    time.sleep(0.5)
    assert len(inbox.subjects("admin@llm-gateway.io")) == 1
    assert not [m for m in inbox.messages if m["To"] != "admin@llm-gateway.io"]
    # The operator's view, as JSON: the key's state and last hour, never the key.
    out = gw.admin("upstreams").stdout
    assert B not in out and "pool-key" not in out
    keys = {k["name"]: k for k in json.loads(out)}
    assert keys["anthropic-2"]["state"] == "disabled"
    assert keys["anthropic-2"]["disabled"] == "revoked"
    assert keys["anthropic-2"]["fingerprint"] == "BBBB"
    assert keys["anthropic-1"]["state"] == "serving"
    assert keys["anthropic-1"]["calls"] + keys["anthropic-3"]["calls"] == 10
    assert keys["anthropic-2"]["errors"] == 1
    # Put back by the operator; the running gateway takes it back within seconds.
    fake.key(B)
    gw.admin("upstreams", "--enable", "anthropic-2")
    wait_until(lambda: (ask(client), fake.count(B) > 1)[1], timeout=20,
               what="the key back in service")


def test_out_of_credit_keys_are_taken_out_on_each_provider(pool_gateway, fake_servers):
    gw, key = pool_gateway()
    fake_servers["anthropic"].state.key(A, "no-credit")
    fake_servers["openai"].state.key(OA, "no-credit")
    fake_servers["gemini"].state.key(GA, "no-credit")
    c = claude(gw, key)
    o = openai.OpenAI(base_url=f"{gw.url}/v1/openai", api_key=key, max_retries=0)
    g = genai.Client(api_key=key, http_options=genai_types.HttpOptions(
        base_url=f"{gw.url}/v1/gemini"))
    pairs = (("anthropic", A), ("openai", OA), ("gemini", GA))
    calls = 0
    # The keys are chosen at random: until each out-of-credit key has been met (six rounds
    # at least; (2/3)^40 that one of three is never chosen in forty), every call answered.
    while calls < 40 and (calls < 6 or any(fake_servers[n].state.count(s) == 0
                                           for n, s in pairs)):
        ask(c)
        o.chat.completions.create(model="gpt-4o-mini", max_tokens=8,
                                  messages=[{"role": "user", "content": "Hi"}])
        g.models.generate_content(model="gemini-2.5-flash", contents="Hi")
        calls += 1
    for name, secret in pairs:  # met once, then never chosen again
        assert fake_servers[name].state.count(secret) == 1, name
    kinds = wait_until(lambda: len(events("no_credit")) == 3 and events("no_credit"))
    assert {e.provider for e in kinds} == {"anthropic", "openai", "gemini"}
    assert len(gw.records(key, 3 * calls)) == 3 * calls


def test_a_provider_failure_before_the_answer_is_retried_a_cut_stream_is_not(
        pool_gateway, fake_servers):
    gw, key = pool_gateway(ANTHROPIC_API_KEY=A)  # one key: the retry goes to it again
    fake = fake_servers["anthropic"].state
    fake.key(A, "overloaded:2")
    client = claude(gw, key)
    assert ask(client, system="Be brief.").content[0].text  # 529, 529, then served
    assert fake.count(A) == 3
    assert len(gw.records(key, 1)) == 1
    # Sent again exactly as it went: the same body, the same headers but the key's.
    sent = [r for r in fake.requests if r["headers"].get("x-api-key") == A]
    assert len({r["body"] for r in sent}) == 1 and b"Be brief." in sent[0]["body"]
    assert len({tuple(sorted(r["headers"].items())) for r in sent}) == 1
    # A connection closed before the answer: tried again too.
    fake.key(A, "drop:1")
    assert ask(client).content[0].text
    # Once the stream has begun, nothing is sent again: the client sees the cut.
    fake.key(A, "cut:3")
    before = fake.count(A)
    with pytest.raises(Exception, match="incomplete|closed|terminated"), \
            client.messages.stream(model="claude-sonnet-4-6", max_tokens=16,
                                   messages=[{"role": "user", "content": "Hi"}]) as s:
        for _ in s:
            pass
    assert fake.count(A) == before + 1


def test_retries_end_with_the_providers_own_answer(pool_gateway, fake_servers):
    gw, key = pool_gateway(ANTHROPIC_API_KEY=A, UPSTREAM_RETRIES="1")
    fake = fake_servers["anthropic"].state
    fake.key(A, "overloaded:5")
    with pytest.raises(anthropic.APIStatusError) as e:
        ask(claude(gw, key))
    assert e.value.status_code == 529  # passed on as it came, after 1 retry
    assert fake.count(A) == 2


def test_keys_from_a_file_with_models_and_a_rotation_on_sighup_loses_no_call(
        pool_gateway, fake_servers, tmp_path):
    keys_file = tmp_path / "keys.toml"
    keys_file.write_text(f'''
[[openai]]
name = "primary"
key = "{OA}"
weight = 3

[[openai]]
name = "mini-only"
key_env = "MINI_KEY"
models = ["gpt-4o-mini*"]
''')
    gw, key = pool_gateway(OPENAI_API_KEY="", UPSTREAM_KEYS_FILE=str(keys_file), MINI_KEY=OB)
    fake = fake_servers["openai"].state
    o = openai.OpenAI(base_url=f"{gw.url}/v1/openai", api_key=key, max_retries=0)

    def chat(model):
        return o.chat.completions.create(model=model, max_tokens=8,
                                         messages=[{"role": "user", "content": "Hi"}])

    for _ in range(8):
        chat("gpt-4.1-mini")  # only "primary" may serve it
    assert fake.count(OA) == 8 and fake.count(OB) == 0
    for _ in range(16):
        chat("gpt-4o-mini")
    assert fake.count(OB) > 0 and fake.count(OA) > 8
    # Rotation: "primary" replaced by a new key; SIGHUP while calls run; none fails.
    new = "sk-proj-pool-key-ONEW"
    fake.key(new)
    failures, done, stop = [], [], threading.Event()

    def load():
        while not stop.is_set():
            try:
                chat("gpt-4.1-mini")
                done.append(1)
                time.sleep(0.02)
            except Exception as e:  # noqa: BLE001
                failures.append(e)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    keys_file.write_text(keys_file.read_text().replace(OA, new))
    gw.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "upstream keys reloaded" in gw.log_path.read_text())
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    assert failures == [] and len(done) > 30
    assert fake.count(new) > 0
    before = fake.count(OA)
    for _ in range(5):
        chat("gpt-4.1-mini")
    assert fake.count(OA) == before  # the old key is no longer used
    assert OA not in gw.log_path.read_text() and new not in gw.log_path.read_text()
    # A change to the file alone is read too (no signal), within a few seconds.
    newer = "sk-proj-pool-key-OTWO"
    fake.key(newer)
    keys_file.write_text(keys_file.read_text().replace(new, newer))
    wait_until(lambda: (chat("gpt-4.1-mini"), fake.count(newer))[1], timeout=10,
               what="the changed file read")
    # Nowhere in the database: only names, fingerprints and one-way ids.
    dump = "\n".join(sqlite3.connect(gw.data_dir / "gateway.db").iterdump())
    assert "ONEW" in dump  # its fingerprint...
    assert not any(k in dump for k in (OA, OB, new, newer))  # ...never the key


def test_a_key_near_its_limit_is_chosen_less(pool_gateway, fake_servers):
    gw, key = pool_gateway(ANTHROPIC_API_KEY=f"{A},{B}")
    fake = fake_servers["anthropic"].state
    fake.key(A, "room:1/1000")  # its provider says 1 request left of 1,000
    client = claude(gw, key)
    for _ in range(40):
        ask(client)
    assert fake.count(A) <= 5 < fake.count(B)


def test_gemini_rate_limit_reads_its_retry_info(pool_gateway, fake_servers):
    gw, key = pool_gateway()
    fake_servers["gemini"].state.key(GA, "limited:12")
    fake_servers["gemini"].state.key(GB, "limited:30")
    g = genai.Client(api_key=key, http_options=genai_types.HttpOptions(
        base_url=f"{gw.url}/v1/gemini"))
    with pytest.raises(genai_errors.ClientError) as e:
        g.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert e.value.code == 429
    assert 10 <= int(e.value.response.headers["retry-after"]) <= 13
    assert UPSTREAM_SECRETS["gemini"] not in str(e.value.details)


def test_the_upstreams_page_shows_each_key(pool_gateway, fake_servers):
    from tests.conftest import ADMIN_PASSWORD, client, sign_in

    gw, key = pool_gateway()
    fake_servers["anthropic"].state.key(C, "revoked")
    wait_until(lambda: (ask(claude(gw, key)), fake_servers["anthropic"].state.count(C))[1])
    with client(gw) as c:
        assert sign_in(c, "admin@llm-gateway.io", ADMIN_PASSWORD).status_code == 302
        page = c.get("/ops/upstreams").text
        for secret in (A, B, C, OA, OB, GA, GB):
            assert secret not in page
        assert "…CCCC" in page and "disabled: revoked" in page
        assert page.count('data-key="anthropic:') == 3
        token = __import__("re").search(r'name="csrf_token" value="([^"]+)"', page)[1]
        r = c.post("/ops/upstreams/enable", data={"key": "anthropic:anthropic-3",
                                                    "csrf_token": token})
        assert r.status_code == 302
        assert "disabled: revoked" not in c.get("/ops/upstreams").text


def test_metrics_per_key_name(pool_gateway, fake_servers):
    from tests.conftest import free_port

    port = free_port()
    gw, key = pool_gateway(METRICS_ADDRESS=f"127.0.0.1:{port}")
    fake_servers["anthropic"].state.key(A, "limited:30")
    wait_until(lambda: (ask(claude(gw, key)), fake_servers["anthropic"].state.count(A))[1])
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'llm_gateway_upstream_attempts_total{key="anthropic-1",outcome="rate_limited",' \
           'provider="anthropic"} 1.0' in text
    assert 'llm_gateway_upstream_key_state{key="anthropic-1",provider="anthropic"} 1.0' in text
    assert "pool-key" not in text



CLAUDE = Path(__file__).parent / "node" / "node_modules" / ".bin" / "claude"


def test_claude_code_keeps_working_while_one_of_two_keys_is_rate_limited(
        pool_gateway, fake_servers, tmp_path):
    if not CLAUDE.exists():
        pytest.fail("tests/node/node_modules is missing: ./test.sh installs it (npm ci)")
    gw, key = pool_gateway(ANTHROPIC_API_KEY=f"{A},{B}")
    fake = fake_servers["anthropic"].state
    fake.key(A, "limited:60")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path),
           "ANTHROPIC_BASE_URL": f"{gw.url}/v1/anthropic", "ANTHROPIC_API_KEY": key,
           "ANTHROPIC_MODEL": "claude-sonnet-4-6", "ANTHROPIC_SMALL_FAST_MODEL": "claude-haiku-4-5",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
           "CLAUDE_CODE_MAX_RETRIES": "0"}
    # The key has met its limit (the gateway's first calls, by weight, reach it soon).
    wait_until(lambda: (ask(claude(gw, key)), fake.count(A))[1], what="the key's 429")
    seen = fake.count(A)
    for _ in range(3):
        out = subprocess.run([str(CLAUDE), "-p", "Say hello", "--output-format", "json"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        answer = json.loads(out.stdout)
        assert answer["is_error"] is False and "How can I help" in answer["result"]
    assert fake.count(A) == seen  # it rested through every run; the other key took them
    assert fake.count(B) >= 3
    for r in gw.records(key, 3):
        assert r.status == 200 and r.total_tokens > 0


def test_two_gateways_on_one_redis_share_a_cool_down(fleet, fake_servers):
    fake = fake_servers["anthropic"].state
    fake.key(A, "limited:30")
    fake.key(B)
    gw1, gw2 = fleet(2, ANTHROPIC_API_KEY=f"{A},{B}")
    gw1.admin("set-plan", "dev@enterprise.com", "Enterprise")
    key = gw1.create_key("dev@enterprise.com")
    one, two = claude(gw1, key), claude(gw2, key)
    wait_until(lambda: (ask(one), fake.count(A))[1], what="the first gateway meets the 429")
    # At once, the second gateway no longer tries the key (over Redis: the record would
    # tell it only a few seconds later).
    for _ in range(20):
        ask(two)
    assert fake.count(A) == 1


def test_one_key_alone_passes_the_providers_429_on_and_is_not_rested(pool_gateway,
                                                                     fake_servers):
    gw, key = pool_gateway(ANTHROPIC_API_KEY=A)
    fake = fake_servers["anthropic"].state
    fake.key(A, "limited:1")
    with pytest.raises(anthropic.RateLimitError) as e:
        ask(claude(gw, key))
    assert e.value.response.headers["retry-after"] == "1"  # the provider's own
    time.sleep(1.1)
    assert ask(claude(gw, key)).content[0].text  # not refused by the gateway meanwhile
    assert fake.count(A) == 2


def test_every_key_out_or_none_for_the_model_is_a_503_that_says_why(pool_gateway,
                                                                    fake_servers, tmp_path):
    keys_file = tmp_path / "keys.toml"
    keys_file.write_text(f'[[openai]]\nname = "mini"\nkey = "{OA}"\nmodels = ["gpt-4o-mini"]\n')
    gw, key = pool_gateway(ANTHROPIC_API_KEY=A, OPENAI_API_KEY="",
                           UPSTREAM_KEYS_FILE=str(keys_file))
    fake_servers["anthropic"].state.key(A, "revoked")
    for _ in range(2):  # the first meets the revocation, the second is refused at once
        with pytest.raises(anthropic.InternalServerError) as e:
            ask(claude(gw, key))
        assert e.value.status_code == 503 and "operator has been told" in e.value.message
    assert fake_servers["anthropic"].state.count(A) == 1
    o = openai.OpenAI(base_url=f"{gw.url}/v1/openai", api_key=key, max_retries=0)
    with pytest.raises(openai.InternalServerError) as e:
        o.chat.completions.create(model="gpt-4.1-mini", max_tokens=8,
                                  messages=[{"role": "user", "content": "Hi"}])
    assert "none of its keys is configured for this model" in e.value.message
    assert fake_servers["openai"].state.count(OA) == 0


def test_a_connection_that_fails_is_tried_again(make_gateway, fake_servers):
    """The provider unreachable at first (refused), up by the retry: the call succeeds."""
    from tests.conftest import free_port
    from tests.fakes import FakeAnthropic

    port = free_port()
    gw = make_gateway(ANTHROPIC_API_KEY=A, UPSTREAM_ANTHROPIC_URL=f"http://127.0.0.1:{port}",
                      UPSTREAM_RETRIES="4")
    gw.start()
    key = gw.create_key("dev@enterprise.com")
    client = claude(gw, key)
    late: list = []

    def come_up():  # after the first attempt and its first retry (0.125 to 0.25 s later)
        time.sleep(0.4)
        late.append(FakeAnthropic(A, "127.0.0.1", port).start())

    threading.Thread(target=come_up).start()
    try:
        assert ask(client).content[0].text
        assert late[0].state.count(A) == 1
        dropped = wait_until(lambda: events("dropped"), what="the refused attempt recorded")
        assert dropped[0].status == 0 and dropped[0].key_name == "anthropic"
    finally:
        for s in late:
            s.shutdown()


def test_a_provider_failure_goes_again_on_another_key(pool_gateway, fake_servers):
    gw, key = pool_gateway(ANTHROPIC_API_KEY=f"{A},{B}", UPSTREAM_RETRIES="1")
    fake = fake_servers["anthropic"].state
    fake.key(A, "overloaded:100")  # A fails every time; one retry is enough, on B
    client = claude(gw, key)
    for _ in range(12):
        assert ask(client).content[0].text
    assert fake.count(A) >= 1  # some calls met A first (by weight, half of them)...
    assert fake.count(B) == 12  # ...and every call was answered by B
    assert len(gw.records(key, 12)) == 12
