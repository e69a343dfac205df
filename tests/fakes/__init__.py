"""Fake Anthropic, OpenAI and Gemini upstreams (a module each), faithful to the providers'
documented wire formats.

One threaded HTTP/1.1 server per provider. Responses use the reference's exact shapes and
framing (Anthropic SSE with padded JSON and pings, OpenAI data-only SSE with [DONE] and the
include_usage chunk, Responses named events, Gemini CRLF SSE and the pretty-printed JSON array),
and streams are written in 97-byte chunks on purpose so events split across reads.

Every request is recorded (method, path, headers, body). Behaviour is chosen per request with
headers the gateway passes through untouched:
  x-fake-usage: in=25,out=7,cache_read=3,cache_write=2,reasoning=1   token figures to report
  x-fake-mode:  fail:STATUS:N   fail the first N requests with this mode, then succeed
                cut:N           close the connection after N stream events (upstream cut)
                error-event     an error event mid-stream (status already 200)
                hold            stop before the last events until `release()` (streaming proof)
                slow:MS         wait MS milliseconds between stream events
                linger:MS       after the last stream event, wait MS before ending the body
                text:N          generate N words of text
                cut-body        a JSON answer: half its body, then hang up
                slow-body       a JSON answer: half its body, the rest 1.5 s later
                think:MS        take MS milliseconds before answering (a long generation:
                                it runs to its end and is reported, though the client left)
  x-fake-searches: N   searches a server-side search tool makes, when the request enables one
                       (Anthropic web_search, OpenAI Responses web_search, Gemini google_search)
A provider never generates past the request's output cap (times `n` / `candidateCount`): the
reported output is clamped to it. OpenAI stores each response under a fresh id (GET, DELETE,
cancel, `previous_response_id` and background mode work on the store).
"""

from __future__ import annotations

import threading

from .anthropic import FakeAnthropic
from .base import FakeServer, FakeState, Handler, parse_usage, words
from .gemini import FakeGemini
from .openai import FakeOpenAI, served_tier

__all__ = ["DEMO_PORTS", "DEMO_SECRETS", "FakeAnthropic", "FakeGemini", "FakeOpenAI",
           "FakeServer", "FakeState", "Handler", "parse_usage", "serve_demo", "served_tier",
           "start_all", "words"]


def start_all(secrets: dict[str, str], host: str = "127.0.0.1") -> dict[str, FakeServer]:
    return {
        "anthropic": FakeAnthropic(secrets["anthropic"], host).start(),
        "openai": FakeOpenAI(secrets["openai"], host).start(),
        "gemini": FakeGemini(secrets["gemini"], host).start(),
    }


# The demo (`./start.sh --demo`): the three fakes on fixed loopback ports, keeping no record
# of what they answer, until stopped.
DEMO_SECRETS = {"anthropic": "demo-anthropic-key", "openai": "demo-openai-key",
                "gemini": "demo-gemini-key"}
DEMO_PORTS = {"anthropic": 18481, "openai": 18482, "gemini": 18483}


def serve_demo() -> None:
    classes = {"anthropic": FakeAnthropic, "openai": FakeOpenAI, "gemini": FakeGemini}
    servers = [classes[name](DEMO_SECRETS[name], "127.0.0.1", port).start()
               for name, port in DEMO_PORTS.items()]
    for server in servers:
        server.state.requests = _Forgetful()
    threading.Event().wait()


class _Forgetful(list):
    def append(self, item) -> None:  # a demo runs for days: nothing is kept
        pass
