"""The lean master: the six core addons a reverse proxy needs, dispatched without detours.

Stock mitmdump runs about 35 addons and sends every event through each of them (a generator, a
context manager and `dataclasses.fields()` per addon per event), plus an `update` event after
every flow event for a view the proxy does not have; on one core that dispatch costs more than
a gateway's own work. The lean master's addon manager finds each event's handlers among the core
addons once, calls them, then calls the chain's hook directly, and sends `update` only when an
addon listens (see the README's benchmark). mitmweb (`--web`) instead runs the chain as an
ordinary addon among its full set.

Each of mitmproxy's layers (about seven per connection) keeps a queue for events that arrive
while it waits; almost always empty, yet a deque allocates 64 slots up front. `slim_layers()`
gives the layers a queue that allocates on first use: about 4 KiB less per open connection.

Once `body_size_limit` is set, mitmproxy checks it for the headers and every buffered chunk of
each request and response: two option reads, a header parse and a generator each time, about a
tenth of the gateway's cost over the bare proxy. `BodySizeCheck` keeps the limit parsed and
answers the common case (under the limit) itself; anything else goes to mitmproxy's own check.

`run()` runs the proxy on uvloop where it is installed: its transports and handles are C, which
takes about a tenth off mitmproxy's cost per request and a little off each open connection.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import inspect
import logging
from collections.abc import Coroutine

from mitmproxy import addonmanager, ctx, exceptions, flow, hooks, options
from mitmproxy import master as mitm_master
from mitmproxy.addons import (core, disable_h2c, errorcheck, next_layer, proxyserver, termlog,
                              tlsconfig)
from mitmproxy.proxy import layer
from mitmproxy.proxy.layers.http import HttpStream
from mitmproxy.utils import human

from .chain import Chain
from .fields import first

logger = logging.getLogger(__name__)

_FIELDS: dict[type, tuple[str, ...]] = {}
UPDATE = hooks.UpdateHook([])


def hook_args(event: hooks.Hook) -> list:
    """`Hook.args()` without calling `dataclasses.fields()` for every event."""
    names = _FIELDS.get(type(event))
    if names is None:
        names = _FIELDS[type(event)] = tuple(f.name for f in dataclasses.fields(event))
    return [getattr(event, n) for n in names]


class LeanAddons(addonmanager.AddonManager):
    """mitmproxy's addon manager with the dispatch precomputed: for each event, the core addons'
    handlers (found once, as `_iter_hooks` finds them) and then the chain's. Stock dispatch walks
    every addon with a generator and a context manager for every event, and sends an `update`
    event after each flow event whether or not anything listens (only mitmweb's view does)."""

    def __init__(self, master, chain: Chain) -> None:
        super().__init__(master)
        self.direct = chain.hooks
        self._handlers: dict[str, tuple] = {}

    def add(self, *addons) -> None:
        self._handlers.clear()
        super().add(*addons)

    def remove(self, addon) -> None:
        self._handlers.clear()
        super().remove(addon)

    def clear(self) -> None:
        self._handlers.clear()
        super().clear()

    def handlers(self, event: hooks.Hook) -> tuple:
        found = self._handlers.get(event.name)
        if found is None:
            found = self._handlers[event.name] = tuple(
                fn for a in self.chain for _, fn in self._iter_hooks(a, event))
        return found

    async def trigger_event(self, event: hooks.Hook) -> None:
        core_handlers = self.handlers(event)
        chained = self.direct.get(event.name)
        if not core_handlers and chained is None:
            return
        args = hook_args(event)
        for fn in core_handlers:
            try:  # as mitmproxy's safecall: log and go on, stop on AddonHalt
                result = fn(*args)
                if result is not None and inspect.isawaitable(result):
                    await result
            except exceptions.AddonHalt:
                return
            except exceptions.OptionsError:
                raise
            except Exception as e:
                logger.error(f"Addon error: {e}", exc_info=True)
        if chained is not None:
            result = chained(*args)  # the chain logs its members' errors itself
            if result is not None:
                await result

    async def handle_lifecycle(self, event: hooks.Hook) -> None:
        await self.trigger_event(event)
        if self.handlers(UPDATE) or "update" in self.direct:
            message = hook_args(event)[0]
            if isinstance(message, flow.Flow):
                await self.trigger_event(hooks.UpdateHook([message]))


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


class BodySizeCheck:
    """Puts a quicker `HttpStream.check_body_size` in front of mitmproxy's: with the limit parsed
    when the options change, a body or a Content-Length within it is answered without a
    generator, a header parse or an option read; over the limit, without a Content-Length it can
    trust, or with `stream_large_bodies` set, mitmproxy's check decides, so its behaviour and
    errors are unchanged. A core addon of the lean master only: mitmweb runs mitmproxy's own."""

    limit: int | None = None
    full_check = True  # stream_large_bodies set: every check is mitmproxy's

    def load(self, loader) -> None:
        if not getattr(HttpStream.check_body_size, "quick", False):
            HttpStream.check_body_size = _quick_check(HttpStream.check_body_size)

    def configure(self, updated) -> None:
        if "body_size_limit" in updated or "stream_large_bodies" in updated:
            BodySizeCheck.limit = human.parse_size(ctx.options.body_size_limit)
            BodySizeCheck.full_check = ctx.options.stream_large_bodies is not None


def _quick_check(full):
    @functools.wraps(full, updated=())  # not its marks
    def check_body_size(self, request: bool):
        limit = BodySizeCheck.limit
        if BodySizeCheck.full_check:
            return full(self, request)
        if limit is None:
            return ()  # `yield from ()` is None: not over the limit, as mitmproxy's False
        buf = self.request_body_buf if request else self.response_body_buf
        if buf:
            return () if len(buf) <= limit else full(self, request)
        message = self.flow.request if request else self.flow.response
        size = first(message.headers, b"content-length")
        if size is None:
            return ()  # chunked or read to the end: checked as it is buffered
        try:
            if int(size) <= limit:
                return ()
        except ValueError:
            pass
        return full(self, request)

    check_body_size.quick = True
    return check_body_size


def core_addons() -> list:
    """The six core addons a reverse proxy needs (termlog aside)."""
    return [core.Core(), proxyserver.Proxyserver(), next_layer.NextLayer(), tlsconfig.TlsConfig(),
            disable_h2c.DisableH2C(), errorcheck.ErrorCheck()]


def lean_master(opts: options.Options, chain: Chain) -> mitm_master.Master:
    slim_layers()
    m = mitm_master.Master(opts)  # without termlog: it goes to the manager set below
    m.addons = LeanAddons(m, chain)
    m._termlog_addon = termlog.TermLog()
    m.addons.add(m._termlog_addon, *core_addons(), BodySizeCheck())
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
