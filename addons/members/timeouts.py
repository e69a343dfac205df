"""Upstream timeouts, which mitmproxy 12 does not have: a connect timeout, and an idle read
timeout that a long generation never hits while bytes keep flowing.

mitmproxy opens and then reads each upstream connection in one task, and runs the
`server_connect` hook inside it; cancelling that task is how a connection is abandoned (a flow
cannot be killed in transit, mitmproxy #4711). The call is marked so the error hook answers 504
in the provider's shape; a stream already under way just ends, as a cut would.
"""

from __future__ import annotations

import asyncio
import logging
import time

from mitmproxy.proxy import server_hooks

from addons.services.inflight import InFlight

log = logging.getLogger(__name__)

SWEEP_EVERY = 0.5


class Timeouts:
    PHASE = "answer"

    def __init__(self, inflight: InFlight, connect_timeout: float, read_timeout: float) -> None:
        self.inflight = inflight
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._tasks: dict[str, asyncio.Task] = {}  # server connection id -> its task
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._sweeper: asyncio.Task | None = None

    def running(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    def done(self) -> None:
        if self._sweeper:
            self._sweeper.cancel()

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        task = asyncio.current_task()
        if task is None:
            return
        sid = data.server.id
        self._tasks[sid] = task
        self._timers[sid] = asyncio.get_running_loop().call_later(
            self.connect_timeout, task.cancel, "upstream connect timed out")

    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        if timer := self._timers.pop(data.server.id, None):
            timer.cancel()

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        self._forget(data.server.id)

    def server_disconnected(self, data: server_hooks.ServerConnectionHookData) -> None:
        self._forget(data.server.id)

    def _forget(self, sid: str) -> None:
        self._tasks.pop(sid, None)
        if timer := self._timers.pop(sid, None):
            timer.cancel()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            try:
                self.expire_idle(time.monotonic())
            except Exception:
                log.exception("timeout sweep failed")

    def expire_idle(self, now: float) -> None:
        for flow, call in self.inflight:
            if call.timed_out or now - call.last_activity < self.read_timeout:
                continue
            task = self._tasks.get(flow.server_conn.id)
            if task is not None and flow.server_conn.timestamp_tcp_setup:
                call.timed_out = True
                log.warning("%s: no bytes from upstream for %.0fs; closing", call.request_id,
                            now - call.last_activity)
                task.cancel("upstream read timed out")
