"""Chat Completions to Anthropic's Messages and back, alone: the request, the answer and the
stream (split at every size), one test per bug class other gateways shipped."""

from __future__ import annotations

import json

import pytest

from addons.providers.anthropic import chat
from addons.providers.openai.chat import Refused
from tests.fakes.anthropic import SIGNATURE, stream_block
from tests.fakes.base import sse

USAGE = {"input_tokens": 12, "cache_read_input_tokens": 2000,
         "cache_creation_input_tokens": 500, "output_tokens": 1}
BLOCKS = [{"type": "thinking", "thinking": "Hmm.", "signature": SIGNATURE},
          {"type": "text", "text": "Let me check the weather."},
          {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
          {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {}}]


def native_stream(blocks=BLOCKS, stop="tool_use", end=True) -> bytes:
    events = [sse("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [], "usage": USAGE}})]
    for i, b in enumerate(blocks):
        events += stream_block(i, b)
    events += [sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": None},
                                     "usage": {"output_tokens": 40}}),
               sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop},
                                     "usage": {"output_tokens": 300,
                                               "output_tokens_details": {"thinking_tokens": 20}}}),
               sse("message_stop", {"type": "message_stop"}) if end else b""]
    return b"".join(events)


def translate(data: bytes, size: int | None = None, include_usage: bool = True):
    s = chat.ChatStream(created=1700000000, include_usage=include_usage)
    size = size or len(data)
    out = b"".join(s.feed(data[i:i + size]) for i in range(0, len(data), size)) + s.finish()
    return out, s


def frames(out: bytes) -> list:
    return [json.loads(f[6:]) if f != b"data: [DONE]" else "[DONE]"
            for f in out.split(b"\n\n") if f]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 97])
def test_a_stream_split_anywhere_translates_the_same(size):
    data = native_stream()
    assert translate(data, size)[0] == translate(data)[0]


def test_streamed_parallel_tool_calls_are_numbered_from_zero_not_by_block():
    chunks = frames(translate(native_stream())[0])
    starts = [tc for c in chunks[:-1] if c != "[DONE]" and c["choices"]
              for tc in c["choices"][0]["delta"].get("tool_calls", ()) if "id" in tc]
    assert [(t["index"], t["id"]) for t in starts] == [(0, "toolu_01"), (1, "toolu_02")]


def test_choice_index_is_zero_on_every_chunk_and_ids_agree():
    chunks = [c for c in frames(translate(native_stream())[0]) if c != "[DONE]"]
    assert all(ch["index"] == 0 for c in chunks for ch in c["choices"])
    assert {(c["id"], c["created"], c["model"]) for c in chunks} == {
        ("chatcmpl-msg_1", 1700000000, "claude-sonnet-4-5")}


def test_streamed_arguments_join_to_json_and_a_tool_turn_ends_tool_calls():
    chunks = [c for c in frames(translate(native_stream())[0]) if c != "[DONE]"]
    args: dict[int, str] = {}
    for c in chunks:
        for tc in (c["choices"][0]["delta"].get("tool_calls", ()) if c["choices"] else ()):
            args[tc["index"]] = args.get(tc["index"], "") + tc["function"].get("arguments", "")
    assert {k: json.loads(v) for k, v in args.items()} == {0: {"city": "Paris"}, 1: {}}
    (finish,) = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finish["choices"][0]["finish_reason"] == "tool_calls"
    assert finish["choices"][0]["native_finish_reason"] == "tool_use"
    assert finish["choices"][0]["delta"] == {}


def test_message_delta_usage_overwrites_but_keeps_cache_counts_and_is_never_summed():
    out, s = translate(native_stream())
    usage = [c for c in frames(out) if c != "[DONE]" and not c["choices"]][-1]["usage"]
    assert usage == {"prompt_tokens": 2512, "completion_tokens": 300, "total_tokens": 2812,
                     "prompt_tokens_details": {"cached_tokens": 2000, "cache_write_tokens": 500},
                     "completion_tokens_details": {"reasoning_tokens": 20}}
    assert s.usage.output_tokens == 300 and s.usage.cache_read_tokens == 2000  # metering's


def test_usage_chunk_only_when_asked_and_then_usage_null_elsewhere():
    asked = [c for c in frames(translate(native_stream())[0]) if c != "[DONE]"]
    assert all(c["usage"] is None for c in asked[:-1]) and asked[-1]["choices"] == []
    plain = [c for c in frames(translate(native_stream(), include_usage=False)[0])
             if c != "[DONE]"]
    assert all("usage" not in c and c["choices"] for c in plain)
    assert frames(translate(native_stream())[0])[-1] == "[DONE]"


def test_reasoning_goes_to_reasoning_content_with_its_signature_never_to_content():
    chunks = [c for c in frames(translate(native_stream())[0]) if c != "[DONE]" and c["choices"]]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "Hmm."
    assert "".join(d.get("content") or "" for d in deltas) == "Let me check the weather."
    sigs = [r["signature"] for d in deltas for r in d.get("reasoning_details", ())
            if r.get("signature")]
    assert sigs == [SIGNATURE]


def test_an_error_event_or_a_cut_is_an_error_chunk_and_no_done():
    err = native_stream(end=False) + b'event: error\ndata: {"type": "error", "error": ' \
        b'{"type": "overloaded_error", "message": "Overloaded"}}\n\n'
    for data in (err, native_stream(end=False)):
        out, s = translate(data)
        last = frames(out)[-1]
        assert last != "[DONE]" and "error" in last and b"[DONE]" not in out
    assert frames(translate(err)[0])[-1]["error"]["code"] == "overloaded"
    assert b"event:" not in translate(err)[0]  # never a native byte


def test_a_mixed_text_and_tool_answer_is_tool_calls_and_usage_counts_cache():
    r = chat.response({"id": "msg_1", "model": "claude-sonnet-4-5", "content": BLOCKS,
                       "stop_reason": "tool_use", "usage": {**USAGE, "output_tokens": 9}},
                      created=1)
    choice = r["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Let me check the weather."
    assert [json.loads(t["function"]["arguments"]) for t in choice["message"]["tool_calls"]] \
        == [{"city": "Paris"}, {}]
    assert choice["message"]["reasoning_details"][0]["signature"] == SIGNATURE
    assert r["usage"]["prompt_tokens"] == 2512
    assert r["usage"]["prompt_tokens_details"]["cached_tokens"] == 2000


@pytest.mark.parametrize("native,finish", [("end_turn", "stop"), ("stop_sequence", "stop"),
                                           ("max_tokens", "length"),
                                           ("refusal", "content_filter")])
def test_stop_reasons_map_by_the_table(native, finish):
    r = chat.response({"content": [{"type": "text", "text": "x"}], "stop_reason": native})
    assert r["choices"][0]["finish_reason"] == finish
    assert r["choices"][0]["native_finish_reason"] == native


def req(**body):
    return chat.request({"model": "claude-sonnet-4-5", "messages": [
        {"role": "user", "content": "Hi"}], **body}, "claude-sonnet-4-5", 64000, "salt")


def test_tool_results_follow_their_calls_in_one_user_turn_results_first():
    native = chat.request({"model": "m", "messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call:1.a", "type": "function",
             "function": {"name": "get_weather", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "call:1.a", "content": "18C"},
        {"role": "user", "content": "And tomorrow?"}]}, "claude-sonnet-4-5", None, "s")
    user = native["messages"][2]
    assert [b["type"] for b in user["content"]] == ["tool_result", "text"]
    assert user["content"][0]["tool_use_id"] == native["messages"][1]["content"][0]["id"] \
        == "call_1_a"  # a foreign id, sanitized the same on both sides
    assert native["messages"][1]["content"][0]["input"] == {}
    # A history of tools without tools: the names defined, and none chosen.
    assert native["tools"] == [{"name": "get_weather", "input_schema": {"type": "object"}}]
    assert native["tool_choice"] == {"type": "none"}
    assert native["max_tokens"] == chat.DEFAULT_MAX_TOKENS


def test_tools_choice_and_parallel_use_map_natively():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}},
              "cache_control": {"type": "ephemeral"}}]
    native = req(tools=tools, tool_choice={"type": "function", "function": {"name": "f"}},
                 parallel_tool_calls=False)
    assert native["tools"] == [{"name": "f", "input_schema": {"type": "object"},
                                "cache_control": {"type": "ephemeral"}}]
    assert native["tool_choice"] == {"type": "tool", "name": "f",
                                     "disable_parallel_tool_use": True}
    assert req(tools=tools, tool_choice="required")["tool_choice"] == {"type": "any"}
    with pytest.raises(Refused) as e:
        req(tools=[{"type": "function", "function": {"name": "a.b"}}])
    assert e.value.param == "tools[0].function.name"


def test_reasoning_effort_is_a_budget_below_the_cap_or_adaptive_effort():
    assert req(reasoning_effort="high", max_completion_tokens=3000)["thinking"] == {
        "type": "enabled", "budget_tokens": 2999}
    with pytest.raises(Refused):
        req(reasoning_effort="low", max_completion_tokens=1024)
    adaptive = chat.request({"messages": [{"role": "user", "content": "Hi"}],
                             "reasoning_effort": "minimal"}, "claude-opus-4-6", None, "s")
    assert adaptive["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert adaptive["output_config"] == {"effort": "low"}
    assert "thinking" not in req(reasoning_effort="none")


def test_cache_control_on_parts_and_system_is_kept_and_empty_text_dropped():
    native = chat.request({"messages": [
        {"role": "system", "content": "Long rules", "cache_control": {"type": "ephemeral"}},
        {"role": "user", "content": [{"type": "text", "text": ""},
                                     {"type": "text", "text": "Doc",
                                      "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}]},
        "claude-sonnet-4-5", None, "s")
    assert native["system"] == [{"type": "text", "text": "Long rules",
                                 "cache_control": {"type": "ephemeral"}}]
    assert native["messages"][0]["content"] == [
        {"type": "text", "text": "Doc", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]


@pytest.mark.parametrize("body,param", [
    ({"n": 2}, "n"), ({"logprobs": True}, "logprobs"), ({"seed": 1}, "seed"),
    ({"temperature": 2}, "temperature"), ({"stop": " "}, "stop"),
    ({"functions": [{"name": "f"}]}, "functions"), ({"store": True}, "store"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]},
     "messages[0].content[0]"),
    ({"web_search_options": {}}, "web_search_options"), ({"frobnicate": 1}, "frobnicate"),
])
def test_nothing_is_dropped_in_silence(body, param):
    with pytest.raises(Refused) as e:
        req(**body)
    assert e.value.param == param


def test_harmless_defaults_pass():
    native = req(logprobs=False, store=False, service_tier="auto", n=1, metadata={"a": "b"},
                 stream_options={"include_usage": True}, prompt_cache_key="k")
    assert set(native) == {"model", "max_tokens", "messages"}


def test_native_errors_become_openais_with_a_status_the_sdks_act_on():
    assert chat.error(529, {"type": "error", "error": {"type": "overloaded_error",
                                                       "message": "Overloaded"}}) == (
        503, {"error": {"message": "Overloaded", "type": "server_error", "param": None,
                        "code": "overloaded"}})
    assert chat.error(401, {"error": {"type": "authentication_error", "message": "bad key"}})[0] \
        == 503  # the business's key, never the customer's 401
    status, body = chat.error(400, {"error": {"type": "invalid_request_error",
                                              "message": "prompt is too long: 300000 tokens"}})
    assert status == 400 and body["error"]["code"] == "context_length_exceeded"
    assert chat.error(502, None)[0] == 500


# --- Gemini ---------------------------------------------------------------------------------

from addons.providers.gemini import chat as gchat  # noqa: E402


def gemini_stream(objs: list[dict]) -> bytes:
    return b"".join(b"data: " + json.dumps(o).encode() + b"\r\n\r\n" for o in objs)


META = {"promptTokenCount": 30, "cachedContentTokenCount": 10, "candidatesTokenCount": 8,
        "thoughtsTokenCount": 4, "totalTokenCount": 42}
GEMINI = [
    {"candidates": [{"content": {"parts": [{"text": "Weighing.", "thought": True}]},
                     "index": 0}], "usageMetadata": {**META, "candidatesTokenCount": 1,
                                                     "totalTokenCount": 35},
     "modelVersion": "gemini-3-flash-preview", "responseId": "r1"},
    {"candidates": [{"content": {"parts": [
        {"functionCall": {"id": "fc0", "name": "get_weather", "args": {"city": "Paris"}},
         "thoughtSignature": "sig0"},
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}]}, "index": 0}],
     "usageMetadata": {**META, "candidatesTokenCount": 5, "totalTokenCount": 39}},
    {"candidates": [{"content": {"parts": [{"text": "", "thoughtSignature": "sig1"}]},
                     "index": 0}]},  # a signature alone, on an empty part
    {"usageMetadata": META},  # metadata only: no chunk
    {"candidates": [{"content": {"parts": []}, "finishReason": "STOP", "index": 0}],
     "usageMetadata": META},
]


def gtranslate(data: bytes, size: int | None = None):
    s = gchat.ChatStream(created=1, include_usage=True)
    size = size or len(data)
    return b"".join(s.feed(data[i:i + size]) for i in range(0, len(data), size)) + s.finish(), s


@pytest.mark.parametrize("size", [1, 2, 3, 7, 97])
def test_a_gemini_stream_split_anywhere_translates_the_same(size, monkeypatch):
    monkeypatch.setattr(gchat, "new_id", lambda: "call_gwSYNTHESIZEDxxxxxxxxxxx")
    data = gemini_stream(GEMINI)
    assert gtranslate(data, size)[0] == gtranslate(data)[0]


def test_gemini_calls_whole_numbered_signatures_kept_usage_once_no_empty_chunks():
    out, s = gtranslate(gemini_stream(GEMINI))
    chunks = [c for c in frames(out) if c != "[DONE]"]
    assert all(c["choices"] for c in chunks[:-1]) and chunks[-1]["choices"] == []
    calls = [tc for c in chunks if c["choices"]
             for tc in c["choices"][0]["delta"].get("tool_calls", ())]
    assert [(t["index"], t["function"]["name"]) for t in calls] == [(0, "get_weather"),
                                                                    (1, "get_weather")]
    assert calls[0]["id"] == "fc0" and calls[1]["id"].startswith("call_gw")
    sigs = [d["data"] for c in chunks if c["choices"]
            for d in c["choices"][0]["delta"].get("reasoning_details", ())]
    assert sigs == ["sig0", "sig1"]  # the one on an empty part is kept, no empty content
    assert not any(c["choices"][0]["delta"].get("content") == "" for c in chunks[1:]
                   if c["choices"])
    (finish,) = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finish["choices"][0]["finish_reason"] == "tool_calls"  # STOP with calls
    usage = [c["usage"] for c in chunks if c["usage"]]
    assert usage == [{"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42,
                      "prompt_tokens_details": {"cached_tokens": 10},
                      "completion_tokens_details": {"reasoning_tokens": 4}}]
    assert s.usage.output_tokens == 12 and s.usage.cache_read_tokens == 10  # metering's own
    assert frames(out)[-1] == "[DONE]"


def test_a_gemini_stream_without_finish_or_with_an_error_is_an_error_chunk():
    for objs in (GEMINI[:2], [*GEMINI[:2], {"error": {"code": 503, "message": "Overloaded",
                                                     "status": "UNAVAILABLE"}}]):
        out, _ = gtranslate(gemini_stream(objs))
        assert b"[DONE]" not in out and "error" in frames(out)[-1]


@pytest.mark.parametrize("reason,finish", [("MAX_TOKENS", "length"), ("SAFETY", "content_filter"),
                                           ("OTHER", "content_filter"), ("STOP", "stop")])
def test_every_gemini_answer_has_a_finish_reason(reason, finish):
    r = gchat.response({"candidates": [{"content": {"parts": [{"text": "x"}]},
                                        "finishReason": reason}]})
    assert r["choices"][0]["finish_reason"] == finish
    assert r["choices"][0]["native_finish_reason"] == reason


def test_a_blocked_prompt_is_a_content_filter_choice_not_an_error():
    r = gchat.response({"promptFeedback": {"blockReason": "SAFETY"},
                        "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5}})
    assert r["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "",
                                                     "refusal": None},
                             "logprobs": None, "finish_reason": "content_filter",
                             "native_finish_reason": "SAFETY"}]
    assert r["usage"]["prompt_tokens"] == 5


def test_gemini_requests_map_natively():
    native = gchat.request({"messages": [
        {"role": "user", "content": [{"type": "text", "text": "Hi"},
                                     {"type": "input_audio",
                                      "input_audio": {"data": "AAA", "format": "wav"}}]}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {
            "$schema": "x", "type": "object"}}}],
        "seed": 3, "presence_penalty": 0.5, "reasoning_effort": "high"}, "gemini-3-pro-preview")
    assert native["contents"][0]["parts"][1] == {"inlineData": {"mimeType": "audio/wav",
                                                                "data": "AAA"}}
    assert native["tools"] == [{"functionDeclarations": [{
        "name": "f", "parametersJsonSchema": {"type": "object"}}]}]
    assert native["toolConfig"] == {"functionCallingConfig": {
        "mode": "ANY", "allowedFunctionNames": ["f"]}}
    assert native["generationConfig"] == {"seed": 3, "presencePenalty": 0.5, "thinkingConfig": {
        "thinkingLevel": "HIGH", "includeThoughts": True}}
    with pytest.raises(Refused) as e:
        gchat.request({"messages": [{"role": "tool", "tool_call_id": "x", "content": "1"}]},
                      "gemini-2.5-flash")
    assert e.value.param == "messages[0].tool_call_id"


def test_gemini_errors_become_openais_with_retry_after():
    body = {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED",
                      "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                   "retryDelay": "36.2s"}]}}
    assert gchat.error(429, body)[0] == 429 and gchat.retry_after(body) == 37
    assert gchat.error(400, [{"error": {"code": 400, "message": "API key not valid",
                                        "status": "INVALID_ARGUMENT", "details": [
                                            {"reason": "API_KEY_INVALID"}]}}])[0] == 503
    assert gchat.error(503, {"error": {"status": "UNAVAILABLE"}})[1]["error"]["code"] \
        == "overloaded"


def test_gemini_embeddings_request_and_base64_answer():
    import base64
    import struct

    from addons.providers.gemini import embed

    assert embed.request({"model": "m", "input": "hi", "user": "u"}, "gemini-embedding-001") \
        == {"requests": [{"model": "models/gemini-embedding-001",
                          "content": {"parts": [{"text": "hi"}]}}]}
    for body, param in (({"input": []}, "input"), ({"input": [1, 2]}, "input"),
                        ({"input": "x", "encoding_format": "int8"}, "encoding_format"),
                        ({"input": "x", "dimensions": 0}, "dimensions"),
                        ({"input": "x", "frob": 1}, "frob")):
        with pytest.raises(Refused) as e:
            embed.request(body, "m")
        assert e.value.param == param
    r = embed.response({"embeddings": [{"values": [0.6, -0.8]}],
                        "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}},
                       "gemini-embedding-001", "base64")
    raw = base64.b64decode(r["data"][0]["embedding"])
    assert struct.unpack("<2f", raw) == pytest.approx((0.6, -0.8)) and \
        r["usage"]["prompt_tokens"] == 3
    short = embed.response({"embeddings": [{"values": [3.0, 4.0]}]}, "m", "float", metered=9)
    assert short["data"][0]["embedding"] == [0.6, 0.8]  # of unit length, as OpenAI's
    assert short["usage"] == {"prompt_tokens": 9, "total_tokens": 9}  # what was metered
