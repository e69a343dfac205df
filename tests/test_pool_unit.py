"""The key pool's pure parts: the keys as listed, the choice among them, the providers' rate-limit
signals read, and what a failed answer says about the key."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from addons.providers import BUILTIN
from addons.providers.base import NO_CREDIT, RATE_LIMITED, REVOKED, TRANSIENT
from addons.services.pool import Change, Pool
from addons.wire import ratelimits
from models import keyring
from models.keyring import KeyFileError, KeySpec


def test_keys_from_a_comma_list_and_a_file():
    env = {"ANTHROPIC_API_KEY": "sk-a-1111, sk-a-2222", "OPENAI_API_KEY": "sk-o-3333",
           "B_KEY": "sk-b-4444"}
    keys = keyring.from_env(env)
    assert [(k.name, k.fingerprint) for k in keys["anthropic"]] == [
        ("anthropic-1", "1111"), ("anthropic-2", "2222")]
    assert [k.name for k in keys["openai"]] == ["openai"] and keys["gemini"] == []
    text = '''
[[anthropic]]
name = "big"
key = "sk-a-2222"
weight = 3
[[anthropic]]
key_env = "B_KEY"
models = ["claude-haiku-4-5*", "claude-opus-4-5"]
'''
    from_file = keyring.from_file(text, env)
    assert [(k.name, k.weight) for k in from_file["anthropic"]] == [("big", 3),
                                                                    ("anthropic-2", 1)]
    haiku = from_file["anthropic"][1]
    assert haiku.serves("claude-haiku-4-5-20251001") and haiku.serves("claude-opus-4-5")
    assert not haiku.serves("claude-sonnet-4-5") and haiku.serves(None)
    # Never the key in its repr; an id that tells keys apart without being the key.
    assert "sk-a" not in repr(haiku) and "4444" not in haiku.id and len(haiku.id) == 16


@pytest.mark.parametrize("text,message", [
    ("[[azure]]\nkey='x'", "unknown provider"),
    ("[[openai]]\nname='x'", "no key"),
    ("[[openai]]\nkey='x'\nweight=0", "weight"),
    ("[[openai]]\nkey='x'\nmodels='gpt'", "models"),
    ("[[openai]]\nkey='x'\nsecret='y'", "unknown field"),
    ("[[openai]\nkey=", "not valid TOML"),
])
def test_a_keys_file_that_is_wrong_says_where(text, message):
    with pytest.raises(KeyFileError, match=message):
        keyring.from_file(text, {})


def test_the_file_and_the_list_together_and_names_unique(tmp_path):
    f = tmp_path / "keys.toml"
    f.write_text("[[openai]]\nname='openai'\nkey='sk-other'\n")
    with pytest.raises(KeyFileError, match="share a name"):
        keyring.read({"OPENAI_API_KEY": "sk-one", "UPSTREAM_KEYS_FILE": str(f)})
    f.write_text("[[openai]]\nname='main'\nkey='sk-one'\n")  # the same key: the file's
    keys = keyring.read({"OPENAI_API_KEY": "sk-one", "UPSTREAM_KEYS_FILE": str(f)})
    assert [k.name for k in keys["openai"]] == ["main"]
    with pytest.raises(KeyFileError, match="UPSTREAM_KEYS_FILE"):
        keyring.read({"UPSTREAM_KEYS_FILE": str(tmp_path / "missing.toml")})


def pool(*specs):
    return Pool({"anthropic": list(specs), "openai": [], "gemini": []})


def test_calls_spread_by_weight_and_step_around_a_cooling_or_disabled_key():
    a, b, c = (KeySpec("anthropic", n, f"sk-{n}", w) for n, w in (("a", 1), ("b", 2),
                                                                   ("c", 1)))
    p = pool(a, b, c)
    picks = Counter(p.choose("anthropic", "m").name for _ in range(4000))
    assert 850 < picks["a"] < 1150 and 1800 < picks["b"] < 2200 and 850 < picks["c"] < 1150
    ka, kb, kc = p.keys["anthropic"]
    p.cool(kb, "m", 30, 429, "r1")
    p.disable(kc, REVOKED, 401, "r2")
    assert {p.choose("anthropic", "m").name for _ in range(100)} == {"a"}
    assert p.choose("anthropic", "m", tried=(ka,)) is None
    assert 29 < p.soonest("anthropic", "m") <= 30
    assert kb in {p.choose("anthropic", "other") for _ in range(100)}  # limits are per model
    assert kb not in {p.choose("anthropic", "m") for _ in range(100)}  # ...and still kept
    p.enable(kc)
    assert "c" in {p.choose("anthropic", "m").name for _ in range(100)}
    assert p.unserved == {"openai", "gemini"}


def test_a_key_near_its_limit_is_chosen_in_proportion():
    p = pool(KeySpec("anthropic", "a", "sk-a"), KeySpec("anthropic", "b", "sk-b"))
    assert Counter(p.choose("anthropic", None).name for _ in range(4000))["a"] > 1800
    p.set_room(p.keys["anthropic"][0], 0.01)  # 1% left: weight 5% of a roomy key's
    picks = Counter(p.choose("anthropic", None).name for _ in range(4000))
    assert 100 < picks["a"] < 320
    p.set_room(p.keys["anthropic"][0], 0.9)  # room again: an equal share
    assert Counter(p.choose("anthropic", None).name for _ in range(4000))["a"] > 1800


def test_changes_are_told_and_a_reload_keeps_a_keys_state():
    a, b = KeySpec("anthropic", "a", "sk-a"), KeySpec("anthropic", "b", "sk-b")
    p = pool(a, b)
    told = []
    p.listeners.append(lambda key, change: told.append((key.name, change.kind)))
    p.disable(p.keys["anthropic"][1], NO_CREDIT, 400, None)
    p.disable(p.keys["anthropic"][1], NO_CREDIT, 400, None)  # once
    assert told == [("b", NO_CREDIT)]
    p.load({"anthropic": [KeySpec("anthropic", "b-renamed", "sk-b"),
                          KeySpec("anthropic", "new", "sk-new")]})
    assert [(k.name, k.disabled) for k in p.keys["anthropic"]] == [
        ("b-renamed", NO_CREDIT), ("new", None)]
    assert p.unserved == set()
    # Another process's cool-down, applied.
    new = p.keys["anthropic"][1]
    p.apply(Change("anthropic", new.id, RATE_LIMITED, time.time() + 5))
    assert new.state(time.time()) == "cooling" and p.choose("anthropic", None) is None


def test_the_providers_rate_limit_signals_read():
    now = time.time()
    assert ratelimits.go_duration("6m0s") == 360 and ratelimits.go_duration("12ms") == 0.012
    assert ratelimits.go_duration("1h2m3.5s") == 3723.5 and ratelimits.go_duration("x") is None
    assert ratelimits.retry_after({"retry-after": "7"}, now) == 7
    assert ratelimits.retry_after({"retry-after-ms": "1500", "retry-after": "9"}, now) == 1.5
    assert ratelimits.retry_after({"retry-after": "soon"}, now) is None
    at = datetime.fromtimestamp(now + 42, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    anthropic = {"anthropic-ratelimit-requests-limit": "50",
                 "anthropic-ratelimit-requests-remaining": "0",
                 "anthropic-ratelimit-requests-reset": at,
                 "anthropic-ratelimit-tokens-limit": "1000",
                 "anthropic-ratelimit-tokens-remaining": "500",
                 "anthropic-ratelimit-tokens-reset": "2000-01-01T00:00:00Z"}
    assert 40 < ratelimits.reset_after(anthropic, now) <= 42  # the exhausted one's
    assert ratelimits.room(anthropic) == 0.0
    openai = [(b"x-ratelimit-limit-requests", b"100"), (b"x-ratelimit-remaining-requests",
                                                         b"25"),
              (b"x-ratelimit-reset-requests", b"1m30s"), (b"x-ratelimit-limit-tokens", b"10"),
              (b"x-ratelimit-remaining-tokens", b"5"), (b"x-ratelimit-reset-tokens", b"6s")]
    assert ratelimits.room(openai) == 0.25
    assert ratelimits.reset_after(dict((k.decode(), v.decode()) for k, v in openai), now) == 90
    assert ratelimits.retry_delay({"details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37.5s"}]}) == 37.5


@pytest.mark.parametrize("provider,status,body,fault", [
    ("anthropic", 429, {"type": "error", "error": {"type": "rate_limit_error"}}, RATE_LIMITED),
    ("anthropic", 401, {"type": "error", "error": {"type": "authentication_error"}}, REVOKED),
    ("anthropic", 400, {"type": "error", "error": {
        "type": "invalid_request_error", "message": "Your credit balance is too low"}},
     NO_CREDIT),
    ("anthropic", 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                   "message": "max_tokens: too big"}}, None),
    ("anthropic", 429, {"type": "error", "error": {
        "type": "rate_limit_error", "details": {"error_code": "enforced_spend_limit_reached"}}},
     NO_CREDIT),
    ("anthropic", 529, {"type": "error", "error": {"type": "overloaded_error"}}, TRANSIENT),
    ("openai", 429, {"error": {"type": "insufficient_quota", "code": "insufficient_quota"}},
     NO_CREDIT),
    ("openai", 429, {"error": {"type": "requests", "code": "rate_limit_exceeded"}},
     RATE_LIMITED),
    ("openai", 404, {"error": {"code": "model_not_found"}}, None),
    ("openai", 503, None, TRANSIENT),
    ("gemini", 400, {"error": {"status": "INVALID_ARGUMENT", "details": [
        {"reason": "API_KEY_INVALID"}]}}, REVOKED),
    ("gemini", 400, {"error": {"status": "INVALID_ARGUMENT", "message": "bad"}}, None),
    ("gemini", 400, {"error": {"status": "FAILED_PRECONDITION",
                               "message": "Billing is not enabled"}}, NO_CREDIT),
    ("gemini", 429, {"error": {"status": "RESOURCE_EXHAUSTED"}}, RATE_LIMITED),
])
def test_what_a_failed_answer_says_about_the_key(provider, status, body, fault):
    assert BUILTIN[provider].fault(status, body) == fault
