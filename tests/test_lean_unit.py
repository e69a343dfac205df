"""The lean master: core addons as mitmproxy runs them, the chain called once per event."""

from __future__ import annotations

import asyncio

from mitmproxy import options
from mitmproxy.proxy.layers.http import HttpRequestHook
from mitmproxy.test import tflow

from addons.chain import Chain
from addons.lean import lean_master, run


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
