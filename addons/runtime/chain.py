"""The chain as mitmproxy sees it: one addon that calls each concern's hooks in order, and the
gateway's one error policy.

mitmproxy dispatches every event to every addon through a context manager and a safe-call
wrapper; with a dozen small addons that dispatch cost more than the gateway's own work (see the
README's benchmark). So the concerns stay small classes with hooks named by event, and `Chain`
calls the ones that define a hook directly (the lean master in lean.py calls the chain itself
the same way). A member may return an awaitable (auth on a key-cache miss): the rest of that
hook then runs after it.

The error policy is decided here, by phase, for every member: a hook that runs before the
request goes upstream fails closed (the exception becomes a refusal in the caller's provider
shape: a request must never go upstream unauthenticated or unmetered because a check broke);
a hook after it logs and lets the others go on (the client's answer is under way). The lean
master runs mitmproxy's own addons under the same policy.

The hooks are mitmproxy's own registry of them, so a member defining any hook is called. The
members' order is a contract: each declares the PHASE it belongs to, and a chain built out of
order refuses to start.
"""

from __future__ import annotations

import logging

# Importing these registers their hooks in mitmproxy's registry (hooks.all_hooks).
import mitmproxy.proxy.layers.http  # noqa: F401
import mitmproxy.proxy.server_hooks  # noqa: F401
from mitmproxy import exceptions, http
from mitmproxy import hooks as mitmproxy_hooks

from addons.call import CALL
from addons.providers import UNROUTED

log = logging.getLogger(__name__)

# The phases of a call, in the order a chain's members must come:
PHASES = (
    "accept",  # may this connection be served at all (connection caps)
    "route",  # which provider and endpoint (router)
    "identify",  # who is calling (auth)
    "own",  # may the caller name these stored objects (ownership)
    "meter",  # ask for usage in the answer; tap and settle it (metering)
    "admit",  # may it go, within the plan; the quota reserved and settled (limits)
    "send",  # the body as sent, the call in flight, the credential on (send, credentials)
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


# Hooks that run before a request goes upstream: an exception in them refuses the request.
FAIL_CLOSED = frozenset({"requestheaders", "request"})


def _name(fn) -> str:
    return getattr(fn, "__qualname__", repr(fn))


def refuse(flow) -> None:
    """A hook before upstream failed: answer in the caller's provider shape, send nothing."""
    if not isinstance(flow, http.HTTPFlow) or flow.response is not None or not flow.live:
        return
    call = flow.metadata.get(CALL)
    provider = call.answers_as if call is not None else UNROUTED
    flow.response = provider.error_response(
        "bad_gateway", "The gateway failed to handle this request; it was not sent upstream. "
        "Please retry.", **({"request_id": call.request_id} if call is not None else {}))


def failed(hook: str, fn, args) -> None:
    """The policy for a hook that raised (called from inside the `except`)."""
    if hook in FAIL_CLOSED and args:
        log.exception("%s failed; refusing the request", _name(fn))
        refuse(args[0])
    else:
        log.exception("%s failed", _name(fn))


def call_hook(hook: str, fn, args):
    """Call one hook under the policy. mitmproxy's own control flow (an addon halting the
    event, an invalid option) passes through, as in mitmproxy's `safecall`."""
    try:
        return fn(*args)
    except (exceptions.AddonHalt, exceptions.OptionsError):
        raise
    except Exception:
        failed(hook, fn, args)
        return None


async def await_hook(hook: str, fn, pending, args) -> None:
    try:
        await pending
    except (exceptions.AddonHalt, exceptions.OptionsError):
        raise
    except Exception:
        failed(hook, fn, args)


async def _after(hook, fn, pending, rest, args) -> None:
    await await_hook(hook, fn, pending, args)
    for fn in rest:
        result = call_hook(hook, fn, args)
        if result is not None and hasattr(result, "__await__"):
            await await_hook(hook, fn, result, args)


def _dispatcher(hook: str, fns: list):
    def dispatch(*args):
        for i, fn in enumerate(fns):
            result = call_hook(hook, fn, args)
            if result is not None and hasattr(result, "__await__"):
                return _after(hook, fn, result, fns[i + 1:], args)
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
                self.hooks[hook] = _dispatcher(hook, fns)
                setattr(self, hook, self.hooks[hook])  # as an ordinary addon (mitmweb)

    def member(self, cls):
        return next((m for m in self.members if isinstance(m, cls)), None)
