"""The lean master: core addons as mitmproxy runs them, the chain called once per event."""

from __future__ import annotations

import asyncio

import pytest
from mitmproxy import connection, options
from mitmproxy.proxy import commands, events, layer
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers.http import HttpRequestHook
from mitmproxy.test import tflow

from addons.chain import Chain
from addons.lean import (
    BodySizeCheck,
    EventQueue,
    _quick_check,
    lean_master,
    run,
    slim_layers,
)


class Recorder:
    def __init__(self, calls: list, name: str, fail: bool = False) -> None:
        self.calls, self.name, self.fail = calls, name, fail

    def request(self, flow) -> None:
        self.calls.append((self.name, flow.id))
        if self.fail:
            raise RuntimeError("boom")

    def running(self) -> None:
        self.calls.append((self.name, "running"))


class Upstream:
    """Stands for mitmproxy's own addons: they see each event before the chain."""

    def __init__(self, calls: list) -> None:
        self.calls = calls

    def request(self, flow) -> None:
        self.calls.append(("core", flow.id))


class Watcher:
    """An addon added after the master started: async hooks, an error, an `update` listener."""

    def __init__(self, calls: list, fail: bool = False) -> None:
        self.calls, self.fail = calls, fail

    async def request(self, flow) -> None:
        self.calls.append(("watcher", flow.id))
        if self.fail:
            raise ValueError("watcher broke")

    def update(self, flows) -> None:
        self.calls.append(("update", flows[0].id))


async def test_core_addons_added_later_are_dispatched_and_their_errors_logged(caplog):
    calls: list = []
    m = lean_master(options.Options(), Chain(Recorder(calls, "chain")))
    f = tflow.tflow()
    await m.addons.handle_lifecycle(HttpRequestHook(f))
    assert calls == [("chain", f.id)]  # nobody listens for `update`: none is sent
    m.addons.add(Watcher(calls, fail=True), Upstream(calls))  # the dispatch cache is redone
    calls.clear()
    await m.addons.handle_lifecycle(HttpRequestHook(f))
    # The failing addon is logged, the next one and the chain still run, then `update` is sent.
    assert calls == [("watcher", f.id), ("core", f.id), ("chain", f.id), ("update", f.id)]
    assert "Addon error: watcher broke" in caplog.text


async def test_chain_runs_once_per_event_after_the_core_addons():
    calls: list = []
    m = lean_master(options.Options(), Chain(Recorder(calls, "a", fail=True),
                                             Recorder(calls, "b")))
    m.addons.add(Upstream(calls))
    assert "chain" not in m.addons  # not an ordinary addon: no per-addon dispatch for it
    f = tflow.tflow()
    await m.addons.handle_lifecycle(HttpRequestHook(f))
    # One member raising does not stop the next; nobody is called twice.
    assert calls == [("core", f.id), ("a", f.id), ("b", f.id)]
    await m.running()
    assert calls[-2:] == [("a", "running"), ("b", "running")]


def test_runs_on_uvloop():
    loops: list[str] = []

    async def main() -> None:
        loops.append(type(asyncio.get_running_loop()).__module__)

    run(main())
    assert loops == ["uvloop"]  # installed from requirements.txt on Linux


def test_event_queue_is_a_lazy_fifo():
    q = EventQueue()
    assert not q and len(q) == 0 and list(q) == [] and q._items is None
    q.append(1)
    q.append(2)
    assert q and len(q) == 2 and list(q) == [1, 2]
    assert q.popleft() == 1 and q.popleft() == 2
    assert not q and q._items is None  # the deque is let go once drained
    with pytest.raises(IndexError):
        q.popleft()


class Waits(layer.Layer):
    """Opens a connection on start (a blocking command: the layer pauses) and records the rest."""

    def __init__(self, context) -> None:
        super().__init__(context)
        self.seen: list = []

    def _handle_event(self, event):
        if isinstance(event, events.Start):
            yield commands.OpenConnection(self.context.server)
        else:
            self.seen.append(event)


def test_slim_layers_queue_events_while_paused_and_replay_them_in_order():
    slim_layers()
    slim_layers()  # idempotent: one wrapper, not two
    assert layer.Layer.__init__.__wrapped__ is not None
    client = connection.Client(peername=("127.0.0.1", 1), sockname=("127.0.0.1", 2),
                               timestamp_start=0)
    w = Waits(Context(client, options.Options()))
    assert isinstance(w._paused_event_queue, EventQueue)
    (open_cmd,) = list(w.handle_event(events.Start()))
    assert w._paused
    later = [events.DataReceived(client, b"a"), events.DataReceived(client, b"b")]
    for ev in later:
        assert list(w.handle_event(ev)) == []  # queued while the layer waits
    assert len(w._paused_event_queue) == 2 and w.seen == []
    list(w.handle_event(events.OpenConnectionCompleted(open_cmd, None)))
    assert w.seen == later and not w._paused_event_queue


class Stream:
    """What an HttpStream's body-size check reads."""

    def __init__(self, headers: dict, buffered: bytes = b"") -> None:
        self.flow = tflow.tflow(resp=True)
        self.flow.request.headers.clear()
        self.flow.request.headers.update(headers)
        self.request_body_buf = bytearray(buffered)
        self.response_body_buf = bytearray()


@pytest.mark.parametrize("headers, buffered, full", [
    ({"content-length": "100"}, b"", False),  # at the limit
    ({"content-length": "101"}, b"", True),  # over: mitmproxy's check refuses it
    ({"transfer-encoding": "chunked"}, b"", False),  # nothing to go by until it is read
    ({"transfer-encoding": "chunked"}, b"x" * 100, False),
    ({"transfer-encoding": "chunked"}, b"x" * 101, True),
    ({"content-length": "ten"}, b"", True),  # malformed: mitmproxy decides
])
def test_quick_body_size_check_hands_anything_over_the_limit_to_mitmproxy(
        monkeypatch, headers, buffered, full):
    monkeypatch.setattr(BodySizeCheck, "limit", 100)
    monkeypatch.setattr(BodySizeCheck, "full_check", False)
    calls = []

    def mitmproxys(stream, request):
        calls.append(request)
        yield "refusal"
        return True

    result = list(_quick_check(mitmproxys)(Stream(headers, buffered), True))
    assert (calls, result) == (([True], ["refusal"]) if full else ([], []))


async def test_quick_body_size_check_follows_the_options():
    m = lean_master(options.Options(), Chain())
    m.options.update(body_size_limit="2k")
    assert (BodySizeCheck.limit, BodySizeCheck.full_check) == (2048, False)
    m.options.update(stream_large_bodies="1k")  # streaming decisions are mitmproxy's
    assert BodySizeCheck.full_check
    m.options.update(body_size_limit=None, stream_large_bodies=None)
    assert (BodySizeCheck.limit, BodySizeCheck.full_check) == (None, False)
