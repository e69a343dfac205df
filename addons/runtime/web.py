"""mitmweb for developers: the same chain under mitmproxy's web UI, safe to leave open.

The UI is password-protected (MITMWEB_PASSWORD, else generated and printed once) and keeps at
most MITMWEB_MAX_FLOWS flows so memory stays bounded under load. It never holds a live flow:
mitmweb serialises the flows it holds whenever asked (its flow list, the export, every update),
and a live API call carries the provider's credential from its `request` hook until it has
left. So the View is kept out of the flow hooks, and `RedactedView` gives it a copy of each API
call at each step with every credential, cookie and key taken out; the admin app's own flows
(sign-in passwords, session cookies, newly issued keys) are never shown at all.
"""

from __future__ import annotations

import collections
import logging
import secrets

from argon2 import PasswordHasher
from mitmproxy import http, options

import config as config_module
from addons.call import CALL
from addons.members.auth import credential_like, split_query
from addons.members.credentials import REDACTED

log = logging.getLogger("gateway")


SECRET_HEADERS = {b"authorization", b"proxy-authorization", b"x-api-key", b"x-goog-api-key",
                  b"cookie", b"set-cookie"}
_REDACTED = REDACTED.encode()
# The flow events the View would take a live flow from; the RedactedView hands it copies.
FLOW_HOOKS = ("requestheaders", "request", "responseheaders", "response", "error", "update",
              "intercept", "resume", "kill")


def _ignore(*args) -> None:
    return None


def redacted_copy(flow: http.HTTPFlow) -> http.HTTPFlow:
    """A copy of the flow (same id) with no credential, cookie or key left in it."""
    shown = type(flow).from_state(flow.get_state())  # as copy() does, but keeping the id
    for message in (shown.request, shown.response):
        if message is not None:
            message.headers.fields = tuple(
                (k, _REDACTED if k.lower() in SECRET_HEADERS else v)
                for k, v in message.headers.fields)
    path, taken = split_query(shown.request.path, credential_like)
    if taken:
        sep = "&" if "?" in path else "?"
        shown.request.path = path + sep + "&".join(f"{name}={REDACTED}" for name, _ in taken)
    return shown


class RedactedView:
    """Added after the chain (a customer key is stripped by then): shows API calls as redacted
    copies, nothing else."""

    def __init__(self, view) -> None:
        self.view = view
        self._update = type(view).update.__get__(view)  # the View's own, for its copies
        for hook in FLOW_HOOKS:
            setattr(view, hook, _ignore)  # live flows never reach it

    def requestheaders(self, flow) -> None:
        self._show(flow)

    def responseheaders(self, flow) -> None:
        self._show(flow)

    def response(self, flow) -> None:
        self._show(flow)

    def error(self, flow) -> None:
        self._show(flow)

    def update(self, flows) -> None:
        for flow in flows:
            self._show(flow)

    def _show(self, flow) -> None:
        if not isinstance(flow, http.HTTPFlow) or CALL not in flow.metadata:
            return  # the admin app's own, /healthz: never shown
        copy = redacted_copy(flow)
        shown = self.view.get_by_id(flow.id)
        if shown is None:
            self.view.add([copy])
        else:
            shown.set_state(copy.get_state())
            self._update([shown])


class FlowCap:
    """Removes the oldest finished flows from mitmweb once it holds more than `limit`."""

    def __init__(self, view, limit: int) -> None:
        self.view = view
        self.limit = limit
        self.finished: collections.deque = collections.deque()

    def response(self, flow: http.HTTPFlow) -> None:
        self._finished(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._finished(flow)

    def _finished(self, flow) -> None:
        self.finished.append(flow)
        excess = self.view.store_count() - self.limit
        if excess > 0:
            old = [self.finished.popleft() for _ in range(min(excess, len(self.finished)))]
            shown = [self.view.get_by_id(f.id) for f in old]  # the View's copies
            self.view.remove([s for s in shown if s is not None])


def web_master(opts: options.Options, cfg: config_module.Config):
    from mitmproxy.tools.web.master import WebMaster

    m = WebMaster(opts, with_termlog=True)
    password = cfg.web_password
    if not password:
        password = secrets.token_urlsafe(12)
        log.warning("mitmweb password (generated; set MITMWEB_PASSWORD to choose one): %s",
                    password)
    m.options.update(web_open_browser=False, web_host=cfg.web_host, web_port=cfg.web_port,
                     web_password=PasswordHasher().hash(password))
    return m


def arrange(m, cfg: config_module.Config) -> None:
    """After the chain is added: the View last (for its options), fed by the redacted view,
    and the flow cap behind it."""
    m.addons.chain.remove(m.view)
    m.addons.chain.append(m.view)
    m.addons.add(RedactedView(m.view))
    m.addons.add(FlowCap(m.view, cfg.web_max_flows))
