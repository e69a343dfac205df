"""Upstream faults and bad input, answered in the caller's provider shape."""

from __future__ import annotations

import socket

import anthropic
import httpx
import openai
import pytest


@pytest.fixture
def faulty(make_gateway, fake_servers):
    """OpenAI's upstream is a closed port; bodies over 1 KB are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    gw = make_gateway(UPSTREAM_OPENAI_URL=f"http://127.0.0.1:{closed}", BODY_SIZE_LIMIT="1k")
    gw.admin("create-user", "faults@example.com", "--plan", "Growth")
    gw.start()
    gw.key = gw.create_key("faults@example.com")
    return gw


def test_unreachable_upstream_is_502_in_provider_shape(faulty):
    client = openai.OpenAI(base_url=f"{faulty.url}/v1/openai", api_key=faulty.key, max_retries=0)
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert e.value.status_code == 502
    err = e.value.body
    assert err["type"] == "server_error" and "could not be reached" in err["message"]
    assert "127.0.0.1" not in err["message"]  # no internals
    # The gateway keeps serving: the next call on another provider works.
    r = httpx.get(f"{faulty.url}/healthz")
    assert r.status_code == 200
    rec = faulty.records(faulty.key)[0]
    assert rec.status == 0 and rec.total_tokens == 0 and not rec.complete


def test_oversized_body_is_413_in_provider_shape(faulty, fake_servers):
    client = anthropic.Anthropic(base_url=f"{faulty.url}/v1/anthropic", api_key=faulty.key,
                                 max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as e:
        client.messages.create(model="claude-sonnet-4-6", max_tokens=8,
                               messages=[{"role": "user", "content": "x" * 5000}])
    assert e.value.status_code == 413
    assert e.value.body["error"]["type"] == "request_too_large"
    assert fake_servers["anthropic"].state.requests == []
    # Under the limit, the same client goes through.
    client.messages.create(model="claude-sonnet-4-6", max_tokens=8,
                           messages=[{"role": "user", "content": "x"}])
