"""The unified API (/v1/chat/completions) with the official openai SDK: OpenAI's models
passed on as they came, Claude's translated to the Messages API and back, streamed and not,
tools, thinking over two turns, structured output, images, errors; the usage recorded is the
fake's, to the token, and the plan's limits hold as on the native routes."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_SECRETS, customer, new_customer, raw_plan
from tests.fakes import words

WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()


def client(gateway, key, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0, **kw)


def sent(fake) -> dict:
    (req,) = fake.state.requests
    return {**req, "json": json.loads(req["body"])}


@pytest.fixture
def key(gateway):
    return customer(gateway, raw_plan(gateway, "Growth"))


def test_an_openai_model_goes_to_openai_as_it_came(gateway, fake_servers, key):
    c = client(gateway, key)
    for name in ("gpt-4o-mini", "openai/gpt-4o-mini"):
        fake_servers["openai"].state.requests.clear()
        r = c.chat.completions.create(model=name, messages=[{"role": "user", "content": "Hi"}],
                                      extra_headers={"x-fake-usage": "in=9,out=4"})
        assert r.choices[0].message.content and r.usage.prompt_tokens == 9
        req = sent(fake_servers["openai"])
        assert req["path"] == "/v1/chat/completions" and req["json"]["model"] == "gpt-4o-mini"
        assert req["headers"]["authorization"] == f"Bearer {UPSTREAM_SECRETS['openai']}"
    assert fake_servers["anthropic"].state.requests == []
    rows = gateway.records(key, 2)
    assert [(r.provider, r.model[:11], r.input_tokens) for r in rows] == [
        ("openai", "gpt-4o-mini", 9)] * 2  # the model the answer names (a dated snapshot)


def test_an_unknown_model_is_openais_404_and_a_wrong_prefix_too(gateway, fake_servers, key):
    c = client(gateway, key)
    for name in ("claude-nonesuch-9", "gemini/claude-sonnet-4-5", "nobody/gpt-4o-mini"):
        with pytest.raises(openai.NotFoundError) as e:
            c.chat.completions.create(model=name, messages=[{"role": "user", "content": "Hi"}])
        assert e.value.code == "model_not_found" and name in e.value.message
    assert all(s.state.requests == [] for s in fake_servers.values())


def test_a_request_naming_no_model_is_openais_as_on_its_own_route(gateway, fake_servers, key):
    """No model: nothing to dispatch by. Counting input tokens needs none (OpenAI's default);
    a response does, refused as on /v1/openai/ with OpenAI's 400."""
    c = client(gateway, key)
    assert c.responses.input_tokens.count(input="Hi",
                                          extra_headers={"x-fake-usage": "in=4"}).input_tokens == 4
    assert sent(fake_servers["openai"])["path"] == "/v1/responses/input_tokens"
    for path in ("/v1/responses", "/v1/openai/responses"):
        r = httpx.post(f"{gateway.url}{path}", json={"input": "Hi"}, timeout=10,
                       headers={"authorization": f"Bearer {key}"})
        assert r.status_code == 400 and r.json()["error"]["param"] == "model"


def test_a_claude_completion_is_translated_both_ways(gateway, fake_servers, key):
    usage = "in=12,cache_read=2000,cache_write=500,out=300,reasoning=200"
    r = client(gateway, key).chat.completions.create(
        model="anthropic/claude-sonnet-4-5", max_completion_tokens=400, temperature=0.5,
        stop=["END"], user="customer-7",
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "Hi"},
                  {"role": "developer", "content": "Answer in English."}],
        extra_headers={"x-fake-usage": usage})
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-msg_")
    choice = r.choices[0]
    assert choice.index == 0 and choice.finish_reason == "stop"
    assert choice.model_extra["native_finish_reason"] == "end_turn"
    assert choice.message.role == "assistant" and choice.message.content.startswith("Hello")
    u = r.usage  # OpenAI's counting: the prompt includes cached reads and writes
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (2512, 300, 2812)
    assert u.prompt_tokens_details.cached_tokens == 2000
    assert u.completion_tokens_details.reasoning_tokens == 200
    req = sent(fake_servers["anthropic"])
    assert req["path"] == "/v1/messages"
    assert req["headers"]["x-api-key"] == UPSTREAM_SECRETS["anthropic"]
    assert "authorization" not in req["headers"] and key not in json.dumps(req["headers"])
    assert req["headers"]["anthropic-version"] == "2023-06-01"
    body = req["json"]
    assert body["model"] == "claude-sonnet-4-5" and body["max_tokens"] == 400
    assert body["system"] == [{"type": "text", "text": "Be brief."},
                              {"type": "text", "text": "Answer in English."}]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert body["stop_sequences"] == ["END"] and body["temperature"] == 0.5
    assert "customer-7" not in json.dumps(body) and len(body["metadata"]["user_id"]) == 40
    (row,) = gateway.records(key)
    assert (row.provider, row.endpoint, row.api, row.model, row.input_tokens,
            row.cache_read_tokens, row.cache_write_tokens, row.output_tokens,
            row.reasoning_tokens) == ("anthropic", "messages", "unified", "claude-sonnet-4-5",
                                      12, 2000, 500, 300, 200)
    native = customer(gateway, raw_plan(gateway, "Growth"))
    anthropic_sdk = pytest.importorskip("anthropic").Anthropic(
        base_url=f"{gateway.url}/v1/anthropic", api_key=native, max_retries=0)
    anthropic_sdk.messages.create(model="claude-sonnet-4-5", max_tokens=10,
                                  messages=[{"role": "user", "content": "Hi"}])
    assert gateway.records(native)[0].api == "native"


def test_a_claude_stream_is_openais_chunks_with_one_usage_chunk(gateway, fake_servers, key):
    stream = client(gateway, key).chat.completions.create(
        model="claude-sonnet-4-5", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Hi"}],
        extra_headers={"x-fake-usage": "in=20,cache_read=5,out=9", "x-fake-mode": "text:12"})
    chunks = list(stream)
    assert len({(c.id, c.created, c.model) for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(words(12))
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finish) == 1 and finish[0].choices[0].finish_reason == "stop"
    assert finish[0].choices[0].delta.content is None  # the finish chunk's delta is {}
    assert all(c.usage is None for c in chunks[:-1]) and chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (25, 9)
    assert sent(fake_servers["anthropic"])["json"]["stream"] is True
    (row,) = gateway.records(key)
    assert (row.input_tokens, row.cache_read_tokens, row.output_tokens, row.streamed,
            row.complete) == (20, 5, 9, True, True)


def collect(stream) -> dict:
    """A streamed assistant turn put together as a client does: content, reasoning, tool
    calls by their index, reasoning_details merged by theirs."""
    turn = {"role": "assistant", "content": "", "tool_calls": {}, "details": {},
            "reasoning": "", "finish": None}
    for c in stream:
        if not c.choices:
            continue
        d, extra = c.choices[0].delta, c.choices[0].delta.model_extra or {}
        turn["content"] += d.content or ""
        turn["reasoning"] += extra.get("reasoning_content") or ""
        for piece in extra.get("reasoning_details") or ():
            entry = turn["details"].setdefault(piece["index"], {**piece, "text": ""})
            entry["text"] += piece.get("text") or ""
            entry["signature"] = piece.get("signature") or entry.get("signature")
        for tc in d.tool_calls or ():
            assert c.choices[0].index == 0
            call = turn["tool_calls"].setdefault(tc.index, {"id": None, "name": None,
                                                            "arguments": ""})
            call["id"] = tc.id or call["id"]
            call["name"] = (tc.function.name if tc.function else None) or call["name"]
            call["arguments"] += (tc.function.arguments or "") if tc.function else ""
        turn["finish"] = c.choices[0].finish_reason or turn["finish"]
    return turn


def test_two_tool_turns_with_thinking_streamed_and_replayed(gateway, fake_servers, key):
    c = client(gateway, key)
    messages = [{"role": "user", "content": "What is the weather in Paris and Rome?"}]
    ask = dict(model="claude-sonnet-4-5", tools=WEATHER, reasoning_effort="low",
               max_completion_tokens=2048, stream=True)
    turn = collect(c.chat.completions.create(messages=messages, **ask))
    assert turn["finish"] == "tool_calls"  # a tool turn, though text came before the calls
    assert sorted(turn["tool_calls"]) == [0, 1]  # numbered from 0 by the stream, not blocks
    calls = [turn["tool_calls"][i] for i in (0, 1)]
    assert [json.loads(t["arguments"]) for t in calls] == [{"city": "Paris"}, {"city": "Rome"}]
    assert all(t["id"].startswith("toolu_") and t["name"] == "get_weather" for t in calls)
    assert turn["reasoning"] == "Let me think about the weather."
    (details,) = turn["details"].values()
    assert details["signature"] and details["format"] == "anthropic-claude-v1"
    native = sent(fake_servers["anthropic"])["json"]
    assert native["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert native["tools"][0]["input_schema"]["required"] == ["city"]
    assistant = {"role": "assistant", "content": turn["content"],
                 "reasoning_details": list(turn["details"].values()),
                 "tool_calls": [{"id": t["id"], "type": "function", "function": {
                     "name": t["name"], "arguments": t["arguments"]}} for t in calls]}
    results = [{"role": "tool", "tool_call_id": t["id"], "content": f"{18 + i}C"}
               for i, t in enumerate(calls)]
    fake_servers["anthropic"].state.requests.clear()
    second = collect(c.chat.completions.create(
        messages=[*messages, assistant, *results, {"role": "user", "content": "Thanks!"}],
        **ask))
    assert second["finish"] == "stop" and second["content"].startswith("Hello")
    replay = sent(fake_servers["anthropic"])["json"]["messages"]
    assert [m["role"] for m in replay] == ["user", "assistant", "user"]
    assert [b["type"] for b in replay[1]["content"]] == ["thinking", "text", "tool_use",
                                                         "tool_use"]
    assert [b["type"] for b in replay[2]["content"]] == ["tool_result", "tool_result", "text"]
    # The reasoning dropped from the replay: the provider's own 400, in OpenAI's shape.
    del assistant["reasoning_details"]
    with pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(messages=[*messages, assistant, *results],
                                  **{**ask, "stream": False})
    assert "thinking" in e.value.message and e.value.type == "invalid_request_error"
    rows = gateway.records(key, 3)
    assert [r.model for r in rows] == ["claude-sonnet-4-5"] * 3


def test_structured_output_and_images_go_native(gateway, fake_servers, key):
    c = client(gateway, key)
    schema = {"type": "object", "properties": {"city": {"type": "string"},
                                               "celsius": {"type": "integer"}},
              "required": ["city", "celsius"], "additionalProperties": False}
    r = c.chat.completions.create(
        model="claude-sonnet-4-5",
        response_format={"type": "json_schema", "json_schema": {"name": "w", "schema": schema}},
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "The weather in this picture?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}])
    assert json.loads(r.choices[0].message.content) == {"city": "Paris", "celsius": 18}
    assert r.choices[0].message.tool_calls is None  # no tool made up for the format
    native = sent(fake_servers["anthropic"])["json"]
    assert native["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert native["messages"][0]["content"][1] == {
        "type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    assert "tools" not in native


@pytest.mark.parametrize("model,provider", [("claude-sonnet-4-5", "anthropic"),
                                            ("gemini-2.5-flash", "gemini")])
def test_a_large_conversation_is_translated_whole(gateway, fake_servers, key, model, provider):
    """Over a megabyte (read by the gateway's worker, its messages kept as text until
    translated): every message reaches the provider as it was written, streamed or not."""
    history = [{"role": "user" if i % 2 == 0 else "assistant",
                "content": f"{i}: " + "é and more words, " * 2000} for i in range(60)]
    history.append({"role": "user", "content": "Sum it up."})
    assert len(json.dumps(history)) > 2 * 1024 * 1024
    c = client(gateway, key, timeout=60)
    for stream in (False, True):
        fake_servers[provider].state.requests.clear()
        r = c.chat.completions.create(model=model, messages=history, stream=stream,
                                      extra_headers={"x-fake-usage": "in=500000,out=9"})
        text = "".join(ch.choices[0].delta.content or "" for ch in r if ch.choices) \
            if stream else r.choices[0].message.content
        assert text == "Hello! How can I help you today?"
        body = sent(fake_servers[provider])["json"]
        turns = body["messages"] if provider == "anthropic" else body["contents"]
        texts = [t["content"][0]["text"] if provider == "anthropic" else t["parts"][0]["text"]
                 for t in turns]
        assert texts == [m["content"] for m in history]
    rows = gateway.records(key, 2)
    assert [(r.provider, r.input_tokens, r.output_tokens) for r in rows] == [
        (provider, 500000, 9)] * 2


@pytest.mark.parametrize("ask,param", [
    ({"n": 2}, "n"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"logprobs": True}, "logprobs"),
    ({"temperature": 1.5}, "temperature"),
    ({"stop": ["  "]}, "stop"),
    ({"seed": 7}, "seed"),
    ({"reasoning_effort": "low", "tool_choice": "required", "tools": WEATHER}, "tool_choice"),
    ({"extra_body": {"frobnicate": True}}, "frobnicate"),
])
def test_what_claude_cannot_honour_is_refused_naming_the_parameter(gateway, fake_servers,
                                                                    key, ask, param):
    with pytest.raises(openai.BadRequestError) as e:
        client(gateway, key).chat.completions.create(
            model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Hi"}], **ask)
    assert e.value.param == param, e.value.message
    assert fake_servers["anthropic"].state.requests == []


def test_upstream_errors_are_openais_before_and_during_the_stream(gateway, fake_servers, key):
    c = client(gateway, key)
    msg = [{"role": "user", "content": "Hi"}]
    with pytest.raises(openai.InternalServerError) as e:  # overloaded: 503, which SDKs retry
        c.chat.completions.create(model="claude-sonnet-4-5", messages=msg,
                                  extra_headers={"x-fake-mode": "fail:529:3"})
    assert e.value.status_code == 503 and e.value.code == "overloaded"
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(model="claude-sonnet-4-5", messages=msg,
                                  extra_headers={"x-fake-mode": "fail:429:1"})
    stream = c.chat.completions.create(model="claude-sonnet-4-5", messages=msg, stream=True,
                                       extra_headers={"x-fake-mode": "error-event"})
    with pytest.raises(openai.APIError) as e:
        for _ in stream:
            pass
    assert "Overloaded" in str(e.value)
    raw = httpx.post(f"{gateway.url}/v1/chat/completions", timeout=10,
                     headers={"authorization": f"Bearer {key}", "x-fake-mode": "error-event"},
                     json={"model": "claude-sonnet-4-5", "messages": msg, "stream": True})
    assert b"[DONE]" not in raw.content and b"event:" not in raw.content
    assert b'"code":"overloaded"' in raw.content and b"message_start" not in raw.content


def test_the_plan_is_one_plan_for_native_and_unified_calls(gateway, fake_servers):
    free = new_customer(gateway, "Explorer")  # inexpensive models only
    key = gateway.create_key(free)
    with pytest.raises(openai.NotFoundError) as e:
        client(gateway, key).chat.completions.create(
            model="claude-opus-4-5", messages=[{"role": "user", "content": "Hi"}])
    assert "Explorer" in e.value.message and e.value.code == "model_not_found"
    r = client(gateway, key).chat.completions.create(
        model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
    assert r.choices[0].message.content
    assert sent(fake_servers["anthropic"])["json"]["max_tokens"] == 50
    bad = httpx.post(f"{gateway.url}/v1/chat/completions", json={"model": "gpt-4o-mini"},
                     headers={"authorization": "Bearer gw-nonsense"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_api_key"


# --- Gemini -----------------------------------------------------------------------------


def test_a_gemini_completion_is_translated_both_ways(gateway, fake_servers, key):
    r = client(gateway, key).chat.completions.create(
        model="gemini/gemini-2.5-flash", max_completion_tokens=300, temperature=1.3, n=2,
        stop="END", response_format={"type": "json_object"},
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "Hi"}],
        extra_headers={"x-fake-usage": "in=30,cache_read=10,out=50,reasoning=20"})
    assert [c.index for c in r.choices] == [0, 1]
    assert all(c.finish_reason == "stop" and c.message.content for c in r.choices)
    assert r.choices[0].model_extra["native_finish_reason"] == "STOP"
    u = r.usage  # the prompt counts the cached; the completion the thoughts
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (40, 50, 90)
    assert u.prompt_tokens_details.cached_tokens == 10
    assert u.completion_tokens_details.reasoning_tokens == 20
    req = sent(fake_servers["gemini"])
    assert req["path"].startswith("/v1beta/models/gemini-2.5-flash:generateContent")
    assert f"key={UPSTREAM_SECRETS['gemini']}" in req["path"]
    assert "authorization" not in req["headers"] and key not in req["path"]
    body = req["json"]
    assert "model" not in body and "stream" not in body
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hi"}]}]
    assert body["generationConfig"] == {"maxOutputTokens": 300, "temperature": 1.3,
                                        "candidateCount": 2, "stopSequences": ["END"],
                                        "responseMimeType": "application/json"}
    (row,) = gateway.records(key)
    assert (row.provider, row.model, row.input_tokens, row.cache_read_tokens,
            row.output_tokens, row.reasoning_tokens) == (
        "gemini", "gemini-2.5-flash", 30, 10, 50, 20)


def test_a_gemini_stream_with_tools_and_thinking_over_two_turns(gateway, fake_servers, key):
    c = client(gateway, key)
    messages = [{"role": "user", "content": "What is the weather in Paris and Rome?"}]
    ask = dict(model="gemini-2.5-flash", tools=WEATHER, reasoning_effort="low", stream=True,
               stream_options={"include_usage": True})
    chunks = list(c.chat.completions.create(
        messages=messages, extra_headers={"x-fake-usage": "in=20,out=12,reasoning=4"}, **ask))
    assert all(ch.choices or ch is chunks[-1] for ch in chunks)  # no empty chunk but usage
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (20, 12)
    turn = collect(iter(chunks))
    assert turn["finish"] == "tool_calls" and sorted(turn["tool_calls"]) == [0, 1]
    calls = [turn["tool_calls"][i] for i in (0, 1)]
    assert [json.loads(t["arguments"]) for t in calls] == [{"city": "Paris"}, {"city": "Rome"}]
    assert all(t["id"].startswith("call_gw") and len(t["id"]) == 29 for t in calls)
    assert turn["reasoning"] == "Weighing the cities."
    native = sent(fake_servers["gemini"])
    assert native["path"].startswith(
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    assert native["json"]["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 1024, "includeThoughts": True}
    assert native["json"]["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"] == \
        WEATHER[0]["function"]["parameters"]
    assistant = {"role": "assistant", "content": turn["content"] or None,
                 "reasoning_details": list(turn["details"].values()),
                 "tool_calls": [{"id": t["id"], "type": "function", "function": {
                     "name": t["name"], "arguments": t["arguments"]}} for t in calls]}
    results = [{"role": "tool", "tool_call_id": t["id"], "content": f"{18 + i}C"}
               for i, t in reversed(list(enumerate(calls)))]  # answered out of order
    fake_servers["gemini"].state.requests.clear()
    second = collect(c.chat.completions.create(messages=[*messages, assistant, *results],
                                               **ask))
    assert second["finish"] == "stop" and second["content"].startswith("Hello")
    contents = sent(fake_servers["gemini"])["json"]["contents"]
    assert [x["role"] for x in contents] == ["user", "model", "user"]
    model_parts = contents[1]["parts"]
    assert [p["functionCall"]["name"] for p in model_parts] == ["get_weather"] * 2
    assert "id" not in model_parts[0]["functionCall"]  # Gemini 2.x refuses ids it never gave
    assert model_parts[0]["thoughtSignature"] and "thoughtSignature" not in model_parts[1]
    assert [p["functionResponse"]["response"]["output"] for p in contents[2]["parts"]] == [
        "18C", "19C"]  # in the calls' order


def test_gemini_3_keeps_ids_and_signatures_or_says_so(gateway, fake_servers, key):
    c = client(gateway, key)
    messages = [{"role": "user", "content": "Weather in Paris and Rome?"}]
    ask = dict(model="gemini-3-flash-preview", tools=WEATHER)
    r = c.chat.completions.create(messages=messages, **ask)
    msg = r.choices[0].message
    assert r.choices[0].finish_reason == "tool_calls"
    assert [t.id for t in msg.tool_calls] == ["fc01x", "fc11x"]  # Gemini 3's own ids
    details = msg.model_extra["reasoning_details"]
    assert details[0]["id"] == "fc01x" and details[0]["format"] == "google-gemini-v1"
    results = [{"role": "tool", "tool_call_id": t.id, "content": "18C"} for t in msg.tool_calls]
    fake_servers["gemini"].state.requests.clear()
    again = c.chat.completions.create(
        messages=[*messages, msg.model_dump(exclude_none=True), *results], **ask)
    assert again.choices[0].finish_reason == "stop"
    parts = sent(fake_servers["gemini"])["json"]["contents"][1]["parts"]
    assert parts[0]["functionCall"]["id"] == "fc01x"
    assert parts[0]["thoughtSignature"] == details[0]["data"]
    assert sent(fake_servers["gemini"])["json"]["contents"][2]["parts"][0][
        "functionResponse"]["id"] == "fc01x"
    # A history from elsewhere, unsigned: the documented sentinel, not the API's 400.
    bare = msg.model_dump(exclude_none=True)
    del bare["reasoning_details"]
    fake_servers["gemini"].state.requests.clear()
    c.chat.completions.create(messages=[*messages, bare, *results], **ask)
    parts = sent(fake_servers["gemini"])["json"]["contents"][1]["parts"]
    assert parts[0]["thoughtSignature"] == "skip_thought_signature_validator"


def test_gemini_refusals_and_errors_are_openais(gateway, fake_servers, key):
    c = client(gateway, key)
    msg = [{"role": "user", "content": "Hi"}]
    for ask, param in (({"parallel_tool_calls": False, "tools": WEATHER}, "parallel_tool_calls"),
                       ({"logprobs": True}, "logprobs"),
                       ({"messages": [{"role": "user", "content": [{"type": "image_url",
                          "image_url": {"url": "https://example.com/a.png"}}]}]},
                        "messages[0].content[0]")):
        with pytest.raises(openai.BadRequestError) as e:
            c.chat.completions.create(**{"model": "gemini-2.5-flash", "messages": msg, **ask})
        assert e.value.param == param
    assert fake_servers["gemini"].state.requests == []
    with pytest.raises(openai.RateLimitError) as e:
        c.chat.completions.create(model="gemini-2.5-flash", messages=msg,
                                  extra_headers={"x-fake-mode": "fail:429:1"})
    assert e.value.response.headers["retry-after"] == "37"  # RetryInfo's 36.5s, rounded up
    with pytest.raises(openai.InternalServerError) as e:
        c.chat.completions.create(model="gemini-2.5-flash", messages=msg,
                                  extra_headers={"x-fake-mode": "fail:503:3"})
    assert e.value.status_code == 503 and e.value.code == "overloaded"
    stream = c.chat.completions.create(model="gemini-2.5-flash", messages=msg, stream=True,
                                       extra_headers={"x-fake-mode": "error-event"})
    with pytest.raises(openai.APIError):
        list(stream)


def test_gemini_embeddings_behind_openais_shape(gateway, fake_servers, key):
    c = client(gateway, key)
    r = c.embeddings.create(model="gemini-embedding-001", input=["first", "second"],
                            dimensions=3, extra_headers={"x-fake-usage": "in=7"})
    assert [d.index for d in r.data] == [0, 1]  # the SDK asked for base64 and decoded it
    raw = [0.013168523, -0.008711934, -0.046782676]
    norm = sum(v * v for v in raw) ** 0.5
    assert r.data[1].embedding == pytest.approx([v / norm for v in raw], rel=1e-6)  # unit
    assert (r.usage.prompt_tokens, r.usage.total_tokens) == (7, 7)
    req = sent(fake_servers["gemini"])
    assert req["path"].startswith("/v1beta/models/gemini-embedding-001:batchEmbedContents")
    assert req["json"] == {"requests": [
        {"model": "models/gemini-embedding-001", "outputDimensionality": 3,
         "content": {"parts": [{"text": t}]}} for t in ("first", "second")]}
    floats = c.embeddings.create(model="gemini/gemini-embedding-001", input="one",
                                 encoding_format="float")
    assert len(floats.data) == 1 and floats.data[0].embedding[0] == raw[0] / norm
    for bad in ([[1, 2, 3]], ["x"] * 101, ["a", ""]):  # token ids, past a batch, empty
        with pytest.raises(openai.BadRequestError) as e:
            c.embeddings.create(model="gemini-embedding-001", input=bad)
        assert e.value.param == "input"
    rows = gateway.records(key, 2)
    assert [(r.provider, r.endpoint, r.api, r.input_tokens) for r in rows][0] == (
        "gemini", "embedContent", "unified", 7)
    with pytest.raises(openai.BadRequestError) as e:  # Claude has no embeddings
        c.embeddings.create(model="claude-sonnet-4-5", input="x")
    assert e.value.code == "model_not_supported"


NODE = Path(__file__).parent / "node"


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "gemini-2.5-flash", "gpt-4o-mini"])
def test_the_node_sdks_with_any_model(gateway, fake_servers, key, model):
    """OpenAI's Node SDK and the Vercel AI SDK's OpenAI-compatible provider, unchanged but for
    the base URL and the key: plain, streamed with usage, a tool loop."""
    if not (NODE / "node_modules").is_dir():
        pytest.fail("tests/node/node_modules is missing: ./test.sh installs it (npm ci)")
    run = subprocess.run(["node", str(NODE / "clients.mjs"), f"{gateway.url}/v1", key, model],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["openai_plain"]["text"].startswith("Hello")
    assert seen["openai_plain"]["usage"]["prompt_tokens"] > 0
    assert seen["openai_stream"]["text"].startswith("Hello")
    assert seen["openai_stream"]["usage"]["completion_tokens"] > 0
    assert seen["openai_tools"]["finish"] == "tool_calls"
    assert seen["openai_tools"]["calls"][0] == {"city": "Paris"}
    assert seen["openai_tools"]["then"] == "stop"
    assert seen["ai_generate"]["text"].startswith("Hello")
    assert seen["ai_generate"]["usage"]["inputTokens"] > 0
    assert seen["ai_stream"]["text"].startswith("Hello")
    assert seen["ai_stream"]["usage"]["outputTokens"] > 0
    assert seen["ai_tools"]["cities"][:1] == ["Paris"] and seen["ai_tools"]["steps"] == 2
    assert seen["ai_tools"]["text"].startswith("Hello")


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "gemini-2.5-flash"])
def test_langchain_chatopenai_with_any_model(gateway, fake_servers, key, model):
    """LangChain's ChatOpenAI, unchanged but for base_url and api_key: invoke, stream with
    usage, and a bound tool's call."""
    from langchain_core.messages import ToolMessage
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"18C in {city}"

    llm = ChatOpenAI(model=model, base_url=f"{gateway.url}/v1", api_key=key, max_retries=0,
                     stream_usage=True)
    answer = llm.invoke("Hi")
    assert answer.content.startswith("Hello") and answer.usage_metadata["input_tokens"] > 0
    chunks = list(llm.stream("Hi"))
    assert "".join(c.content for c in chunks).startswith("Hello")
    assert sum(c.usage_metadata["output_tokens"] for c in chunks if c.usage_metadata) > 0
    agent = llm.bind_tools([get_weather])
    asked = [("user", "What is the weather in Paris and Rome?")]
    first = agent.invoke(asked)
    assert [c["args"] for c in first.tool_calls][:1] == [{"city": "Paris"}]
    results = [ToolMessage(get_weather.invoke(c["args"]), tool_call_id=c["id"])
               for c in first.tool_calls]
    final = agent.invoke([*asked, first, *results])
    assert final.content.startswith("Hello") and not final.tool_calls


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "gemini-2.5-flash"])
def test_the_responses_api_statelessly_with_any_model(gateway, fake_servers, key, model):
    c = client(gateway, key)
    r = c.responses.create(model=model, input="Hi", instructions="Be brief.", store=False)
    assert r.status == "completed" and r.output_text.startswith("Hello")
    assert r.usage.input_tokens > 0
    tools = [{"type": "function", "name": "get_weather", "description": "The weather.",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                             "required": ["city"]}}]
    ask = dict(model=model, tools=tools, store=False, reasoning={"effort": "low"},
               max_output_tokens=4000, include=["reasoning.encrypted_content"])
    stream = c.responses.create(input="Weather in Paris and Rome?", stream=True, **ask)
    events = list(stream)
    assert events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    done = events[-1].response
    calls = [i for i in done.output if i.type == "function_call"]
    assert [json.loads(i.arguments) for i in calls][:1] == [{"city": "Paris"}]
    replay = [item.model_dump(exclude_none=True) for item in done.output]
    replay += [{"type": "function_call_output", "call_id": i.call_id, "output": "18C"}
               for i in calls]
    again = c.responses.create(input=[{"role": "user", "content": "Weather in Paris and Rome?"},
                                      *replay], **ask)
    assert again.status == "completed" and again.output_text.startswith("Hello")
    with pytest.raises(openai.BadRequestError) as e:
        c.responses.create(model=model, input="Hi", previous_response_id="resp_123")
    assert e.value.param == "previous_response_id"
