"""The Responses API (stateless) as Chat Completions and back, alone: the request, the
response object, and the event stream composed over a provider's chat stream."""

from __future__ import annotations

import json

import pytest

from addons.providers.anthropic import chat as anthropic_chat
from addons.providers.openai import responses
from addons.providers.openai.chat import Refused
from tests.test_translation_unit import native_stream


def test_items_become_chat_messages_grouped_into_turns():
    details = [{"type": "reasoning.text", "text": "Hmm.", "signature": "sig",
                "format": "anthropic-claude-v1", "index": 0}]
    chat = responses.to_chat({
        "model": "claude-sonnet-4-5", "instructions": "Be brief.", "max_output_tokens": 5000,
        "reasoning": {"effort": "low"}, "include": ["reasoning.encrypted_content"],
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
        "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}}},
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
            {"type": "reasoning", "summary": [],
             "encrypted_content": responses.pack_reasoning(details)},
            {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "Let me check."}]},
            {"type": "function_call", "call_id": "toolu_1", "name": "get_weather",
             "arguments": "{\"city\": \"Paris\"}"},
            {"type": "function_call_output", "call_id": "toolu_1", "output": "18C"}]})
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "assistant", "tool"]
    assistant = chat["messages"][2]
    assert assistant["content"] == "Let me check." and assistant["reasoning_details"] == details
    assert assistant["tool_calls"][0]["id"] == "toolu_1"
    assert chat["max_completion_tokens"] == 5000 and chat["reasoning_effort"] == "low"
    assert chat["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "parameters": {"type": "object"}}}]
    assert chat["response_format"]["type"] == "json_schema"
    native = anthropic_chat.request(chat, "claude-sonnet-4-5", None, "s")  # it translates on
    assert native["messages"][1]["content"][0]["type"] == "thinking"


@pytest.mark.parametrize("body,param", [
    ({"previous_response_id": "resp_1"}, "previous_response_id"), ({"store": True}, "store"),
    ({"background": True}, "background"), ({"conversation": "c"}, "conversation"),
    ({"tools": [{"type": "web_search"}]}, "tools[0]"), ({"include": ["x"]}, "include"),
    ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0]"), ({"frob": 1}, "frob"),
])
def test_state_and_hosted_tools_are_refused_naming_the_parameter(body, param):
    with pytest.raises(Refused) as e:
        responses.to_chat({"model": "m", "input": "Hi", **body})
    assert e.value.param == param


def test_a_completion_becomes_a_response_object():
    completion = anthropic_chat.response({
        "id": "msg_1", "model": "claude-sonnet-4-5", "stop_reason": "tool_use",
        "content": [{"type": "thinking", "thinking": "Hmm.", "signature": "sig"},
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}],
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 7}})
    r = responses.from_chat(completion, {"model": "claude-sonnet-4-5"})  # carried unasked
    assert [i["type"] for i in r["output"]] == ["reasoning", "message", "function_call"]
    assert responses.unpack_reasoning(r["output"][0]["encrypted_content"])[0]["signature"] \
        == "sig"
    assert r["output"][2]["call_id"] == "toolu_1" and r["status"] == "completed"
    assert r["usage"] == {"input_tokens": 15, "input_tokens_details": {"cached_tokens": 5},
                          "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 0},
                          "total_tokens": 22}
    assert r["store"] is False and r["object"] == "response"


def events(data: bytes) -> list[dict]:
    return [json.loads(f.split(b"\ndata: ", 1)[1]) for f in data.split(b"\n\n") if f]


@pytest.mark.parametrize("size", [1, 7, 97])
def test_a_stream_becomes_numbered_events_ending_completed(size):
    chat_bytes = anthropic_chat.ChatStream(created=1, include_usage=True).feed(native_stream())
    s = responses.EventStream({"model": "claude-sonnet-4-5"}, created=1)
    out = b"".join(s.feed(chat_bytes[i:i + size]) for i in range(0, len(chat_bytes), size))
    out += s.finish_stream()
    evs = events(out)
    assert [e["sequence_number"] for e in evs] == list(range(len(evs)))
    kinds = [e["type"] for e in evs]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    done = evs[-1]["response"]
    assert [i["type"] for i in done["output"]] == ["reasoning", "message", "function_call",
                                                   "function_call"]
    assert json.loads(done["output"][2]["arguments"]) == {"city": "Paris"}
    assert done["usage"]["input_tokens"] == 2512 and done["usage"]["output_tokens"] == 300
    assert "response.function_call_arguments.delta" in kinds
    assert "response.reasoning_summary_text.delta" in kinds
    assert responses.unpack_reasoning(done["output"][0]["encrypted_content"])  # unasked too


def test_a_stream_cut_or_failed_ends_failed():
    chat_bytes = anthropic_chat.ChatStream(created=1).feed(native_stream(end=False))
    s = responses.EventStream({"model": "m"})
    out = s.feed(chat_bytes) + s.finish_stream()
    assert events(out)[-1]["type"] == "response.failed"


NAMESPACE = {"type": "namespace", "name": "crm", "description": "The CRM.", "tools": [
    {"type": "function", "name": "find", "description": "Find a customer.",
     "parameters": {"type": "object"}}]}


def test_a_namespaces_functions_go_flat_and_come_back_apart():
    """Codex's namespace tools: the provider sees `crm__find`; the client sees its call as
    namespace `crm`, name `find`, and sends it back so."""
    body = {"model": "m", "tools": [NAMESPACE, {"type": "function", "name": "find"}],
            "input": [{"role": "user", "content": "Who?"},
                      {"type": "function_call", "call_id": "c1", "namespace": "crm",
                       "name": "find", "arguments": "{}"},
                      {"type": "function_call_output", "call_id": "c1", "output": "Ann"}]}
    chat = responses.to_chat(body)
    assert [t["function"]["name"] for t in chat["tools"]] == ["crm__find", "find"]
    assert chat["tools"][0]["function"]["description"] == "The CRM.\n\nFind a customer."
    assert chat["messages"][1]["tool_calls"][0]["function"]["name"] == "crm__find"
    completion = anthropic_chat.response({
        "id": "msg_1", "model": "m", "stop_reason": "tool_use", "usage": {},
        "content": [{"type": "tool_use", "id": "t1", "name": "crm__find", "input": {}},
                    {"type": "tool_use", "id": "t2", "name": "find", "input": {}}]})
    calls = responses.from_chat(completion, body)["output"]
    assert [(c.get("namespace"), c["name"]) for c in calls] == [("crm", "find"), (None, "find")]
    stream = responses.EventStream(body, created=1)
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "t1",
                          "type": "function", "function": {"name": "crm__find",
                                                           "arguments": "{}"}}]},
                          "finish_reason": "tool_calls"}]}
    out = stream.feed(b"data: " + json.dumps(chunk).encode() + b"\n\n") + stream.finish_stream()
    (call,) = events(out)[-1]["response"]["output"]
    assert (call["namespace"], call["name"]) == ("crm", "find")


@pytest.mark.parametrize("tools,param", [
    ([NAMESPACE, {"type": "function", "name": "crm__find"}], "tools"),
    ([{**NAMESPACE, "tools": [{"type": "custom", "name": "patch"}]}], "tools[0].tools[0]"),
    ([{"type": "namespace", "name": "x"}], "tools[0]"),
])
def test_a_namespace_that_cannot_go_flat_is_refused(tools, param):
    with pytest.raises(Refused) as e:
        responses.to_chat({"model": "m", "input": "Hi", "tools": tools})
    assert e.value.param == param
