"""Metering end to end: what the SDK shows the client equals the metered record, field by
field, for every format; streams that end badly are still metered; nothing is lost."""

from __future__ import annotations

import json
import socket
import time
from decimal import Decimal

import anthropic
import httpx
import httpx2
import pytest

from tests.conftest import ant, gem, oai

# Distinct figures per field, so a field read from the wrong place shows.
USAGE_HDR = "in=25,out=7,cache_read=3,cache_write=2,reasoning=1"
H = {"x-fake-usage": USAGE_HDR}
MSG = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def key(gateway):
    return gateway.create_key("dev@enterprise.com")


def only_record(gateway, key):
    rows = gateway.records(key, count=1)
    assert len(rows) == 1, rows
    return rows[0]


def fields(rec) -> dict:
    return {k: getattr(rec, k) for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens",
                                         "output_tokens", "reasoning_tokens", "total_tokens")}


def from_openai_chat(u) -> dict:
    cached = u.prompt_tokens_details.cached_tokens
    return {"input_tokens": u.prompt_tokens - cached, "cache_read_tokens": cached,
            "cache_write_tokens": 0, "output_tokens": u.completion_tokens,
            "reasoning_tokens": u.completion_tokens_details.reasoning_tokens,
            "total_tokens": u.total_tokens}


def from_anthropic(u) -> dict:
    return {"input_tokens": u.input_tokens, "cache_read_tokens": u.cache_read_input_tokens,
            "cache_write_tokens": u.cache_creation_input_tokens,
            "output_tokens": u.output_tokens,
            "reasoning_tokens": u.output_tokens_details.thinking_tokens,
            "total_tokens": u.input_tokens + u.cache_read_input_tokens
            + u.cache_creation_input_tokens + u.output_tokens}


def from_gemini(m) -> dict:
    cached = m.cached_content_token_count or 0
    thoughts = m.thoughts_token_count or 0
    return {"input_tokens": m.prompt_token_count - cached, "cache_read_tokens": cached,
            "cache_write_tokens": 0, "output_tokens": m.candidates_token_count + thoughts,
            "reasoning_tokens": thoughts, "total_tokens": m.total_token_count}


# --- OpenAI -------------------------------------------------------------------------------------


def test_openai_chat(gateway, key):
    r = oai(gateway, key).chat.completions.create(model="gpt-4o-mini", messages=MSG,
                                                  extra_headers=H)
    rec = only_record(gateway, key)
    assert fields(rec) == from_openai_chat(r.usage)
    assert fields(rec) == {"input_tokens": 25, "cache_read_tokens": 3, "cache_write_tokens": 0,
                           "output_tokens": 7, "reasoning_tokens": 1, "total_tokens": 35}
    assert (rec.model, rec.streamed, rec.complete, rec.estimated, rec.priced) == (
        "gpt-4o-mini-2024-07-18", False, True, False, True)
    # gpt-4o-mini: $0.15 in, $0.60 out, $0.075 cache read per million tokens
    assert rec.cost_usd == (Decimal(25) * Decimal("0.15") + 7 * Decimal("0.6")
                            + 3 * Decimal("0.075")) / 1_000_000
    assert rec.ttfb_ms is not None and rec.latency_ms >= rec.ttfb_ms


def test_openai_chat_stream_with_include_usage(gateway, key):
    chunks = list(oai(gateway, key).chat.completions.create(
        model="gpt-4o-mini", messages=MSG, stream=True, extra_headers=H,
        stream_options={"include_usage": True}))
    assert chunks[-1].choices == []  # the client asked for it, so it gets it
    rec = only_record(gateway, key)
    assert fields(rec) == from_openai_chat(chunks[-1].usage)
    assert rec.streamed and rec.complete


def test_openai_chat_stream_without_include_usage(gateway, fake_servers, key):
    """The gateway asks upstream for usage, meters it, and hands the client exactly the stream
    it asked for: no usage-only chunk."""
    chunks = list(oai(gateway, key).chat.completions.create(
        model="gpt-4o-mini", messages=MSG, stream=True, extra_headers=H))
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    sent = json.loads(fake_servers["openai"].state.requests[-1]["body"])
    assert sent["stream_options"] == {"include_usage": True}
    rec = only_record(gateway, key)
    assert rec.total_tokens == 35 and rec.complete and not rec.estimated


def test_openai_responses(gateway, key):
    client = oai(gateway, key)
    r = client.responses.create(model="gpt-4.1-mini", input="Hi", extra_headers=H)
    with client.responses.stream(model="gpt-4.1-mini", input="Hi", extra_headers=H) as s:
        final = s.get_final_response()
    recs = gateway.records(key, count=2)
    for rec, u in zip(recs, [r.usage, final.usage]):
        cached = u.input_tokens_details.cached_tokens
        assert fields(rec) == {"input_tokens": u.input_tokens - cached,
                               "cache_read_tokens": cached, "cache_write_tokens": 0,
                               "output_tokens": u.output_tokens,
                               "reasoning_tokens": u.output_tokens_details.reasoning_tokens,
                               "total_tokens": u.total_tokens}
    assert [r.streamed for r in recs] == [False, True]


def test_openai_embeddings(gateway, key):
    r = oai(gateway, key).embeddings.create(model="text-embedding-3-small", input="hello",
                                            extra_headers=H)
    rec = only_record(gateway, key)
    assert rec.input_tokens == r.usage.prompt_tokens == 25
    assert rec.total_tokens == r.usage.total_tokens and rec.output_tokens == 0


# --- Anthropic ----------------------------------------------------------------------------------


def test_anthropic_messages(gateway, key):
    msg = ant(gateway, key).messages.create(model="claude-sonnet-4-6", max_tokens=64,
                                            messages=MSG, extra_headers=H)
    rec = only_record(gateway, key)
    assert fields(rec) == from_anthropic(msg.usage)
    assert fields(rec)["total_tokens"] == 37  # 25 + 3 + 2 + 7: Anthropic sends no total


def test_anthropic_stream(gateway, key):
    with ant(gateway, key).messages.stream(model="claude-sonnet-4-6", max_tokens=64,
                                           messages=MSG, extra_headers=H) as s:
        final = s.get_final_message()
    rec = only_record(gateway, key)
    assert fields(rec) == from_anthropic(final.usage)
    assert rec.streamed and rec.complete and rec.model == "claude-sonnet-4-6"


def test_anthropic_count_tokens_is_free(gateway, key):
    n = ant(gateway, key).messages.count_tokens(model="claude-sonnet-4-6", messages=MSG,
                                                extra_headers=H)
    assert n.input_tokens == 25
    rec = only_record(gateway, key)
    assert rec.endpoint == "count_tokens" and rec.total_tokens == 0 and rec.cost_usd == 0


# --- Gemini -------------------------------------------------------------------------------------


def test_gemini_generate_and_sse_stream(gateway, key):
    client = gem(gateway, key, headers=H)
    r = client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="Hi"))
    recs = gateway.records(key, count=2)
    assert fields(recs[0]) == from_gemini(r.usage_metadata)
    assert fields(recs[1]) == from_gemini(chunks[-1].usage_metadata)  # last running total
    assert fields(recs[1])["output_tokens"] == 7 and recs[1].streamed


def test_gemini_json_array_stream(gateway, key):
    """Without alt=sse Gemini streams one JSON array in arbitrary pieces."""
    with httpx.stream("POST", f"{gateway.url}/v1/gemini/v1beta/models/gemini-2.5-flash:"
                      "streamGenerateContent", headers={"x-goog-api-key": key, **H},
                      json={"contents": [{"parts": [{"text": "Hi"}]}]}) as r:
        body = r.read()
    objs = json.loads(body)
    rec = only_record(gateway, key)
    last = objs[-1]["usageMetadata"]
    assert rec.total_tokens == last["totalTokenCount"] == 35
    assert rec.output_tokens == 7 and rec.reasoning_tokens == 1 and rec.streamed


def test_gemini_embed(gateway, key):
    gem(gateway, key, headers=H).models.embed_content(model="gemini-embedding-001",
                                                       contents="hello")
    rec = only_record(gateway, key)
    assert rec.endpoint == "embedContent" and rec.input_tokens == 25 and rec.total_tokens == 25


# --- Ends badly ---------------------------------------------------------------------------------


def read_anthropic_stream(gateway, key, mode: str) -> None:
    with ant(gateway, key).messages.stream(model="claude-sonnet-4-6", max_tokens=64,
                                           messages=MSG,
                                           extra_headers={**H, "x-fake-mode": mode}) as s:
        for _ in s.text_stream:
            pass


def test_upstream_cut_mid_stream(gateway, key):
    # The client sees the stream end abnormally, never a fake completion.
    with pytest.raises((anthropic.APIConnectionError, httpx2.RemoteProtocolError)):
        read_anthropic_stream(gateway, key, "cut:6")
    rec = only_record(gateway, key)
    assert not rec.complete
    assert rec.input_tokens == 25 and rec.cache_read_tokens == 3 and rec.cache_write_tokens == 2
    assert rec.output_tokens >= 1  # at least what message_start or the text delivered says


def test_error_event_mid_stream(gateway, key):
    with pytest.raises(anthropic.APIStatusError):
        read_anthropic_stream(gateway, key, "error-event")
    rec = only_record(gateway, key)
    assert not rec.complete and rec.input_tokens == 25 and rec.status == 200


def test_client_disconnect_mid_stream(gateway, fake_servers, key):
    state = fake_servers["openai"].state
    finished, aborted = state.streams_finished, state.streams_aborted
    body = json.dumps({"model": "gpt-4o-mini", "messages": MSG, "stream": True}).encode()
    sock = socket.create_connection(("127.0.0.1", gateway.port))
    sock.sendall(b"POST /v1/openai/chat/completions HTTP/1.1\r\nHost: x\r\n"
                 b"Authorization: Bearer " + key.encode() + b"\r\nx-fake-mode: slow:200\r\n"
                 b"x-fake-usage: " + USAGE_HDR.encode() + b"\r\nContent-Type: application/json"
                 b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    received = b""
    while received.count(b"data: ") < 3:
        received += sock.recv(65536)
    sock.close()
    rec = only_record(gateway, key)
    assert not rec.complete and rec.estimated and rec.status == 200
    assert rec.output_tokens >= 1 and rec.input_tokens > 0  # estimated, never a silent zero
    # The gateway closed the upstream request too: the provider stops generating.
    deadline = time.monotonic() + 5
    while state.streams_aborted == aborted:
        assert time.monotonic() < deadline, "the upstream stream was left running"
        time.sleep(0.1)
    assert state.streams_finished == finished


def test_client_disconnect_while_an_answer_is_read_whole(gateway, fake_servers, key):
    """Not streamed: the gateway reads the answer whole before sending it. A client that hangs
    up meanwhile is charged an estimate, as one leaving a stream is (an upstream failure at
    that point is not charged: tests/test_faults_e2e.py)."""
    body = json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 64,
                       "messages": MSG}).encode()
    sock = socket.create_connection(("127.0.0.1", gateway.port))
    sock.sendall(b"POST /v1/anthropic/v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: "
                 + key.encode() + b"\r\nanthropic-version: 2023-06-01\r\n"
                 b"x-fake-mode: slow-body\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    state = fake_servers["anthropic"].state
    deadline = time.monotonic() + 5
    while not state.requests:  # the upstream has it and is answering, slowly
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    sock.close()
    rec = only_record(gateway, key)
    assert rec.status == 200 and not rec.complete and rec.estimated
    assert rec.input_tokens > 0 and rec.total_tokens > 0  # never a silent zero


def test_upstream_error_passes_through_and_records_zero(gateway, key):
    with pytest.raises(anthropic.InternalServerError) as e:
        ant(gateway, key).messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=MSG,
                                          extra_headers={"x-fake-mode": "fail:529:5"})
    assert e.value.status_code == 529
    rec = only_record(gateway, key)
    assert rec.status == 529 and rec.total_tokens == 0


def test_an_unpriced_model_served_by_choice_is_metered_and_listed(make_gateway):
    """UNPRICED_MODELS=serve: the operator's choice to serve models the catalog lacks (by
    default they are refused with the provider's 404)."""
    gateway = make_gateway(UNPRICED_MODELS="serve").start()
    key = gateway.create_key("demo@startup.ai")
    ant(gateway, key).messages.create(model="claude-experimental-x", max_tokens=8, messages=MSG,
                                      extra_headers=H)
    rec = only_record(gateway, key)
    assert rec.total_tokens == 37 and not rec.priced and rec.cost_usd == 0
    out = gateway.admin("unpriced-models").stdout
    assert "claude-experimental-x\tanthropic" in out


def test_cli_usage_agrees_with_upstream_reports(gateway, fake_servers):
    gateway.admin("create-user", "sums@example.com", "--plan", "Growth")
    key = gateway.create_key("sums@example.com")
    client = oai(gateway, key)
    for i in range(3):
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG,
                                       extra_headers={"x-fake-usage": f"in={10 + i},out={i + 1}"})
    with ant(gateway, key).messages.stream(model="claude-sonnet-4-6", max_tokens=9,
                                           messages=MSG,
                                           extra_headers={"x-fake-usage": "in=40,out=9"}) as s:
        s.get_final_message()
    reported = fake_servers["openai"].state.reported + fake_servers["anthropic"].state.reported
    gateway.records(key, count=4)
    usage = json.loads(gateway.admin("usage", "sums@example.com").stdout)
    assert usage["requests"] == 4
    assert usage["total_tokens"] == sum(u["in"] + u["out"] for u in reported) == 33 + 6 + 49
    assert usage["output_tokens"] == 1 + 2 + 3 + 9
    assert Decimal(usage["cost_usd"]) > 0


def test_cli_usage_errors(gateway):
    r = gateway.admin("usage", "nobody@example.com", check=False)
    assert r.returncode != 0 and r.stderr.strip().splitlines() == [
        "Error: no user with email nobody@example.com"]
    r = gateway.admin("usage", "demo@startup.ai", "--month", "2026-13", check=False)
    assert r.returncode != 0 and "YYYY-MM" in r.stderr
