"""`./start.sh` as a new operator runs it: `--demo` with no provider key at all, a warning for
a provider without one, and the admin CLI finding the running gateway's database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import ROOT, free_port


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "ANTHROPIC_", "GEMINI_", "UPSTREAM_", "DATABASE_"))}
    return env | extra


def start(env: dict, port: int, *args: str) -> subprocess.Popen:
    """./start.sh in a session of its own, once it answers /healthz."""
    proc = subprocess.Popen(["./start.sh", "--port", str(port), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120  # a first run installs the runtime's requirements
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError(f"./start.sh did not answer /healthz: {proc.communicate()[0][-2000:]}")


def test_the_demo_starts_with_no_provider_key_and_answers_through_fake_providers(tmp_path):
    env = clean_env(DATA_DIR=str(tmp_path / "demo"))
    port = free_port()
    proc = start(env, port, "--demo")
    try:
        # The CLI finds the demo's database through DATA_DIR, as the README says.
        key = subprocess.run([sys.executable, "-m", "admin", "create-key", "demo@startup.ai"],
                             cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True).stdout.strip()
        for url, headers, body in [
            ("/v1/openai/chat/completions", {"authorization": f"Bearer {key}"},
             {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}),
            ("/v1/anthropic/v1/messages", {"x-api-key": key, "anthropic-version": "2023-06-01"},
             {"model": "claude-haiku-4-5", "max_tokens": 20,
              "messages": [{"role": "user", "content": "Hello"}]}),
            ("/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
             {"x-goog-api-key": key}, {"contents": [{"parts": [{"text": "Hello"}]}]}),
        ]:
            r = httpx.post(f"http://127.0.0.1:{port}{url}", json=body, headers=headers)
            assert r.status_code == 200, r.text
        usage = subprocess.run([sys.executable, "-m", "admin", "usage", "demo@startup.ai"],
                               cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        assert '"requests": 3' in usage.stdout
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert "demo: fake providers" in out and "warning" not in out


def test_a_provider_without_a_key_is_warned_about_at_start(tmp_path):
    env = clean_env(DATA_DIR=str(tmp_path), OPENAI_API_KEY="sk-x", GEMINI_API_KEY="g-x")
    proc = start(env, free_port())
    os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert "warning: ANTHROPIC_API_KEY is not set" in out
    assert "OPENAI_API_KEY is not set" not in out


def test_a_provider_without_a_key_is_not_served(make_gateway, fake_servers):
    """No GEMINI_API_KEY: its routes, native and unified, answer 503 in the caller's shape
    (not the provider's 401, which would read as the customer's key being wrong), nothing
    reaches its upstream, its models are not listed; the others are served as ever."""
    import anthropic
    import openai
    from google import genai
    from google.genai import errors as genai_errors

    from tests.conftest import new_customer

    gw = make_gateway(GEMINI_API_KEY="").start()
    key = gw.create_key(new_customer(gw, "Growth"))
    assert "gemini has no key (GEMINI_API_KEY)" in gw.log_path.read_text()
    client = genai.Client(api_key=key, http_options={"base_url": f"{gw.url}/v1/gemini"})
    with pytest.raises(genai_errors.ServerError) as e:
        client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert e.value.code == 503 and "not configured on this gateway" in e.value.message
    oai = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.InternalServerError) as e:
        oai.chat.completions.create(model="gemini-2.5-flash",
                                    messages=[{"role": "user", "content": "Hi"}])
    assert e.value.status_code == 503 and "gemini is not configured" in e.value.message
    compat = httpx.post(f"{gw.url}/v1/gemini/v1beta/openai/chat/completions", timeout=10,
                        headers={"authorization": f"Bearer {key}"},
                        json={"model": "gemini-2.5-flash", "messages": []})
    assert compat.status_code == 503
    assert fake_servers["gemini"].state.requests == []
    listed = {m.id for m in oai.models.list()}
    assert "claude-sonnet-4-5" in listed and not any(m.startswith("gemini") for m in listed)
    ant = anthropic.Anthropic(base_url=f"{gw.url}/v1/anthropic", api_key=key, max_retries=0)
    assert ant.messages.create(model="claude-sonnet-4-5", max_tokens=10,
                               messages=[{"role": "user", "content": "Hi"}]).content
    assert oai.chat.completions.create(model="claude-sonnet-4-5", messages=[
        {"role": "user", "content": "Hi"}]).choices[0].message.content
