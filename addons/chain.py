"""The chain as mitmproxy sees it: one addon that calls each concern's hooks in order.

mitmproxy dispatches every event to every addon through a context manager and a safe-call
wrapper; with a dozen small addons that dispatch cost more than the gateway's own work (see the
README's benchmark). So the concerns stay small classes with hooks named by event, and `Chain`
calls the ones that define a hook directly (the lean master in lean.py calls the chain itself
the same way). Like mitmproxy's `safecall`, one member raising does not stop the others (the
hooks before upstream fail closed on their own, see guard.py). A member may return an awaitable
(auth on a key-cache miss): the rest of that hook then runs after it.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

HOOKS = ("running", "done", "requestheaders", "request", "responseheaders", "response", "error",
         "server_connect", "server_connected", "server_connect_error", "server_disconnected")


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
        self.members = members
        self.hooks = {}  # hook name: one function calling every member that has it
        for hook in HOOKS:
            fns = [getattr(m, hook) for m in members if hasattr(m, hook)]
            if fns:
                self.hooks[hook] = _dispatcher(fns)
                setattr(self, hook, self.hooks[hook])  # as an ordinary addon (mitmweb)

    def member(self, cls):
        return next((m for m in self.members if isinstance(m, cls)), None)
