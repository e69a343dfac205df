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


def claude(gw) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"{gw.url}/v1/anthropic", api_key=gw.key, max_retries=0)


def refused(client: anthropic.Anthropic, content: str = "x",
            mode: str | None = None) -> anthropic.APIStatusError:
    """The error a one-message call gets (`mode`: the fake upstream's x-fake-mode)."""
    with pytest.raises(anthropic.APIStatusError) as e:
        client.messages.create(model="claude-sonnet-4-6", max_tokens=8,
                               messages=[{"role": "user", "content": content}],
                               extra_headers={"x-fake-mode": mode} if mode else None)
    return e.value


def test_oversized_body_is_413_in_provider_shape(faulty, fake_servers):
    client = claude(faulty)
    e = refused(client, content="x" * 5000)
    assert e.status_code == 413
    assert e.body["error"]["type"] == "request_too_large"
    assert fake_servers["anthropic"].state.requests == []
    # Under the limit, the same client goes through.
    client.messages.create(model="claude-sonnet-4-6", max_tokens=8,
                           messages=[{"role": "user", "content": "x"}])


def test_oversized_chunked_body_is_413_in_provider_shape(faulty, fake_servers):
    """No Content-Length to refuse it by: the limit holds as the body is read."""
    url = f"{faulty.url}/v1/anthropic/v1/messages"
    headers = {"x-api-key": faulty.key, "content-type": "application/json",
               "anthropic-version": "2023-06-01"}

    def chunks(pad: int):
        yield b'{"model": "claude-sonnet-4-6", "max_tokens": 8, '
        yield b'"messages": [{"role": "user", "content": "' + b"x" * pad + b'"}]}'

    r = httpx.post(url, headers=headers, content=chunks(5000))
    assert r.status_code == 413, r.text
    assert r.json()["error"]["type"] == "request_too_large"
    assert fake_servers["anthropic"].state.requests == []
    r = httpx.post(url, headers=headers, content=chunks(10))  # chunked, within the limit
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["output_tokens"] > 0


def test_oversized_upstream_response_is_502_in_provider_shape(faulty, fake_servers):
    e = refused(claude(faulty), mode="text:400")
    assert e.status_code == 502
    err = e.body["error"]
    assert err["type"] == "api_error" and "response" in err["message"]
    assert "413" not in err["message"] and "request body" not in err["message"]
    # The upstream's answer is recorded, as a call that did not complete and is not charged:
    # the customer got none of it.
    rec = faulty.records(faulty.key)[0]
    assert rec.status == 200 and not rec.complete and rec.total_tokens == 0


def test_upstream_cut_mid_body_is_502_in_provider_shape(faulty, fake_servers):
    """A response that is not streamed is sent once read whole: cut short, the client gets a
    clear error, not half a body, and is not charged."""
    client = claude(faulty)
    e = refused(client, mode="cut-body")
    assert e.status_code == 502
    assert e.body["error"]["type"] == "api_error"
    rec = faulty.records(faulty.key)[0]
    assert rec.status == 200 and not rec.complete and rec.total_tokens == 0
    client.messages.create(model="claude-sonnet-4-6", max_tokens=8,
                           messages=[{"role": "user", "content": "x"}])  # and then it works


class Blackhole:
    """Accepts connections and reads requests, never answers."""

    def __init__(self) -> None:
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def slow_upstreams(make_gateway):
    """Anthropic's upstream never answers; connecting to Gemini's hangs (its accept queue is
    full); OpenAI is the ordinary fake. Both timeouts are one second."""
    hole = Blackhole()
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    filler = socket.create_connection(full.getsockname())  # fills the queue: the next SYN hangs
    gw = make_gateway(UPSTREAM_ANTHROPIC_URL=hole.url,
                      UPSTREAM_GEMINI_URL=f"http://127.0.0.1:{full.getsockname()[1]}",
                      UPSTREAM_CONNECT_TIMEOUT="1", UPSTREAM_READ_TIMEOUT="1")
    gw.admin("create-user", "slow@example.com", "--plan", "Growth")
    gw.start()
    gw.key = gw.create_key("slow@example.com")
    yield gw
    gw.stop()
    hole.close()
    filler.close()
    full.close()


def test_read_timeout_is_504_in_provider_shape(slow_upstreams):
    import time

    started = time.monotonic()
    r = httpx.post(f"{slow_upstreams.url}/v1/anthropic/v1/messages", timeout=30,
                   headers={"x-api-key": slow_upstreams.key},
                   json={"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": []})
    assert r.status_code == 504 and r.json()["error"]["type"] == "timeout_error"
    assert 1 <= time.monotonic() - started < 5


def test_connect_timeout_is_504_in_provider_shape(slow_upstreams):
    import time

    started = time.monotonic()
    r = httpx.post(f"{slow_upstreams.url}/v1/gemini/v1beta/models/gemini-2.5-flash:"
                   "generateContent", timeout=30, headers={"x-goog-api-key": slow_upstreams.key},
                   json={"contents": []})
    assert r.status_code == 504 and r.json()["error"]["status"] == "DEADLINE_EXCEEDED"
    assert 1 <= time.monotonic() - started < 5


def test_long_stream_stays_alive_while_bytes_flow(slow_upstreams):
    """Events 0.4 s apart for about 4 s in all, under a 1 s idle timeout: never cut."""
    client = openai.OpenAI(base_url=f"{slow_upstreams.url}/v1/openai", api_key=slow_upstreams.key,
                           max_retries=0)
    chunks = list(client.chat.completions.create(
        model="gpt-4o-mini", messages=[], stream=True,
        extra_headers={"x-fake-mode": "slow:400"}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == \
        "Hello! How can I help you today?"
