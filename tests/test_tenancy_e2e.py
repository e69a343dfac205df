"""Each tenant's data its own, and only what an API needs sent upstream: stored responses and
chat completions owned by the customer who created them (read, listed, updated, deleted, their
items and messages), forwarded headers and query parameters, path tricks, CORS, and Gemini's
OpenAI-compatible API. Through the real gateway, official SDKs where they apply."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_SECRETS, new_customer

MSG = [{"role": "user", "content": "Hi"}]


def oai(gateway, key, **kw):
    return openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=key, max_retries=0, **kw)


# --- Stored responses ---------------------------------------------------------------------------


def test_another_customers_response_is_not_found(gateway, fake_servers):
    alice = oai(gateway, gateway.create_key(new_customer(gateway, "Startup")))
    mallory = oai(gateway, gateway.create_key(new_customer(gateway, "Startup")))
    created = alice.responses.create(model="gpt-4.1-mini", input="Hi")
    with alice.responses.create(model="gpt-4.1-mini", input="Hi", stream=True) as stream:
        streamed = next(e.response for e in stream if e.type == "response.completed")
    fake = fake_servers["openai"].state
    for rid in (created.id, streamed.id):
        fake.requests.clear()
        attempts = [
            lambda rid=rid: mallory.responses.retrieve(rid),
            lambda rid=rid: mallory.responses.delete(rid),
            lambda rid=rid: mallory.responses.cancel(rid),
            lambda rid=rid: mallory.responses.create(model="gpt-4.1-mini", input="Go on",
                                                     previous_response_id=rid),
            # Counting a continuation's tokens would read the stored conversation too.
            lambda rid=rid: mallory.responses.input_tokens.count(
                model="gpt-4.1-mini", input="Go on", previous_response_id=rid),
        ]
        for attempt in attempts:
            with pytest.raises(openai.NotFoundError) as e:
                attempt()
            assert e.value.body["message"] == f"No response found with id '{rid}'."
            assert e.value.body["type"] == "invalid_request_error"
        assert fake.requests == []  # nothing of it was forwarded
        # The owner still has it, and may continue it.
        assert alice.responses.retrieve(rid).id == rid
        follow = alice.responses.create(model="gpt-4.1-mini", input="Go on",
                                        previous_response_id=rid)
        assert follow.status == "completed"
    # An id nobody created through the gateway is nobody's: the same 404.
    fake.requests.clear()
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve("resp_0123456789abcdef")
    with pytest.raises(openai.NotFoundError) as e:  # the business's own conversations too
        alice.responses.create(model="gpt-4.1-mini", input="Hi", conversation="conv_123")
    assert e.value.body["message"] == "No conversation found with id 'conv_123'."
    assert fake.requests == []


def test_another_customers_code_interpreter_container_is_not_found(gateway, fake_servers):
    """A container holds the files its code ran on: only the customer whose response made it
    may run in it again; a container is charged once however many runs it served."""
    alice_key = gateway.create_key(new_customer(gateway, "Startup"))
    alice = oai(gateway, alice_key)
    mallory = oai(gateway, gateway.create_key(new_customer(gateway, "Startup")))
    auto = [{"type": "code_interpreter", "container": {"type": "auto", "memory_limit": "4g"}}]
    made = alice.responses.create(model="gpt-4.1-mini", input="Plot it", tools=auto)
    [cid] = {item.container_id for item in made.output if item.type == "code_interpreter_call"}
    fake = fake_servers["openai"].state
    fake.requests.clear()
    mine = [{"type": "code_interpreter", "container": cid}]
    for attempt in (
            lambda: mallory.responses.create(model="gpt-4.1-mini", input="ls", tools=mine),
            lambda: mallory.responses.create(model="gpt-4.1-mini", input="ls", stream=True,
                                             tools=[{"type": "web_search"}, *mine]),
            lambda: mallory.responses.input_tokens.count(model="gpt-4.1-mini", input="ls",
                                                         tools=mine)):
        with pytest.raises(openai.NotFoundError) as e:
            attempt()
        assert e.value.body["message"] == f"No container found with id '{cid}'."
    assert fake.requests == []
    assert alice.responses.create(model="gpt-4.1-mini", input="ls", tools=mine).status == \
        "completed"
    # Two runs in one 4 GB container: one container's fee ($0.12) on top of the tokens.
    first = gateway.records(alice_key)[0]
    assert first.tools == {"code_interpreter_4g": 1} and first.priced
    assert first.cost_nanousd >= 120_000_000


@pytest.mark.parametrize("route", ["/v1", "/v1/openai"])
def test_stored_chat_completions_are_each_customers_own(gateway, fake_servers, route):
    """`store: true`, then list, get, update, messages and delete, as openai-python calls
    them, on the unified route and the native one: each customer sees and touches only the
    completions it stored; the gateway's tag never shows, and is kept through updates."""
    alice_key = gateway.create_key(new_customer(gateway, "Startup"))
    alice, mallory = (openai.OpenAI(base_url=f"{gateway.url}{route}", api_key=k, max_retries=0)
                      for k in (alice_key,
                                gateway.create_key(new_customer(gateway, "Startup"))))
    made = [alice.chat.completions.create(model="gpt-4o-mini", messages=MSG, store=True,
                                          metadata={"topic": t},
                                          extra_headers={"x-fake-usage": "in=11,out=5"})
            for t in ("a", "b")]
    with alice.chat.completions.create(model="gpt-4o-mini", messages=MSG, store=True,
                                       stream=True, metadata={"topic": "s"}) as stream:
        made.append(next(iter(stream)))  # a streamed one is stored too, under its chunks' id
        for _ in stream:
            pass
    theirs = mallory.chat.completions.create(model="gpt-4o-mini", messages=MSG, store=True)
    ids = {c.id for c in made}
    assert len(ids) == 3 and all(i.startswith("chatcmpl-") for i in ids)
    listed = alice.chat.completions.list()
    assert {c.id for c in listed.data} == ids and not listed.has_more
    assert [c.to_dict()["metadata"] for c in listed.data] == [{"topic": t} for t in "sba"]
    assert [c.id for c in alice.chat.completions.list(metadata={"topic": "b"})] == [made[1].id]
    # Naming the gateway's key in a filter does not reach another customer's.
    sneaky = alice.chat.completions.list(metadata={"llm_gateway_customer": "1"})
    assert {c.id for c in sneaky.data} == ids
    assert [c.id for c in mallory.chat.completions.list()] == [theirs.id]
    one = alice.chat.completions.retrieve(made[0].id)
    assert one.id == made[0].id and one.to_dict()["metadata"] == {"topic": "a"}
    updated = alice.chat.completions.update(made[0].id, metadata={"topic": "z"})
    assert updated.to_dict()["metadata"] == {"topic": "z"}
    assert made[0].id in {c.id for c in alice.chat.completions.list()}  # still hers
    assert [m.content for m in alice.chat.completions.messages.list(made[0].id)] == ["Hi"]
    fake = fake_servers["openai"].state
    fake.requests.clear()
    for attempt in (lambda: mallory.chat.completions.retrieve(made[0].id),
                    lambda: mallory.chat.completions.update(made[0].id, metadata={"x": "y"}),
                    lambda: mallory.chat.completions.delete(made[0].id),
                    lambda: mallory.chat.completions.messages.list(made[0].id)):
        with pytest.raises(openai.NotFoundError) as e:
            attempt()
        assert e.value.body["message"] == f"No chat completion found with id '{made[0].id}'."
    assert fake.requests == []
    with pytest.raises(openai.BadRequestError) as e:  # the gateway's key is its own
        alice.chat.completions.create(model="gpt-4o-mini", messages=MSG, store=True,
                                      metadata={"llm_gateway_customer": "2"})
    assert e.value.param == "metadata.llm_gateway_customer"
    with pytest.raises(openai.BadRequestError) as e:  # one of OpenAI's 16 is the gateway's
        alice.chat.completions.update(made[0].id, metadata={str(i): "v" for i in range(16)})
    assert e.value.param == "metadata"
    assert alice.chat.completions.delete(made[2].id).deleted
    assert {c.id for c in alice.chat.completions.list()} == ids - {made[2].id}
    # Stored or not, a completion is metered as any other; its listing and reading are free.
    rows = gateway.records(alice_key, 3)
    assert [(r.input_tokens, r.output_tokens) for r in rows[:2]] == [(11, 5)] * 2
    assert all(r.endpoint == "chat.completions" for r in rows[:3])
    assert {r.total_tokens for r in gateway.records(alice_key, 12)[3:]} == {0}


def test_input_items_and_compaction_are_the_owners(gateway, fake_servers):
    alice_key = gateway.create_key(new_customer(gateway, "Startup"))
    alice, mallory = (openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=k, max_retries=0)
                      for k in (alice_key,
                                gateway.create_key(new_customer(gateway, "Startup"))))
    made = alice.responses.create(model="gpt-4.1-mini", input="Hi there")
    items = alice.responses.input_items.list(made.id)
    assert [i.content[0].text for i in items.data] == ["Hi there"]
    with pytest.raises(openai.NotFoundError):
        mallory.responses.input_items.list(made.id)
    with pytest.raises(openai.NotFoundError):  # compacting another's conversation
        mallory.responses.compact(model="gpt-4.1-mini", previous_response_id=made.id)
    compacted = alice.responses.compact(
        model="gpt-4.1-mini", input=[{"role": "user", "content": "Hi"},
                                     {"role": "assistant", "content": "Hello"}],
        extra_headers={"x-fake-usage": "in=300,cache_read=100,out=40"})
    assert compacted.object == "response.compaction"
    assert [o.type for o in compacted.output] == ["message", "compaction"]
    rows = gateway.records(alice_key, 3)  # compaction is charged as the tokens it used
    (row,) = [r for r in rows if r.endpoint == "responses.compact"]
    assert (row.input_tokens, row.cache_read_tokens, row.output_tokens, row.model,
            row.api, row.complete) == (300, 100, 40, "gpt-4.1-mini", "unified", True)
    with pytest.raises(openai.BadRequestError) as e:  # no compaction for Claude's models
        alice.responses.compact(model="claude-sonnet-4-5", input="Hi")
    assert e.value.code == "model_not_supported"


def test_ownership_outlives_a_restart(make_gateway, fake_servers):
    gw = make_gateway()
    gw.start()
    alice = gw.create_key(new_customer(gw, "Startup"))
    mallory = gw.create_key(new_customer(gw, "Startup"))
    rid = oai(gw, alice).responses.create(model="gpt-4.1-mini", input="Hi").id
    gw.records(alice, count=1)  # written with the usage batch
    gw.stop()
    gw.start()  # nothing in memory: the owner comes from the database
    with pytest.raises(openai.NotFoundError):
        oai(gw, mallory).responses.retrieve(rid)
    assert oai(gw, alice).responses.retrieve(rid).id == rid


# --- What is forwarded --------------------------------------------------------------------------


def test_only_the_headers_an_api_needs_reach_the_provider(gateway, fake_servers):
    key = gateway.create_key("demo@startup.ai")
    hostile = {"cookie": "session=admin-ui-session", "proxy-authorization": "Basic Zm9vOmJhcg==",
               "x-forwarded-for": "10.1.2.3", "x-forwarded-host": "evil.example",
               "forwarded": "for=10.1.2.3", "x-real-ip": "10.1.2.3",
               "openai-organization": "org-mine", "openai-project": "proj_mine",
               "x-goog-user-project": "my-project", "x-custom-thing": "1"}
    oai(gateway, key).chat.completions.create(model="gpt-4o-mini", messages=MSG,
                                              extra_headers=hostile)
    httpx.post(f"{gateway.url}/v1/anthropic/v1/messages",
               json={"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": MSG},
               headers={"x-api-key": key, "anthropic-version": "2023-06-01",
                        "anthropic-beta": "context-1m-2025-08-07", **hostile}).raise_for_status()
    httpx.post(f"{gateway.url}/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
               json={"contents": [{"parts": [{"text": "Hi"}]}]},
               headers={"x-goog-api-key": key, "x-goog-api-client": "genai-test/1",
                        **hostile}).raise_for_status()
    sent = [fake_servers[p].state.requests[-1]["headers"]
            for p in ("openai", "anthropic", "gemini")]
    for headers in sent:
        assert not set(headers) & set(hostile), set(headers) & set(hostile)
    assert sent[0]["authorization"] == f"Bearer {UPSTREAM_SECRETS['openai']}"
    assert sent[0]["x-stainless-lang"] == "python"  # the SDK's own headers pass
    assert sent[1]["anthropic-beta"] == "context-1m-2025-08-07"
    assert sent[2]["x-goog-api-client"] == "genai-test/1"


def test_protocol_upgrades_are_refused(gateway, fake_servers):
    key = gateway.create_key("demo@startup.ai")
    r = httpx.get(f"{gateway.url}/v1/openai/v1/models",
                  headers={"authorization": f"Bearer {key}", "connection": "Upgrade",
                           "upgrade": "websocket", "sec-websocket-version": "13",
                           "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert r.status_code == 400 and "WebSocket" in r.json()["error"]["message"]
    assert fake_servers["openai"].state.requests == []


def test_credential_like_query_parameters_never_travel(gateway, fake_servers):
    key = gateway.create_key("demo@startup.ai")
    smuggled = ("KEY=AIzaMine1&%6Bey=AIzaMine2&access_token=ya29.mine&api-key=mine4"
                "&Api_Key=mine5&ke%79=mine6&x-goog-api-key=mine7&token=mine8")
    r = httpx.post(f"{gateway.url}/v1/gemini/v1beta/models/gemini-2.5-flash:"
                   f"streamGenerateContent?alt=sse&{smuggled}&key={key}",
                   json={"contents": [{"parts": [{"text": "Hi"}]}]})
    assert r.status_code == 200
    path = fake_servers["gemini"].state.requests[-1]["path"]
    assert path == ("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
                    f"&key={UPSTREAM_SECRETS['gemini']}")
    r = httpx.get(f"{gateway.url}/v1/openai/v1/models?{smuggled}&limit=5",
                  headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 200
    assert fake_servers["openai"].state.requests[-1]["path"] == "/v1/models?limit=5"


@pytest.mark.parametrize("tail", ["models;x=1", "mod%3Bels", "models%3Fkey=1", "models%23x",
                                  "models/gpt-4o;v=2"])
def test_path_segments_with_parameters_or_fragments_are_refused(gateway, fake_servers, tail):
    key = gateway.create_key("demo@startup.ai")
    r = httpx.get(f"{gateway.url}/v1/openai/v1/{tail}",
                  headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_path"
    assert fake_servers["openai"].state.requests == []


# --- Browsers -----------------------------------------------------------------------------------


def test_cors_preflight_and_browser_calls(gateway, fake_servers):
    key = gateway.create_key("demo@startup.ai")
    origin = "http://localhost:5173"
    asked = "x-api-key,anthropic-version,content-type,anthropic-dangerous-direct-browser-access"
    r = httpx.options(f"{gateway.url}/v1/anthropic/v1/messages",
                      headers={"origin": origin, "access-control-request-method": "POST",
                               "access-control-request-headers": asked})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-headers"] == asked
    assert "access-control-allow-credentials" not in r.headers
    assert fake_servers["anthropic"].state.requests == []
    r = httpx.post(f"{gateway.url}/v1/anthropic/v1/messages",
                   json={"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": MSG},
                   headers={"x-api-key": key, "anthropic-version": "2023-06-01",
                            "anthropic-dangerous-direct-browser-access": "true",
                            "origin": origin})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    assert "x-ratelimit-remaining-tokens" in r.headers["access-control-expose-headers"]
    # A refusal is readable by the page too.
    r = httpx.post(f"{gateway.url}/v1/openai/v1/chat/completions", json={},
                   headers={"authorization": "Bearer gw-wrong", "origin": origin})
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == "*"
    # Without an Origin (server-side SDKs) nothing is added.
    r = httpx.get(f"{gateway.url}/v1/openai/v1/models",
                  headers={"authorization": f"Bearer {key}"})
    assert "access-control-allow-origin" not in r.headers


# --- Gemini's OpenAI-compatible API -------------------------------------------------------------


def test_geminis_openai_compatible_api_is_served_and_metered(gateway, fake_servers):
    key = gateway.create_key(new_customer(gateway, "Startup"))
    client = openai.OpenAI(base_url=f"{gateway.url}/v1/gemini/v1beta/openai/", api_key=key,
                           max_retries=0)
    r = client.chat.completions.create(model="gemini-2.5-flash", messages=MSG,
                                       extra_headers={"x-fake-usage": "in=20,out=8"})
    assert r.choices[0].message.content
    stream = client.chat.completions.create(model="gemini-2.5-flash", messages=MSG,
                                            stream=True,
                                            extra_headers={"x-fake-usage": "in=21,out=9"})
    chunks = list(stream)
    assert all(c.choices for c in chunks)  # the usage chunk it asked for is withheld
    client.embeddings.create(model="gemini-embedding-001", input="hello",
                             extra_headers={"x-fake-usage": "in=5"})
    assert [m.id for m in client.models.list()] == ["models/gemini-2.5-flash"]
    sent = fake_servers["gemini"].state.requests
    assert [s["path"] for s in sent] == ["/v1beta/openai/chat/completions"] * 2 + [
        "/v1beta/openai/embeddings", "/v1beta/openai/models"]
    assert all(s["headers"]["authorization"] == f"Bearer {UPSTREAM_SECRETS['gemini']}"
               for s in sent)
    assert json.loads(sent[1]["body"])["stream_options"] == {"include_usage": True}
    recs = gateway.records(key, count=4)[:3]  # and the listing's, of no tokens
    assert [(r.provider, r.endpoint, r.total_tokens, r.complete, r.priced) for r in recs] == [
        ("gemini", "openai.chat.completions", 28, True, True),
        ("gemini", "openai.chat.completions", 30, True, True),
        ("gemini", "openai.embeddings", 5, True, True)]
    # Refusals come in the shape these clients read: OpenAI's.
    with pytest.raises(openai.NotFoundError) as e:
        client.completions.create(model="gemini-2.5-flash", prompt="Hi")
    assert e.value.body["type"] == "invalid_request_error"
