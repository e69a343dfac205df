"""The chain's members after routing, as units with mitmproxy's test flows: metering's
settlement, the quota's reservation and settlement, error responses, timeouts, the access log
and the chain's error policy. The end-to-end tests run the same members in the real process."""

from __future__ import annotations

import asyncio
import json

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow, tutils

from addons.call import CALL, Call, Customer, PlanInfo
from addons.members.accesslog import AccessLog
from addons.members.errors import ErrorResponses
from addons.members.limits import Limits
from addons.members.metering import Metering
from addons.members.send import Send
from addons.members.timeouts import Timeouts
from addons.providers import configured
from addons.runtime.chain import Chain
from addons.services.inflight import InFlight
from addons.services.limiter import Limiter

PROVIDERS = configured({})
OPENAI, ANTHROPIC = PROVIDERS["openai"], PROVIDERS["anthropic"]
CUSTOMER = Customer(1, "c@example.com", 7, "gw-AAAAAAAA",
                    PlanInfo("Explorer", 20, 100_000, frozenset()))


class Records:
    """Stands for the usage writer: what metering hands it."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def submit(self, row: dict) -> None:
        self.rows.append(row)


class Lines:
    def __init__(self) -> None:
        self.lines: list[dict] = []

    def write(self, line: str) -> None:
        self.lines.append(json.loads(line))


def chat_flow(body: dict, provider=OPENAI, path="chat/completions"):
    raw = json.dumps(body).encode()
    f = tflow.tflow(req=tutils.treq(path=b"/v1/" + path.encode(), method=b"POST", content=raw))
    ep = provider.find_endpoint("POST", path)
    call = Call(provider, ep, path, "req_test", customer=CUSTOMER, body=dict(body),
                model=body.get("model"), input_estimate=10)
    f.metadata[CALL] = call
    return f, call


CLIENT_DISCONNECTED = "Client disconnected."  # mitmproxy's error when the client hangs up


def answer(f, status=200, usage=None, content_type="application/json") -> None:
    body = {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                         "finish_reason": "stop"}]}
    if usage:
        body["usage"] = usage
    f.response = tutils.tresp(status_code=status, content=json.dumps(body).encode(),
                              headers=http.Headers(content_type=content_type))


@pytest.fixture
def parts():
    inflight, writer, limiter = InFlight(), Records(), Limiter()
    members = {"metering": Metering(writer, inflight), "limits": Limits(limiter, 4096),
               "send": Send(inflight), "log": Lines()}
    members["access"] = AccessLog(members["log"])
    chain = Chain(members["metering"], members["limits"], members["send"], ErrorResponses(),
                  members["access"])
    with taddons.context():
        yield chain, members, inflight, writer, limiter


def go(chain, f, *hooks):
    for hook in hooks:
        assert chain.hooks[hook](f) is None


def test_a_call_is_settled_once_and_its_reservation_replaced_by_what_it_used(parts):
    chain, m, inflight, writer, limiter = parts
    f, call = chat_flow({"model": "gpt-4o-mini", "messages": [], "max_tokens": 50})
    go(chain, f, "request")
    assert call in inflight and call.reserved == 10 + 50
    assert limiter.standing(CUSTOMER).remaining_tokens == 100_000 - 60
    answer(f, usage={"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15})
    go(chain, f, "responseheaders", "response")
    go(chain, f, "error")  # a late error changes nothing: settled once
    assert call not in inflight and call.reserved == 0 and not m["limits"].held
    assert call.usage.usage.total_tokens == 15 and call.usage.complete
    assert [(r["input_tokens"], r["output_tokens"], r["status"]) for r in writer.rows] == [
        (12, 3, 200)]
    assert limiter.standing(CUSTOMER).remaining_tokens == 100_000 - 15
    (line,) = m["log"].lines
    assert (line["total_tokens"], line["complete"], line["status"]) == (15, True, 200)


def test_an_upstream_refusal_is_recorded_and_charges_nothing(parts):
    chain, m, inflight, writer, limiter = parts
    f, call = chat_flow({"model": "gpt-4o-mini", "messages": []})
    go(chain, f, "request")
    assert call.reserved == 10 + 4096  # no cap asked for: the default cap, written in
    assert json.loads(f.request.content)["max_completion_tokens"] == 4096
    answer(f, status=429, usage={"prompt_tokens": 12, "completion_tokens": 3})
    go(chain, f, "responseheaders", "response")
    assert [(r["total_tokens"], r["status"]) for r in writer.rows] == [(0, 429)]
    assert limiter.standing(CUSTOMER).remaining_tokens == 100_000


def test_a_call_refused_before_it_went_holds_nothing_and_is_not_recorded(parts):
    chain, m, inflight, writer, limiter = parts
    f, call = chat_flow({"model": "gpt-4o-mini", "messages": [], "max_tokens": 5})
    go(chain, f, "request")
    assert call.reserved
    # As when the client hangs up before the request left: mitmproxy reports an error.
    inflight.remove(call)
    f.error = tflow.terr(CLIENT_DISCONNECTED)
    go(chain, f, "error")
    assert writer.rows == [] and call.reserved == 0
    assert limiter.standing(CUSTOMER).remaining_tokens == 100_000


@pytest.mark.parametrize("how, head, charged", [
    (CLIENT_DISCONNECTED, False, True),  # hung up while the provider generated
    ("read timed out", False, True),  # the upstream quiet past the read timeout
    (CLIENT_DISCONNECTED, True, True),  # hung up while the answer's body came
    ("peer closed connection", True, False),  # the provider cut its own answer: an error
])
def test_a_buffered_answer_lost_on_this_side_is_charged_what_was_reserved(parts, how, head,
                                                                         charged):
    """After the request reached the provider, a non-streamed answer runs to its end upstream
    and the provider bills for it."""
    chain, m, inflight, writer, limiter = parts
    f, call = chat_flow({"model": "gpt-4o-mini", "messages": [], "max_tokens": 3000})
    go(chain, f, "request")
    assert call.reserved == 10 + 3000
    if head:
        answer(f, usage=None)
        go(chain, f, "responseheaders")
    f.error = tflow.terr(how)
    go(chain, f, "error")
    (row,) = writer.rows
    if charged:
        assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == \
            (10, 3000, 3010)
        assert row["estimated"] and not row["complete"]
    else:
        assert row["total_tokens"] == 0 and not row["estimated"]
    assert limiter.standing(CUSTOMER).remaining_tokens == 100_000 - row["total_tokens"]


def test_the_quota_refuses_in_the_providers_shape_and_reserves_nothing(parts):
    chain, m, inflight, writer, limiter = parts
    limiter.settle(CUSTOMER, 0, 100_000 - 500)
    f, call = chat_flow({"model": "claude-haiku-4-5", "max_tokens": 3000, "messages": [],
                         "thinking": {"type": "enabled", "budget_tokens": 2000}},
                        provider=ANTHROPIC, path="messages")
    go(chain, f, "request")
    body = json.loads(f.response.content)
    assert f.response.status_code == 429 and f.response.headers["x-should-retry"] == "false"
    assert body["type"] == "error" and "Monthly token quota exhausted" in body["error"]["message"]
    assert call not in inflight and call.reserved == 0 and not m["limits"].held


def test_a_rate_limit_refusal_releases_the_reservation(parts):
    chain, m, inflight, writer, limiter = parts
    for _ in range(CUSTOMER.plan.requests_per_minute):
        assert limiter.admit_request(CUSTOMER).ok
    f, call = chat_flow({"model": "gpt-4o-mini", "messages": [], "max_tokens": 7})
    go(chain, f, "request")
    assert f.response.status_code == 429 and "retry-after" in f.response.headers
    assert call.reserved == 0 and limiter.standing(CUSTOMER).remaining_tokens == 100_000


def test_a_stream_cut_after_its_last_event_counts_as_complete(parts):
    chain, m, inflight, writer, limiter = parts
    f, call = chat_flow({"model": "gpt-4o-mini", "messages": [], "stream": True,
                         "max_tokens": 20})
    go(chain, f, "request")
    assert json.loads(f.request.content)["stream_options"] == {"include_usage": True}
    f.response = tutils.tresp(content=b"", headers=http.Headers(
        content_type="text/event-stream"))
    go(chain, f, "responseheaders")
    tap = f.response.stream
    events = [{"choices": [{"index": 0, "delta": {"content": "Hello"}}]},
              {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2,
                                        "total_tokens": 11}}]
    sent = b"".join(tap(b"data: %s\n\n" % json.dumps(e).encode()) or b"" for e in events)
    sent += tap(b"data: [DONE]\n\n") or b""
    assert b"Hello" in sent and b"usage" not in sent  # the usage chunk the client never asked for
    f.error = tflow.terr(CLIENT_DISCONNECTED)  # the SDK hung up after [DONE]
    go(chain, f, "error")
    assert [(r["total_tokens"], r["complete"], r["streamed"]) for r in writer.rows] == [
        (11, True, True)]
    assert limiter.standing(CUSTOMER).remaining_tokens == 100_000 - 11


@pytest.mark.parametrize("model, extra, hidden", [
    ("gpt-5-mini", {}, True), ("o4-mini", {}, True), ("gpt-4o-mini", {}, False),
    ("gpt-4o-mini", {"reasoning_effort": "low"}, True),
    ("gpt-5-mini", {"reasoning_effort": "none"}, False), ("gpt-5-chat-latest", {}, False)])
def test_a_stream_cut_before_its_usage_is_charged_what_was_reserved_if_it_reasoned_unseen(
        parts, model, extra, hidden):
    """OpenAI's reasoning is not in the stream: a cut stream's text says nothing of it (the
    audit: 8 charged for 1,800 reported)."""
    chain, m, inflight, writer, limiter = parts
    f, call = chat_flow({"model": model, "messages": [], "stream": True, "max_tokens": 2000,
                         **extra})
    go(chain, f, "request")
    f.response = tutils.tresp(content=b"", headers=http.Headers(
        content_type="text/event-stream"))
    go(chain, f, "responseheaders")
    f.response.stream(b'data: {"choices": [{"index": 0, "delta": {"content": "Hi there"}}]}\n\n')
    f.error = tflow.terr(CLIENT_DISCONNECTED)
    go(chain, f, "error")
    (row,) = writer.rows
    assert row["estimated"] and not row["complete"]
    assert (row["total_tokens"] == 10 + 2000) == hidden
    assert row["total_tokens"] >= 10 + 2  # never below the prompt and the text seen


def test_an_unreachable_upstream_gets_the_providers_error_not_mitmproxys_page(parts):
    chain, m, inflight, writer, limiter = parts
    f, call = chat_flow({"model": "claude-haiku-4-5", "max_tokens": 5, "messages": []},
                        provider=ANTHROPIC, path="messages")
    go(chain, f, "request")
    f.server_conn.timestamp_tcp_setup = None  # never connected: nothing reached the provider
    f.error = tflow.terr("Connection refused")
    go(chain, f, "error")
    assert [(r["total_tokens"], r["estimated"]) for r in writer.rows] == [(0, False)]
    r = call.error_response
    assert r.status_code == 502 and r.headers["x-request-id"] == "req_test"
    assert json.loads(r.content)["error"]["type"] == "api_error"
    assert r.headers["connection"] == "close"  # HTTP/1: the client may have more body coming
    assert [(w["status"], w["total_tokens"]) for w in writer.rows] == [(0, 0)]
    assert m["log"].lines[0]["error"] == "Connection refused"


def test_a_timed_out_call_gets_504_and_a_started_stream_gets_nothing(parts):
    chain, m, inflight, writer, limiter = parts
    f, call = chat_flow({"model": "gpt-4o-mini", "messages": [], "max_tokens": 5})
    go(chain, f, "request")
    call.timed_out = True
    f.error = tflow.terr("cancelled")
    go(chain, f, "error")
    assert call.error_response.status_code == 504
    error = json.loads(call.error_response.content)["error"]
    assert "did not answer in time" in error["message"] and error["type"] == "server_error"
    g, streaming = chat_flow({"model": "gpt-4o-mini", "messages": [], "stream": True})
    go(chain, g, "request")
    g.response = tutils.tresp(content=b"", headers=http.Headers(content_type="text/event-stream"))
    go(chain, g, "responseheaders")
    g.error = tflow.terr("Connection reset")
    go(chain, g, "error")
    assert streaming.error_response is None  # the client has the stream's start: it just ends


def test_the_access_log_writes_one_line_per_call_without_secrets(parts):
    chain, m, inflight, writer, limiter = parts
    f, call = chat_flow({"model": "gpt-4o-mini", "messages": []})
    go(chain, f, "request")
    answer(f, usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
    go(chain, f, "responseheaders", "response", "error")
    (line,) = m["log"].lines
    assert line["key"] == "gw-AAAAAAAA" and line["customer"] == "c@example.com"
    assert (line["provider"], line["endpoint"], line["model"]) == (
        "openai", "chat.completions", "gpt-4o-mini")
    assert set(line) == {"ts", "request_id", "customer", "key", "provider", "endpoint", "model",
                         "method", "status", "streamed", "input_tokens", "output_tokens",
                         "total_tokens", "complete", "latency_ms", "error"}


async def test_timeouts_cancel_an_idle_upstream_and_leave_a_busy_one():
    inflight = InFlight()
    timeouts = Timeouts(inflight, connect_timeout=5, read_timeout=30)
    f, call = chat_flow({"model": "gpt-4o-mini", "messages": []})
    f.server_conn.timestamp_tcp_setup = 1.0
    task = asyncio.get_running_loop().create_task(asyncio.sleep(60))
    timeouts._tasks[f.server_conn.id] = task
    inflight.add(f, call)
    timeouts.expire_idle(call.last_activity + 29)  # quiet, but not for long enough
    await asyncio.sleep(0)
    assert not task.cancelled() and not call.timed_out
    timeouts.expire_idle(call.last_activity + 31)
    await asyncio.sleep(0)
    assert task.cancelled() and call.timed_out


class Broken:
    PHASE = "admit"

    def __init__(self, hook: str) -> None:
        setattr(self, hook, self._raise)

    def _raise(self, flow):
        raise RuntimeError("a check broke")


class Counts:
    PHASE = "answer"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def request(self, flow) -> None:
        self.seen.append("request")

    def response(self, flow) -> None:
        self.seen.append("response")


def test_before_upstream_a_broken_member_refuses_the_request(caplog):
    inflight = InFlight()
    f, call = chat_flow({"model": "claude-haiku-4-5", "max_tokens": 5, "messages": []},
                        provider=ANTHROPIC, path="messages")
    with taddons.context():
        Chain(Broken("request"), Send(inflight)).hooks["request"](f)
    assert f.response.status_code == 502 and call not in inflight  # never sent
    assert json.loads(f.response.content)["type"] == "error"  # Anthropic's shape
    assert "Broken._raise failed; refusing the request" in caplog.text


def test_after_upstream_a_broken_member_is_logged_and_the_others_go_on(caplog):
    counts = Counts()
    f, _ = chat_flow({"model": "gpt-4o-mini", "messages": []})
    answer(f)
    with taddons.context():
        Chain(Broken("response"), counts).hooks["response"](f)
    assert f.response.status_code == 200 and counts.seen == ["response"]
    assert "Broken._raise failed" in caplog.text and "refusing" not in caplog.text
