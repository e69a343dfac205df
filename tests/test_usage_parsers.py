"""The usage parsers over every format, split every way: where metering correctness lives.

Vectors are the providers' byte-exact documented examples. Each is fed in one piece,
in chunks of 1, 2, 3, 7 and 97 bytes, and split at arbitrary points by hypothesis.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addons.providers.anthropic.usage import AnthropicStream, parse_anthropic_body
from addons.providers.gemini.usage import GeminiArrayStream, GeminiSSEStream, parse_gemini_body
from addons.providers.openai.usage import (
    OpenAIChatStream,
    OpenAIResponsesStream,
    ensure_include_usage,
    parse_openai_chat_body,
    parse_openai_embeddings_body,
    parse_openai_responses_body,
)
from addons.wire.framing import JSONArraySplitter, SSEDecoder
from addons.wire.usage import Usage, settle

ANTHROPIC = b"""event: message_start
data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":6}}

event: message_stop
data: {"type":"message_stop"}

"""
ANTHROPIC_USAGE = Usage(12, 0, 0, 6, 0, 18)

# Cache tokens, a thinking breakdown, and two cumulative message_deltas (never summed), with
# the padded JSON real captures show.
ANTHROPIC_CACHED = b"""event: message_start
data: {"type":"message_start","message":{"model":"claude-opus-5","usage":{"input_tokens":5,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":1}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":40}}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":90,"output_tokens_details":{"thinking_tokens":30}}}

event: message_stop
data: {"type":"message_stop"    }

"""
ANTHROPIC_CACHED_USAGE = Usage(5, 2000, 100, 90, 30, 2195)

OPENAI_CHAT = b"""data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0ba0d124f1","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":2,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}

data: [DONE]

"""
OPENAI_CHAT_USAGE = Usage(19, 0, 0, 2, 0, 21)
USAGE_EVENT_START = OPENAI_CHAT.index(b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0ba0d124f1","choices":[],')
USAGE_EVENT_END = OPENAI_CHAT.index(b"data: [DONE]")
OPENAI_CHAT_STRIPPED = OPENAI_CHAT[:USAGE_EVENT_START] + OPENAI_CHAT[USAGE_EVENT_END:]

OPENAI_RESPONSES = b"""event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec","object":"response","created_at":1741290958,"status":"in_progress","error":null,"incomplete_details":null,"model":"gpt-4.1-mini-2025-04-14","output":[],"usage":null}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_67c9fdcf37fc8190","type":"message","status":"in_progress","role":"assistant","content":[]}}

event: response.content_part.added
data: {"type":"response.content_part.added","sequence_number":2,"item_id":"msg_67c9fdcf37fc8190","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_67c9fdcf37fc8190","output_index":0,"content_index":0,"delta":"Hi there!","logprobs":[]}

event: response.output_text.done
data: {"type":"response.output_text.done","sequence_number":4,"item_id":"msg_67c9fdcf37fc8190","output_index":0,"content_index":0,"text":"Hi there!","logprobs":[]}

event: response.completed
data: {"type":"response.completed","sequence_number":5,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec","object":"response","created_at":1741290958,"status":"completed","error":null,"incomplete_details":null,"model":"gpt-4.1-mini-2025-04-14","output":[{"id":"msg_67c9fdcf37fc8190","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi there!","annotations":[]}]}],"usage":{"input_tokens":37,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":11,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":48}}}

"""
OPENAI_RESPONSES_USAGE = Usage(37, 0, 0, 11, 0, 48)

GEMINI_SSE = (
    b'data: {"candidates": [{"content": {"parts": [{"text": "Hello"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 4,"candidatesTokenCount": 1,"totalTokenCount": 35,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 4}],"thoughtsTokenCount": 30},"modelVersion": "gemini-2.5-flash","responseId": "IZI2acSKMoWl0-kPmYj2yQc"}\r\n\r\n'
    b'data: {"candidates": [{"content": {"parts": [{"text": " there! How can I help you today?"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 4,"candidatesTokenCount": 12,"totalTokenCount": 46,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 4}],"thoughtsTokenCount": 30},"modelVersion": "gemini-2.5-flash","responseId": "IZI2acSKMoWl0-kPmYj2yQc"}\r\n\r\n'
)
GEMINI_USAGE = Usage(4, 0, 0, 42, 30, 46)  # output = candidates 12 + thoughts 30


def gemini_array(objs) -> bytes:
    pretty = [json.dumps(o, indent=2).replace("\n", "\r\n") for o in objs]
    return ("[" + "\r\n,\r\n".join(pretty) + "\r\n]").encode()


GEMINI_OBJS = [json.loads(line[6:]) for line in GEMINI_SSE.decode().split("\r\n\r\n") if line]
# A brace and an escaped quote inside strings must not confuse the splitter.
GEMINI_OBJS[0]["candidates"][0]["content"]["parts"][0]["text"] = 'He said "{hi}" \\ }'
GEMINI_ARRAY = gemini_array(GEMINI_OBJS)

SIZES = [None, 1, 2, 3, 7, 97]


def pieces(data: bytes, size: int | None):
    if size is None:
        return [data]
    return [data[i:i + size] for i in range(0, len(data), size)]


def run(parser, chunks) -> bytes:
    out = b"".join(parser.feed(c) for c in chunks)
    return out + parser.finish()


CASES = [
    (AnthropicStream, ANTHROPIC, ANTHROPIC_USAGE, "claude-sonnet-4-5-20250929"),
    (AnthropicStream, ANTHROPIC_CACHED, ANTHROPIC_CACHED_USAGE, "claude-opus-5"),
    (OpenAIChatStream, OPENAI_CHAT, OPENAI_CHAT_USAGE, "gpt-4o-mini-2024-07-18"),
    (OpenAIResponsesStream, OPENAI_RESPONSES, OPENAI_RESPONSES_USAGE, "gpt-4.1-mini-2025-04-14"),
    (GeminiSSEStream, GEMINI_SSE, GEMINI_USAGE, "gemini-2.5-flash"),
    (GeminiArrayStream, GEMINI_ARRAY, GEMINI_USAGE, "gemini-2.5-flash"),
]
IDS = ["anthropic", "anthropic-cached", "openai-chat", "openai-responses", "gemini-sse",
       "gemini-array"]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("cls,data,usage,model", CASES, ids=IDS)
def test_exact_usage_in_any_chunking(cls, data, usage, model, size):
    p = cls()
    assert run(p, pieces(data, size)) == data  # pass-through is byte-exact
    assert p.usage == usage
    assert p.complete and not p.failed and p.model == model


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_exact_usage_with_arbitrary_splits(data):
    i = data.draw(st.integers(0, len(CASES) - 1))
    cls, raw, usage, _ = CASES[i]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=40)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)])]
    p = cls()
    assert run(p, chunks) == raw
    assert p.usage == usage and p.complete


@pytest.mark.parametrize("eol", [b"\r\n", b"\r"])
@pytest.mark.parametrize("size", [1, 2, 97])
def test_sse_line_endings(eol, size):
    for cls, data, usage in [(AnthropicStream, ANTHROPIC, ANTHROPIC_USAGE),
                             (OpenAIChatStream, OPENAI_CHAT, OPENAI_CHAT_USAGE)]:
        p = cls()
        run(p, pieces(data.replace(b"\n", eol), size))
        assert p.usage == usage and p.complete


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, len(OPENAI_CHAT)), max_size=30),
       st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_chat_strip_mode_removes_exactly_the_usage_chunk(cuts, eol):
    raw = OPENAI_CHAT.replace(b"\n", eol)
    expected = OPENAI_CHAT_STRIPPED.replace(b"\n", eol)
    cuts = sorted(cuts)
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)])]
    p = OpenAIChatStream(strip_usage_chunk=True)
    assert run(p, chunks) == expected
    assert p.usage == OPENAI_CHAT_USAGE and p.complete


def test_chat_strip_mode_forwards_an_unterminated_tail():
    p = OpenAIChatStream(strip_usage_chunk=True)
    out = p.feed(OPENAI_CHAT[:50])
    assert out == b""  # held until the event completes
    assert out + p.finish() == OPENAI_CHAT[:50]


def test_chat_without_include_usage_has_no_usage():
    raw = OPENAI_CHAT[:USAGE_EVENT_START] + OPENAI_CHAT[USAGE_EVENT_END:]
    p = OpenAIChatStream()
    run(p, [raw])
    assert p.usage is None and p.complete and p.out_chars == len("Hello")


def test_ensure_include_usage():
    body = {"stream": True, "stream_options": {"include_obfuscation": False}}
    assert ensure_include_usage(body)
    assert body["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert not ensure_include_usage(body)  # already there
    assert not ensure_include_usage({"stream": False})  # never on non-streaming requests
    assert not ensure_include_usage({})


# --- streams that end badly ---------------------------------------------------------------------


def test_anthropic_cut_before_message_stop_keeps_last_known():
    cut = ANTHROPIC[:ANTHROPIC.index(b"event: message_stop")]
    p = AnthropicStream()
    run(p, pieces(cut, 7))
    assert not p.complete and p.usage == ANTHROPIC_USAGE


def test_anthropic_error_event_fails_the_stream():
    err = b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n'
    cut = ANTHROPIC[:ANTHROPIC.index(b"event: content_block_stop")] + err
    p = AnthropicStream()
    run(p, [cut])
    assert p.failed and not p.complete
    assert p.usage.input_tokens == 12 and p.out_chars == len("Hello!")
    s = settle(p.usage, False, p.out_chars, 0)
    assert s.usage.input_tokens == 12 and s.usage.output_tokens == 2 and not s.complete


def test_openai_chat_error_event():
    p = OpenAIChatStream()
    run(p, [OPENAI_CHAT[:USAGE_EVENT_START],
            b'data: {"error":{"message":"boom","type":"server_error","param":null,"code":null}}\n\n'])
    assert p.failed and p.usage is None


def test_responses_failed_and_incomplete_carry_usage():
    for kind in ("response.incomplete", "response.failed"):
        ev = json.dumps({"type": kind, "sequence_number": 9, "response": {
            "model": "gpt-5.5", "status": kind.split(".")[1],
            "usage": {"input_tokens": 10, "output_tokens": 3, "total_tokens": 13}}})
        p = OpenAIResponsesStream()
        run(p, [f"event: {kind}\ndata: {ev}\n\n".encode()])
        assert p.usage == Usage(10, 0, 0, 3, 0, 13) and p.complete and not p.failed


def test_gemini_truncated_keeps_last_running_total():
    first = GEMINI_SSE[:GEMINI_SSE.index(b"\r\n\r\n") + 4]
    p = GeminiSSEStream()
    run(p, [first])
    assert not p.complete and p.usage == Usage(4, 0, 0, 31, 30, 35)  # running, not summed


def test_gemini_array_error_object():
    p = GeminiArrayStream()
    run(p, pieces(b'[{"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}]', 5))
    assert p.failed and p.usage is None


def test_odd_events_never_break_the_stream():
    odd = b'data: {"choices": [1, 2], "usage": "x"}\n\ndata: [1]\n\ndata: nope\n\n' + OPENAI_CHAT
    p = OpenAIChatStream()
    assert run(p, pieces(odd, 3)) == odd
    assert p.usage == OPENAI_CHAT_USAGE and p.odd_events == 1


# --- buffered bodies ----------------------------------------------------------------------------


def test_bodies():
    assert parse_anthropic_body({"model": "m", "usage": {
        "input_tokens": 12, "cache_creation_input_tokens": None, "cache_read_input_tokens": 3,
        "output_tokens": 6}}).usage == Usage(12, 3, 0, 6, 0, 21)
    chat = parse_openai_chat_body({"model": "gpt", "usage": {
        "prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 3}}})
    assert chat.usage == Usage(15, 4, 0, 10, 3, 29)
    resp = parse_openai_responses_body({"status": "completed", "usage": {
        "input_tokens": 37, "input_tokens_details": {"cached_tokens": 7},
        "output_tokens": 11, "total_tokens": 48}})
    assert resp.usage == Usage(30, 7, 0, 11, 0, 48) and resp.complete
    queued = parse_openai_responses_body({"status": "queued", "usage": None})
    assert queued.usage is None and not queued.complete
    assert parse_openai_embeddings_body({"usage": {"prompt_tokens": 8, "total_tokens": 8}}
                                        ).usage == Usage(8, 0, 0, 0, 0, 8)
    gem = parse_gemini_body({"modelVersion": "gemini-2.5-flash", "usageMetadata": {
        "promptTokenCount": 4, "cachedContentTokenCount": 1, "toolUsePromptTokenCount": 2,
        "candidatesTokenCount": 12, "thoughtsTokenCount": 30, "totalTokenCount": 48}})
    assert gem.usage == Usage(5, 1, 0, 42, 30, 48)


def test_settle_rules():
    u = Usage(10, 0, 0, 5, 0, 15)
    assert settle(u, True, 999, 0).usage == u  # complete: reported figures stand
    s = settle(None, False, 40, 7)  # nothing reported: estimated from what was delivered
    assert s.usage == Usage(7, 0, 0, 10, 0, 17) and s.estimated and not s.complete
    s = settle(Usage(10, 0, 0, 1, 0, 11), False, 40, 0)  # raised to what was delivered
    assert s.usage.output_tokens == 10 and s.usage.total_tokens == 20 and s.estimated
    s = settle(Usage(10, 0, 0, 50, 0, 60), False, 40, 0)
    assert s.usage.output_tokens == 50 and not s.estimated


# --- framing ------------------------------------------------------------------------------------


def test_sse_decoder_spec_details():
    d = SSEDecoder()
    evs = d.feed(b": comment\r\nevent: a\r\ndata: 1\r\ndata:2\r\n\r\ndata: x\r")
    assert [(e.event, e.data) for e in evs] == [("a", "1\n2")]
    assert [(e.event, e.data) for e in d.feed(b"\n\n")] == [("", "x")]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b{", '"q"', "\\"]),
                                st.text(alphabet='{}[]"\\ab,:\n', max_size=8)),
                min_size=1, max_size=5),
       st.lists(st.integers(0, 400), max_size=20))
def test_json_array_splitter(objs, cuts):
    raw = gemini_array(objs)
    cuts = sorted(c for c in cuts if c <= len(raw))
    s = JSONArraySplitter()
    got = []
    for a, b in zip([0, *cuts], [*cuts, len(raw)]):
        got += s.feed(raw[a:b])
    assert [json.loads(g) for g in got] == objs


# --- the tap and memory -------------------------------------------------------------------------


def test_tap_never_drops_a_chunk_when_the_parser_fails():
    from addons.call import Call
    from addons.members.metering import Tap
    from addons.providers import BUILTIN

    class Exploding(OpenAIChatStream):
        def feed(self, chunk):
            raise RuntimeError("a parser bug")

    tap = Tap(Call(BUILTIN["openai"], None, "", "req_x"), Exploding())
    chunks = pieces(OPENAI_CHAT, 7)
    assert b"".join(tap(c) for c in chunks) == OPENAI_CHAT  # every byte, unaltered
    assert tap(b"") in (b"", [])


def test_parser_memory_is_constant_per_stream():
    """State is one partial line and the latest usage, never the body: a long stream leaves
    nothing behind but counters."""
    import sys

    event = (b'data: {"choices":[{"index":0,"delta":{"content":"' + b"x" * 200 +
             b'"}}],"usage":null}\n\n')
    for cls, strip in ((OpenAIChatStream, False), (OpenAIChatStream, True), (AnthropicStream, False)):
        p = cls(strip_usage_chunk=True) if strip else cls()
        for _ in range(20_000):  # about 5 MB through one parser
            p.feed(event[:100])
            p.feed(event[100:])
        names = [n for c in type(p).__mro__ for n in getattr(c, "__slots__", ())]
        state = [getattr(p, n) for n in names if hasattr(p, n)]
        state += [getattr(p._sse, k) for k in ("_partial", "_data", "_raw")]
        assert sum(sys.getsizeof(v) for v in state) < 4096


def test_chat_strip_mode_keeps_every_byte_around_a_crlf_split():
    """Split between the CR and LF of every line end: a blank line's LF arriving after its
    event went out still goes to the client (it once went with the withheld usage chunk)."""
    raw = OPENAI_CHAT.replace(b"\n", b"\r\n")
    expected = OPENAI_CHAT_STRIPPED.replace(b"\n", b"\r\n")
    for i in range(1, len(raw)):
        if raw[i - 1:i + 1] == b"\r\n":
            p = OpenAIChatStream(strip_usage_chunk=True)
            assert run(p, [raw[:i], raw[i:]]) == expected, i
            assert p.usage == OPENAI_CHAT_USAGE and p.complete


def test_the_processing_tier_served_is_read_from_every_openai_answer():
    """The tier OpenAI reports (service_tier) prices the call: chat chunks and bodies, and a
    response's object, streamed or not."""
    chat = OpenAIChatStream()
    chat.feed(OPENAI_CHAT)
    assert chat.tier == "default"
    resp = OpenAIResponsesStream()
    done = {"type": "response.completed", "sequence_number": 3, "response": {
        "id": "resp_1", "object": "response", "status": "completed", "model": "gpt-5-mini",
        "service_tier": "flex", "output": [], "usage": {
            "input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 2, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 12}}}
    resp.feed(f"event: response.completed\ndata: {json.dumps(done)}\n\n".encode())
    assert resp.tier == "flex" and resp.complete
    assert parse_openai_responses_body(done["response"]).tier == "flex"
    assert parse_openai_chat_body({"model": "gpt-4o", "service_tier": "priority",
                                   "usage": {"prompt_tokens": 1}}).tier == "priority"
    assert parse_openai_chat_body({"service_tier": 7}).tier is None
