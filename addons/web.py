"""mitmweb for developers: the same chain under mitmproxy's web UI, safe to leave open.

The UI is password-protected (MITMWEB_PASSWORD, else generated and printed once), keeps at most
MITMWEB_MAX_FLOWS flows so memory stays bounded under load, and sees flows only after our addons
ran: the View is moved behind the chain, so a customer key is already stripped when a flow is
first shown and the provider credential is redacted before any update is.
"""

from __future__ import annotations

import collections
import logging
import secrets

from argon2 import PasswordHasher
from mitmproxy import http, options

import config as config_module

log = logging.getLogger("gateway")


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
            self.view.remove([f for f in old if self.view.get_by_id(f.id)])


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
    """After the chain is added: the View last, and the flow cap behind it."""
    m.addons.chain.remove(m.view)
    m.addons.chain.append(m.view)
    m.addons.add(FlowCap(m.view, cfg.web_max_flows))
