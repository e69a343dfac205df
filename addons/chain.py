"""The chain as mitmproxy sees it: one addon that calls each concern's hooks in order.

mitmproxy dispatches every event to every addon through a context manager and a safe-call
wrapper; with a dozen small addons that dispatch cost more than the gateway's own work (see the
README's benchmark). So the concerns stay small classes with hooks named by event, and `Chain`
calls the ones that define a hook directly (the lean master in lean.py calls the chain itself
the same way). Like mitmproxy's `safecall`, one member raising does not stop the others (the
hooks before upstream fail closed on their own, see guard.py). A member may return an awaitable
(auth on a key-cache miss): the rest of that hook then runs after it.

The hooks are mitmproxy's own registry of them, so a member defining any hook is called. The
members' order is a contract: each declares the PHASE it belongs to, and a chain built out of
order refuses to start.
"""

from __future__ import annotations

import logging

# Importing these registers their hooks in mitmproxy's registry (hooks.all_hooks).
import mitmproxy.proxy.layers.http  # noqa: F401
import mitmproxy.proxy.server_hooks  # noqa: F401
from mitmproxy import hooks as mitmproxy_hooks

log = logging.getLogger(__name__)

# The phases of a call, in the order a chain's members must come:
PHASES = (
    "route",  # which provider and endpoint (router)
    "identify",  # who is calling (auth)
    "own",  # may the caller name these stored objects (ownership)
    "admit",  # may it go, within the plan (limits)
    "meter",  # tap and settle usage (metering)
    "send",  # the provider's credential on, last before upstream (credentials)
    "answer",  # errors, timeouts, the access log: after upstream
    "serve",  # what the router left alone (admin app)
    "close",  # flushes what the others settled (lifecycle)
)


def check_order(members) -> None:
    """Members that declare a PHASE must come in the phases' order."""
    last = -1
    for m in members:
        phase = getattr(m, "PHASE", None)
        if phase is None:
            continue
        if phase not in PHASES:
            raise ValueError(f"{type(m).__name__}: unknown phase {phase!r}")
        if PHASES.index(phase) < last:
            raise ValueError(f"{type(m).__name__} ({phase}) comes after a member of the "
                             f"{PHASES[last]!r} phase; the chain's order is {PHASES}")
        last = PHASES.index(phase)


def _call(fn, args):
    try:
        return fn(*args)
    except Exception:
        log.exception("%s failed", getattr(fn, "__qualname__", fn))
        return None


async def _after(pending, rest, args) -> None:
    try:
        await pending
    except Exception:
        log.exception("hook failed")
    for fn in rest:
        result = _call(fn, args)
        if result is not None and hasattr(result, "__await__"):
            try:
                await result
            except Exception:
                log.exception("%s failed", getattr(fn, "__qualname__", fn))


def _dispatcher(fns: list):
    def dispatch(*args):
        for i, fn in enumerate(fns):
            result = _call(fn, args)
            if result is not None and hasattr(result, "__await__"):
                return _after(result, fns[i + 1:], args)
        return None

    return dispatch


class Chain:
    def __init__(self, *members) -> None:
        check_order(members)
        self.members = members
        self.hooks = {}  # hook name: one function calling every member that has it
        for hook in mitmproxy_hooks.all_hooks:
            fns = [getattr(m, hook) for m in members if hasattr(m, hook)]
            if fns:
                self.hooks[hook] = _dispatcher(fns)
                setattr(self, hook, self.hooks[hook])  # as an ordinary addon (mitmweb)

    def member(self, cls):
        return next((m for m in self.members if isinstance(m, cls)), None)
