"""The lean master: the six core addons a reverse proxy needs, and the chain called directly.

Stock mitmdump runs about 35 addons and sends every event through each of them (a generator, a
context manager and `dataclasses.fields()` per addon per event); on one core that dispatch costs
more than a gateway's own work. The lean master keeps mitmproxy's addon manager for its core
addons and calls the chain's hooks right after them, one function per event (see the README's
benchmark). mitmweb (`--web`) instead runs the chain as an ordinary addon among its full set.

Each of mitmproxy's layers (about seven per connection) keeps a queue for events that arrive
while it waits; almost always empty, yet a deque allocates 64 slots up front. `slim_layers()`
gives the layers a queue that allocates on first use: about 4 KiB less per open connection.

`run()` runs the proxy on uvloop where it is installed: its transports and handles are C, which
takes about a tenth off mitmproxy's cost per request and a little off each open connection.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
from collections.abc import Coroutine

from mitmproxy import addonmanager, hooks, options
from mitmproxy import master as mitm_master
from mitmproxy.addons import (core, disable_h2c, errorcheck, next_layer, proxyserver, termlog,
                              tlsconfig)
from mitmproxy.proxy import layer

from .chain import Chain

_FIELDS: dict[type, tuple[str, ...]] = {}


def hook_args(event: hooks.Hook) -> list:
    """`Hook.args()` without calling `dataclasses.fields()` for every event."""
    names = _FIELDS.get(type(event))
    if names is None:
        names = _FIELDS[type(event)] = tuple(f.name for f in dataclasses.fields(event))
    return [getattr(event, n) for n in names]


class LeanAddons(addonmanager.AddonManager):
    def __init__(self, master, chain: Chain) -> None:
        super().__init__(master)
        self.direct = chain.hooks

    async def trigger_event(self, event: hooks.Hook) -> None:
        await super().trigger_event(event)
        fn = self.direct.get(event.name)
        if fn is not None:
            result = fn(*hook_args(event))  # the chain logs its members' errors itself
            if result is not None:
                await result


class EventQueue:
    """The deque API mitmproxy's Layer uses (append, popleft, truth, iteration), allocated when
    an event waits and let go once the queue drains."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: collections.deque | None = None

    def append(self, event) -> None:
        if self._items is None:
            self._items = collections.deque()
        self._items.append(event)

    def popleft(self):
        if not self._items:
            raise IndexError("pop from an empty queue")
        event = self._items.popleft()
        if not self._items:
            self._items = None
        return event

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items) if self._items else 0

    def __iter__(self):
        return iter(self._items or ())


def slim_layers() -> None:
    """Every mitmproxy layer gets an EventQueue instead of an eager deque (idempotent)."""
    init = layer.Layer.__init__
    if getattr(init, "slim", False):
        return

    @functools.wraps(init)
    def __init__(self, context) -> None:
        init(self, context)
        self._paused_event_queue = EventQueue()

    __init__.slim = True
    layer.Layer.__init__ = __init__


def lean_master(opts: options.Options, chain: Chain) -> mitm_master.Master:
    slim_layers()
    m = mitm_master.Master(opts)  # without termlog: it goes to the manager set below
    m.addons = LeanAddons(m, chain)
    m._termlog_addon = termlog.TermLog()
    m.addons.add(m._termlog_addon, core.Core(), proxyserver.Proxyserver(), next_layer.NextLayer(),
                 tlsconfig.TlsConfig(), disable_h2c.DisableH2C(), errorcheck.ErrorCheck())
    return m


def loop_factory():
    """uvloop's event loop, or asyncio's where uvloop is not installed (it has no Windows build)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine) -> None:
    asyncio.run(main, loop_factory=loop_factory())
