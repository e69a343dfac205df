"""The lean master: core addons as mitmproxy runs them, the chain called once per event."""

from __future__ import annotations

import asyncio

from mitmproxy import options
from mitmproxy.proxy.layers.http import HttpRequestHook
from mitmproxy.test import tflow

from addons.runtime.chain import Chain
from addons.runtime.lean import lean_master, run
from addons.runtime.patches import BodySizeLimit


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
    assert "Watcher.request failed" in caplog.text and "watcher broke" in caplog.text


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


async def test_quick_body_size_check_follows_the_options():
    m = lean_master(options.Options(), Chain())
    m.options.update(body_size_limit="2k")
    assert (BodySizeLimit.limit, BodySizeLimit.full_check) == (2048, False)
    m.options.update(stream_large_bodies="1k")  # streaming decisions are mitmproxy's
    assert BodySizeLimit.full_check
    m.options.update(body_size_limit=None, stream_large_bodies=None)
    assert (BodySizeLimit.limit, BodySizeLimit.full_check) == (None, False)
