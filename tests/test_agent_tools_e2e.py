"""The agent tools on the unified Responses API, unchanged but for their base URL and key:
OpenAI's Agents SDK (Python) and the Codex CLI, each with a Claude, a Gemini and a GPT model.
A two-turn tool conversation with thinking on, a stream, structured output, an image and an
error; the usage recorded is the fake's, to the token."""

from __future__ import annotations

import base64
import json
import os
import struct
import subprocess
import zlib
from pathlib import Path

import openai
import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai.types.shared import Reasoning
from pydantic import BaseModel

from tests.conftest import customer, raw_plan
from tests.fakes import words

set_tracing_disabled(True)  # traces would go to OpenAI's own servers

CODEX = Path(__file__).parent / "node" / "node_modules" / ".bin" / "codex"
MODELS = {"anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash",
          "openai": "gpt-5-mini"}
USAGE = "in=40,cache_read=7,out=21,reasoning=6"  # what each fake reports, in its own shape


def png(width: int = 4, height: int = 4) -> bytes:
    """A real PNG, grey (Codex decodes an image before it sends it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = base64.b64encode(png()).decode()
HELLO = "".join(words(9))


@pytest.fixture
def key(gateway):
    return customer(gateway, raw_plan(gateway, "Growth"))


def model(gateway, key, provider: str) -> OpenAIResponsesModel:
    c = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    return OpenAIResponsesModel(model=MODELS[provider], openai_client=c)


def settings(provider: str, **kw) -> ModelSettings:
    return ModelSettings(reasoning=Reasoning(effort="low"),
                         extra_headers={"x-fake-usage": USAGE}, **kw)


def bodies(fake) -> list[dict]:
    return [json.loads(r["body"]) for r in fake.state.requests]


def assert_metered(gateway, key, provider: str, calls: int) -> None:
    """Each call recorded once, as the unified API's, with the fake's own counts."""
    rows = gateway.records(key, calls)
    assert [(r.provider, r.api, r.input_tokens, r.cache_read_tokens, r.output_tokens,
             r.reasoning_tokens) for r in rows] == [(provider, "unified", 40, 7, 21, 6)] * calls


def tool_result_sent(provider: str, body: dict) -> str:
    """The text of the tool result the client sent back, in the provider's own request."""
    if provider == "anthropic":
        (block, *_) = [b for b in body["messages"][-1]["content"] if b["type"] == "tool_result"]
        return json.dumps(block["content"])
    if provider == "gemini":
        parts = [p for p in body["contents"][-1]["parts"] if "functionResponse" in p]
        return json.dumps(parts[0]["functionResponse"]["response"])
    (item,) = [i for i in body["input"] if i.get("type") == "function_call_output"][:1]
    return json.dumps(item["output"])


def thinking_sent_back(provider: str, body: dict) -> bool:
    """Whether the assistant's tool turn went back with what its thinking signed."""
    if provider == "anthropic":
        turn = [m for m in body["messages"] if m["role"] == "assistant"][-1]
        return turn["content"][0]["type"] == "thinking" and bool(turn["content"][0]["signature"])
    if provider == "gemini":
        turn = [c for c in body["contents"] if c["role"] == "model"][-1]
        calls = [p for p in turn["parts"] if "functionCall" in p]
        return bool(calls[0].get("thoughtSignature"))  # Gemini signs a turn's first call
    return True  # OpenAI keeps its own reasoning: nothing to carry


@pytest.mark.parametrize("provider", MODELS)
def test_agents_sdk_runs_a_tool_conversation_with_thinking(gateway, fake_servers, key,
                                                           provider):
    asked = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        asked.append(city)
        return f"Sunny in {city}"

    agent = Agent(name="weather", instructions="Be brief.", tools=[get_weather],
                  model=model(gateway, key, provider), model_settings=settings(provider))
    result = Runner.run_sync(agent, "What is the weather in Paris?")
    assert result.final_output == HELLO and asked == ["Paris", "Rome"]
    first, second = bodies(fake_servers[provider])
    assert "Sunny in Paris" in tool_result_sent(provider, second)
    assert thinking_sent_back(provider, second)
    assert_metered(gateway, key, provider, 2)


@pytest.mark.parametrize("provider", MODELS)
def test_agents_sdk_streams_text_as_it_comes(gateway, fake_servers, key, provider):
    from openai.types.responses import ResponseTextDeltaEvent

    agent = Agent(name="greeter", instructions="Be brief.", model=model(gateway, key, provider),
                  model_settings=settings(provider))

    async def run():
        result = Runner.run_streamed(agent, "Hi")
        deltas = [e.data.delta async for e in result.stream_events()
                  if e.type == "raw_response_event" and isinstance(e.data, ResponseTextDeltaEvent)]
        return deltas, result

    import asyncio
    deltas, result = asyncio.run(run())
    assert len(deltas) > 2 and "".join(deltas) == result.final_output == HELLO
    usage = result.context_wrapper.usage  # OpenAI's counting: cached reads in the input
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (1, 47, 21)
    assert usage.input_tokens_details.cached_tokens == 7
    assert_metered(gateway, key, provider, 1)


class Weather(BaseModel):
    city: str
    celsius: int


@pytest.mark.parametrize("provider", MODELS)
def test_agents_sdk_structured_output_and_an_image(gateway, fake_servers, key, provider):
    agent = Agent(name="reader", instructions="Read the chart.", output_type=Weather,
                  model=model(gateway, key, provider), model_settings=settings(provider))
    result = Runner.run_sync(agent, [{"role": "user", "content": [
        {"type": "input_text", "text": "The weather on this chart?"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"}]}])
    assert result.final_output == Weather(city="Paris", celsius=18)
    (body,) = bodies(fake_servers[provider])
    if provider == "anthropic":
        assert body["output_config"]["format"]["schema"]["required"] == ["city", "celsius"]
        assert body["messages"][0]["content"][1]["source"]["data"] == PNG
    elif provider == "gemini":
        gen = body["generationConfig"]
        assert gen["responseMimeType"] == "application/json"
        assert gen["responseJsonSchema"]["required"] == ["city", "celsius"]
        assert body["contents"][0]["parts"][1]["inlineData"]["data"] == PNG
    else:
        assert body["text"]["format"]["schema"]["required"] == ["city", "celsius"]
    assert_metered(gateway, key, provider, 1)


@pytest.mark.parametrize("provider", MODELS)
def test_agents_sdk_sees_the_providers_rate_limit_as_openais(gateway, fake_servers, key,
                                                             provider):
    agent = Agent(name="greeter", model=model(gateway, key, provider),
                  model_settings=ModelSettings(
                      extra_headers={"x-fake-mode": "fail:429:1:retry-after=7"}))
    with pytest.raises(openai.RateLimitError) as e:
        Runner.run_sync(agent, "Hi")
    assert e.value.status_code == 429 and e.value.response.headers["retry-after"] == "7"
    assert e.value.body["type"] == "requests"  # OpenAI's own type for a rate limit
    assert e.value.code == (None if provider == "openai" else "rate_limit_exceeded")
    (row,) = gateway.records(key)  # recorded for the operator, nothing charged
    assert (row.status, row.total_tokens, row.charge_nanousd, row.api) == (429, 0, 0, "unified")


def codex(gateway, key, provider: str, cwd: Path, prompt: str, *config: str,
          options: bool = False):
    """`codex exec` with the gateway as its model provider (the Responses API, the key from
    the environment, as Codex's own docs set a provider up)."""
    home = cwd / ".codex"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(
        f'model = "{MODELS[provider]}"\nmodel_provider = "gateway"\n'
        # Web search is OpenAI's hosted tool: refused for other providers' models.
        + ('web_search = "disabled"\n' if provider != "openai" else "")
        + "[model_providers.gateway]\n"
        f'name = "llm-gateway"\nbase_url = "{gateway.url}/v1"\nenv_key = "GATEWAY_KEY"\n'
        f'wire_api = "responses"\nhttp_headers = {{ "x-fake-usage" = "{USAGE}" }}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "CODEX"))}
    env.update(CODEX_HOME=str(home), GATEWAY_KEY=key, NO_COLOR="1")
    args = [str(CODEX), "exec", "--skip-git-repo-check", "--sandbox", "read-only"]
    args += list(config) if options else [a for c in config for a in ("-c", c)]
    return subprocess.run([*args, "--", prompt], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def _codex_installed(request):
    if "codex" in request.node.name and not CODEX.exists():
        pytest.fail("tests/node/node_modules is missing: ./test.sh installs it (npm ci)")


@pytest.mark.parametrize("provider", MODELS)
def test_codex_runs_a_command_and_answers(gateway, fake_servers, key, provider, tmp_path):
    """Codex offers its tools (functions, and a namespace of them); the model asks for a
    command (the fake's: its `cmd` is a city), Codex runs it in its sandbox and sends the
    output back with the signed thinking, and prints the answer."""
    done = codex(gateway, key, provider, tmp_path, "What is the weather in Paris?",
                 'model_reasoning_effort="low"')
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith(HELLO)
    first, second = bodies(fake_servers[provider])
    assert "command not found" in tool_result_sent(provider, second)
    assert thinking_sent_back(provider, second)
    assert_metered(gateway, key, provider, 2)


@pytest.mark.parametrize("provider", MODELS)
def test_codex_answers_in_a_schema_about_an_image(gateway, fake_servers, key, provider,
                                                  tmp_path):
    """`--output-schema` (the provider's native structured output) and `-i` (the image,
    inline): the image goes in the first request, the final answer fits the schema."""
    (tmp_path / ".codex").mkdir()
    schema = Weather.model_json_schema() | {"additionalProperties": False}
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    (tmp_path / "chart.png").write_bytes(base64.b64decode(PNG))
    done = codex(gateway, key, provider, tmp_path, "The weather on this chart?",
                 "--output-schema", str(tmp_path / "schema.json"),
                 "-i", str(tmp_path / "chart.png"), options=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"city": "Paris", "celsius": 18}
    sent = bodies(fake_servers[provider])
    first, last = sent[0], sent[-1]
    if provider == "anthropic":
        assert last["output_config"]["format"]["schema"]["required"] == ["city", "celsius"]
        assert any(b["type"] == "image" and b["source"]["media_type"] == "image/png"
                   for m in first["messages"] for b in m["content"])
    elif provider == "gemini":
        assert last["generationConfig"]["responseJsonSchema"]["required"] == ["city",
                                                                              "celsius"]
        assert any(p.get("inlineData", {}).get("mimeType") == "image/png"
                   for c in first["contents"] for p in c["parts"])
    else:
        assert last["text"]["format"]["schema"]["required"] == ["city", "celsius"]
        assert any(p.get("type") == "input_image" for i in first["input"]
                   for p in i.get("content") or [] if isinstance(p, dict))
    assert_metered(gateway, key, provider, len(sent))


def test_codex_tells_what_a_claude_model_cannot_take(gateway, fake_servers, key, tmp_path):
    """Codex's default hosted web search, on a Claude model: OpenAI's 400 naming the tool,
    nothing sent upstream, nothing charged."""
    (tmp_path / ".codex").mkdir()
    done = codex(gateway, key, "anthropic", tmp_path, "Hi", 'web_search="cached"')
    assert done.returncode != 0
    assert "web_search" in done.stderr and "not available for this model" in done.stderr
    assert fake_servers["anthropic"].state.requests == []
