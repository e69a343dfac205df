"""The pure pieces behind paid tokens: input estimates, tool-call counts, output caps, grants
from the limiter, exact prices, credential-like query parameters."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest

from addons.members.auth import take_query_credentials
from addons.providers import BUILTIN
from addons.providers.anthropic.usage import AnthropicStream, parse_anthropic_body
from addons.providers.gemini.usage import GeminiSSEStream, parse_gemini_body
from addons.providers.openai.usage import OpenAIResponsesStream, parse_openai_responses_body
from addons.services.limiter import Limiter
from addons.services.pricebook import PriceBook
from addons.wire.usage import IMAGE_TOKENS, MEDIA_BYTES_PER_TOKEN, estimate_input
from tests.conftest import Clock, plan_customer


def test_input_estimate_counts_the_text_not_the_json():
    words = "Tell me about the printing press. " * 12
    body = {"model": "gpt-4o-mini", "temperature": 0.5,
            "messages": [{"role": "user", "content": words}]}
    assert estimate_input(body) == math.ceil((len("gpt-4o-mini") + len("user") + len(words)) / 4)
    image = "iVBORw0KGgo" + "A" * 200_000  # an inlined PNG: media, not 50,000 tokens
    with_image = {"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": image}}]}]}
    assert estimate_input(with_image) == IMAGE_TOKENS + math.ceil(
        len("user" + "image" + "base64" + "image/png") / 4)
    assert estimate_input({"prompt": "a " * 600}) == 300  # long text stays text


@pytest.mark.parametrize("run", [
    "a" * 400_000,  # one letter, repeated: the audit's 60x
    "Zm9vYmFy" * 50_000,  # base64 pasted as text, with no media type to say it is media
    "iVBORw0KGgo" + "A" * 399_989,  # shaped like an inlined PNG, but sent as text
])
def test_a_run_without_white_space_is_counted_at_two_characters_a_token(run):
    assert estimate_input({"messages": [{"role": "user", "content": run}]}) >= len(run) // 2


def test_token_ids_count_a_token_each_and_wide_characters_by_their_bytes():
    ids = [[1, 2, 3] * 1000] * 80  # embeddings' input as token arrays: 240,000 tokens
    assert estimate_input({"model": "text-embedding-3-small", "input": ids}) >= 240_000
    assert estimate_input({"prompt": list(range(5000))}) >= 5000
    cjk = "你好世界" * 1000  # tokenizers take about a token a character
    assert estimate_input({"input": cjk}) >= len(cjk)
    emoji = "🙂" * 1000
    assert estimate_input({"input": emoji}) >= 2 * len(emoji)


def test_media_is_counted_where_the_request_labels_it():
    pdf = "JVBERi0xLjcK" + "A" * 4_000_000  # a 3 MB PDF: never one image's worth
    doc = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                          "data": pdf}}
    assert estimate_input({"messages": [{"role": "user", "content": [doc]}]}) >= \
        len(pdf) * 3 // 4 // MEDIA_BYTES_PER_TOKEN
    url = "data:image/jpeg;base64," + "A" * 100_000
    assert estimate_input({"content": [{"type": "image_url", "image_url": {"url": url}}]}) \
        == IMAGE_TOKENS + math.ceil(len("image_url") / 4)
    inline = {"inlineData": {"mimeType": "audio/mp3", "data": "A" * 1_000_000}}
    assert estimate_input({"contents": [{"parts": [inline]}]}) > 10_000


def test_server_tool_counts():
    body = {"model": "m", "usage": {"input_tokens": 1, "output_tokens": 2,
                                    "server_tool_use": {"web_search_requests": 2,
                                                        "web_fetch_requests": 0}}}
    assert parse_anthropic_body(body).tools == {"web_search": 2}
    p = AnthropicStream()
    p.feed(b'event: message_start\ndata: {"type":"message_start","message":{"usage":'
           b'{"input_tokens":5,"output_tokens":1}}}\n\n'
           b'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":9,'
           b'"server_tool_use":{"web_search_requests":1}}}\n\n'
           b'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":9,'
           b'"server_tool_use":{"web_search_requests":3,"web_fetch_requests":1}}}\n\n')
    assert p.tools == {"web_search": 3, "web_fetch": 1}  # cumulative, not summed
    resp = {"id": "resp_1", "status": "completed", "output": [
        {"type": "web_search_call"}, {"type": "web_search_call"}, {"type": "function_call"},
        {"type": "code_interpreter_call"}, {"type": "message"}],
        "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}}
    result = parse_openai_responses_body(resp)
    assert result.tools == {"web_search": 2, "code_interpreter": 1}
    assert result.objects == ("resp_1",)
    # The code interpreter: once per container it ran in, at the price of its memory.
    ran = [{"type": "code_interpreter_call", "container_id": c} for c in ("cntr_a", "cntr_a",
                                                                          "cntr_b")]
    assert parse_openai_responses_body({**resp, "output": ran}).tools == {"code_interpreter": 2}
    big = [{"type": "code_interpreter", "container": {"type": "auto", "memory_limit": "4g"}}]
    assert parse_openai_responses_body({**resp, "output": ran, "tools": big}).tools == {
        "code_interpreter_4g": 2}
    s = OpenAIResponsesStream()
    s.feed(b'event: response.created\ndata: {"type":"response.created","response":'
           b'{"id":"resp_2","usage":null}}\n\n')
    assert s.objects == ("resp_2",) and s.tools is None
    g = {"candidates": [{"index": 0, "groundingMetadata": {"webSearchQueries": ["a", "b"]}},
                        {"index": 1, "groundingMetadata": {"webSearchQueries": ["c"]}}]}
    assert parse_gemini_body(g).tools == {"google_search": 3}
    gs = GeminiSSEStream()
    gs.feed(b'data: {"candidates":[{"index":0,"groundingMetadata":{"webSearchQueries":["a"]}}]}'
            b'\r\n\r\ndata: {"candidates":[{"index":0,"groundingMetadata":'
            b'{"webSearchQueries":["a","b"]}}]}\r\n\r\n')
    assert gs.tools == {"google_search": 2}  # the latest per candidate


def endpoint(provider, name):
    return next(e for e in BUILTIN[provider].endpoints if e.name == name)


def test_output_caps_in_each_providers_own_fields():
    msgs = endpoint("anthropic", "messages").output
    body = {"max_tokens": 64000, "thinking": {"type": "enabled", "budget_tokens": 63999}}
    assert msgs.asked(body) == 64000 and msgs.least(body) == 1025
    msgs.apply(body, 5000)
    assert body == {"max_tokens": 5000, "thinking": {"type": "enabled", "budget_tokens": 4999}}
    chat = endpoint("openai", "chat.completions").output
    body = {"n": 3}
    assert chat.asked(body) is None and chat.choices(body) == 3
    chat.apply(body, 100)
    assert body == {"n": 3, "max_completion_tokens": 100}
    legacy = {"max_tokens": 900}
    chat.apply(legacy, 100)
    assert legacy == {"max_tokens": 100}
    responses = endpoint("openai", "responses").output
    assert responses.least({}) == 16
    gen = endpoint("gemini", "generateContent").output
    body = {"generation_config": {"candidate_count": 2}}
    assert gen.choices(body) == 2
    gen.apply(body, 50)
    assert body == {"generation_config": {"candidate_count": 2, "maxOutputTokens": 50}}
    # Google's JSON takes integers as strings and whole floats too: 8 answers, each capped.
    for count in ("8", 8.0, 8):
        body = {"generationConfig": {"candidateCount": count, "maxOutputTokens": "1000"}}
        assert (gen.choices(body), gen.asked(body)) == (8, 1000)
    compat = next(e for e in BUILTIN["gemini"].dialects["openai"].endpoints
                  if e.name == "openai.chat.completions").output
    body = {}
    compat.apply(body, 10)
    assert body == {"max_tokens": 10}
    assert endpoint("openai", "embeddings").output is None


def test_grants_never_hold_more_than_the_quota():
    lim, c = Limiter(Clock()), plan_customer(monthly=1000)
    g = lim.reserve(c, 100, 500, answers=1, least=1)
    assert g.ok and (g.output, g.reserved, g.available) == (500, 600, 1000)
    g = lim.reserve(c, 100, 500, answers=2, least=1)  # 400 left: 100 in, 2 x 150 out
    assert g.ok and (g.output, g.reserved) == (150, 400)
    assert not lim.reserve(c, 0, 500, least=1).ok  # nothing left to answer with
    lim.settle(c, 600, 20)
    g = lim.reserve(c, 10, 5000, least=1025)  # thinking needs more than the 580 left
    assert not g.ok and g.available == 580
    unlimited = plan_customer(monthly=None)
    g = lim.reserve(unlimited, 10, 64000, answers=2)
    assert g.ok and (g.output, g.reserved, g.available) == (64000, 128010, None)


def test_counting_has_its_own_window():
    lim, c = Limiter(Clock(), counting_rpm=5), plan_customer(rpm=2)
    assert all(lim.admit_request(c, counting=True).ok for _ in range(5))
    assert not lim.admit_request(c, counting=True).ok
    assert lim.admit_request(c).ok and lim.admit_request(c).ok and not lim.admit_request(c).ok
    assert lim.standing(c, counting=True).rpm == 5 and lim.standing(c).rpm == 2


def test_costs_are_exact_nano_dollars():
    book = PriceBook()
    book.models = {"m": {"model": "m", "input_per_mtok": Decimal("0.075"),
                         "output_per_mtok": Decimal("0.3"), "cache_read_per_mtok": Decimal(0),
                         "cache_write_per_mtok": Decimal(0), "max_output_tokens": 8192}}
    book.tools = {("p", "web_search", ""): Decimal("0.01"),
                  ("p", "web_search", "m"): Decimal("0.025")}
    rec = {"input_tokens": 7, "output_tokens": 3, "cache_read_tokens": 0,
           "cache_write_tokens": 0}
    assert book.cost("p", "m-2025-01-01", rec) == (1425, True)  # 0.525 + 0.9 nano-dollars, rounded
    assert book.cost("p", "m", {**rec, "tools": {"web_search": 2}}) == (50_001_425, True)
    assert book.cost("p", "m", {**rec, "tools": {"file_search": 1}})[1] is False  # no price
    assert book.cost("p", "unknown", rec) == (0, False)
    assert book.max_output("m-001") == 8192 and book.max_output("x") is None


@pytest.mark.parametrize("query,kept,keys", [
    ("alt=sse&key=gw-a", "alt=sse", ["gw-a"]),
    ("KEY=1&%6Bey=2&ke%79=3&access_token=4&api-key=5&Api_Key=6&pageToken=7", "pageToken=7", []),
    ("token=1&x-goog-api-key=2&signature=3&limit=5&after=abc", "limit=5&after=abc", []),
])
def test_credential_like_query_parameters(query, kept, keys):
    path, found = take_query_credentials(f"/v1/x?{query}")
    assert path == (f"/v1/x?{kept}" if kept else "/v1/x") and found == keys


def test_negative_or_malformed_counts_count_zero_and_never_refund():
    body = {"model": "claude-haiku-4-5", "usage": {
        "input_tokens": -500_000, "output_tokens": 7, "cache_read_input_tokens": True,
        "cache_creation_input_tokens": 3.5}}
    usage = parse_anthropic_body(body).usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens,
            usage.output_tokens, usage.total_tokens) == (0, 0, 0, 7, 7)


@pytest.mark.parametrize("raw, twice", [
    (b'{"model": "a", "model": "b"}', True),
    (b'{"a": {"k": 1, "k": 2}}', True),
    (b'{"a\\\\": 1, "a\\\\": 2}', True),  # a key ending in an escaped backslash
    (b'{"k"  : 1, "j": 2, "j": 3}', True),  # laid out to hide one key from a count
    (b'{"a": [1, {"k": 1, "k": 2}]}', True),
    (b'{"s": {"media_type": "image/png", "data": "AAAAAAAAAAAAAAAAAAAA", "data": "B"}}', True),
    (b'{"model" : "a", "x": "b"}', False),
    (b'{"a": "he said \\": hi", "b": 1}', False),  # `":` inside a string
    (b'{"messages": [{"role": "user", "content": "x"}], "model": "m"}', False),
])
def test_a_key_given_twice_anywhere_is_found_however_the_text_is_laid_out(raw, twice):
    from addons.wire import bodies

    body, _ = bodies.read(raw)
    assert isinstance(body, bodies.Refused) == twice
    assert twice or body == json.loads(raw)


def test_cache_writes_long_prompts_and_tiers_are_priced_as_the_catalog_says(tmp_path):
    """Claude Sonnet 4.5: writes for an hour at $6/M (five minutes: $3.75); past 200K tokens of
    prompt every token of the call at the long-context prices ($6 in, $22.50 out)."""
    from models import bind, db
    from models.catalog import load_catalog
    from models.seed import create_tables

    previous = db.obj
    bind(f"sqlite:///{tmp_path / 'gateway.db'}")
    try:
        create_tables()
        load_catalog()
        book = PriceBook()
        book.reload()
        writes = {"input_tokens": 1000, "output_tokens": 100, "cache_read_tokens": 0,
                  "cache_write_tokens": 10_000, "cache_write_1h_tokens": 4_000}
        # 1000 x 3 + 100 x 15 + 6000 x 3.75 + 4000 x 6, per million, in nano-dollars.
        assert book.cost("anthropic", "claude-sonnet-4-5", writes) == (51_000_000, True)
        long = {"input_tokens": 150_000, "output_tokens": 1000, "cache_read_tokens": 60_000,
                "cache_write_tokens": 0}
        # 210K of prompt: 150000 x 6 + 1000 x 22.5 + 60000 x 0.6.
        assert book.cost("anthropic", "claude-sonnet-4-5-20250929", long) == (958_500_000, True)
        short = {**long, "cache_read_tokens": 50_000}  # exactly 200K: the usual prices
        assert book.cost("anthropic", "claude-sonnet-4-5", short) == (480_000_000, True)
        gemini = {"input_tokens": 250_000, "output_tokens": 2000, "cache_read_tokens": 0,
                  "cache_write_tokens": 0}
        assert book.cost("gemini", "gemini-2.5-pro", gemini) == (655_000_000, True)
        # OpenAI's tiers, gpt-5-mini: flex $0.125 in, $0.0125 cached, $1 out; priority
        # $0.45, $0.045, $3.60; a tier the catalog does not list: the standard prices.
        call = {"input_tokens": 100_000, "output_tokens": 10_000, "cache_read_tokens": 20_000,
                "cache_write_tokens": 0}
        assert book.cost("openai", "gpt-5-mini-2025-08-07",
                         {**call, "service_tier": "flex"}) == (22_750_000, True)
        assert book.cost("openai", "gpt-5-mini", {**call, "service_tier": "priority"}) == (
            81_900_000, True)
        for tier in ("default", "scale", None):
            assert book.cost("openai", "gpt-5-mini", {**call, "service_tier": tier}) == (
                45_500_000, True)
        assert book.prices_tier("gpt-5-mini", "priority")
        assert not book.prices_tier("gpt-5-nano", "priority")
        assert not book.prices_tier("no-such-model", "flex")
        containers = {**call, "input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0,
                      "tools": {"code_interpreter": 1, "code_interpreter_4g": 2}}
        assert book.cost("openai", "gpt-5-mini", containers) == (270_000_000, True)  # .03+.24
    finally:
        db.close()
        db.initialize(previous)


def test_anthropic_reports_its_one_hour_cache_writes_apart():
    body = {"model": "claude-sonnet-4-5", "usage": {
        "input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 700,
        "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 500}}}
    usage = parse_anthropic_body(body).usage
    assert (usage.cache_write_tokens, usage.cache_write_1h_tokens) == (700, 500)
