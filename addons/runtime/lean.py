"""The lean master: the six core addons a reverse proxy needs, dispatched without detours.

Stock mitmdump runs about 35 addons and sends every event through each of them (a generator, a
context manager and `dataclasses.fields()` per addon per event), plus an `update` event after
every flow event for a view the proxy does not have; on one core that dispatch costs more than
a gateway's own work. The lean master's addon manager finds each event's handlers among the core
addons once, calls them, then calls the chain's hook directly, and sends `update` only when an
addon listens (see the README's benchmark). mitmweb (`--web`) instead runs the chain as an
ordinary addon among its full set.

`BodySizeCheck` keeps `body_size_limit` parsed for the quick body-size check (patches.py).
mitmproxy's own addons run under the gateway's error policy (chain.py), as the chain does.

`run()` runs the proxy on uvloop where it is installed: its transports and handles are C, which
takes about a tenth off mitmproxy's cost per request and a little off each open connection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
from collections.abc import Coroutine

from mitmproxy import addonmanager, ctx, exceptions, flow, hooks, options
from mitmproxy import master as mitm_master
from mitmproxy.addons import (
    core,
    disable_h2c,
    errorcheck,
    next_layer,
    proxyserver,
    termlog,
    tlsconfig,
)
from mitmproxy.utils import human

from addons.runtime.chain import Chain, await_hook, call_hook
from addons.runtime.patches import BodySizeLimit

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
        name = event.name
        for fn in core_handlers:
            try:
                result = call_hook(name, fn, args)
                if result is not None and inspect.isawaitable(result):
                    await await_hook(name, fn, result, args)
            except exceptions.AddonHalt:
                return
        if chained is not None:
            result = chained(*args)  # the chain applies the policy to its members
            if result is not None:
                await result

    async def handle_lifecycle(self, event: hooks.Hook) -> None:
        await self.trigger_event(event)
        if self.handlers(UPDATE) or "update" in self.direct:
            message = hook_args(event)[0]
            if isinstance(message, flow.Flow):
                await self.trigger_event(hooks.UpdateHook([message]))


class BodySizeCheck:
    """Parses `body_size_limit` once, when the options change, for the quick body-size check
    in patches.py; over the limit, without a Content-Length it can trust, or with
    `stream_large_bodies` set, mitmproxy's check decides, so its behaviour and errors are
    unchanged. A core addon of the lean master only: under mitmweb every check is mitmproxy's."""

    def configure(self, updated) -> None:
        if "body_size_limit" in updated or "stream_large_bodies" in updated:
            BodySizeLimit.limit = human.parse_size(ctx.options.body_size_limit)
            BodySizeLimit.full_check = ctx.options.stream_large_bodies is not None


def core_addons() -> list:
    """The six core addons a reverse proxy needs (termlog aside)."""
    return [core.Core(), proxyserver.Proxyserver(), next_layer.NextLayer(), tlsconfig.TlsConfig(),
            disable_h2c.DisableH2C(), errorcheck.ErrorCheck()]


def lean_master(opts: options.Options, chain: Chain) -> mitm_master.Master:
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
