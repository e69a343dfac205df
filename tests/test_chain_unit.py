"""The chain's contract: every mitmproxy hook a member defines is called, and members come in
the phases' order or the chain refuses to be built."""

from __future__ import annotations

import pytest

from addons.members.limits import Limits
from addons.members.router import Router
from addons.runtime.chain import PHASES, Chain
from addons.runtime.gateway import Lifecycle


def test_any_hook_in_mitmproxys_registry_is_called():
    seen = []

    class Member:
        def client_connected(self, client):  # not in the old hand-made list
            seen.append(client)

        def tls_clienthello(self, data):
            seen.append(data)

    chain = Chain(Member())
    chain.hooks["client_connected"]("c")
    chain.client_connected("d")  # as an ordinary addon (mitmweb)
    chain.hooks["tls_clienthello"]("t")
    assert seen == ["c", "d", "t"]


def test_members_out_of_order_refuse_to_start():
    router = Router({})
    limits = Limits(None, 4096)
    lifecycle = Lifecycle(None)
    Chain(router, limits, lifecycle)  # in order
    with pytest.raises(ValueError, match="Router"):
        Chain(limits, router)
    with pytest.raises(ValueError, match="Limits"):
        Chain(router, lifecycle, limits)


def test_the_gateways_members_declare_their_phases(tmp_path):
    import config
    from addons.runtime.gateway import build_chain
    from models import bind, db
    from models.seed import create_tables

    previous = db.obj
    try:
        bind(f"sqlite:///{tmp_path / 'gateway.db'}")
        create_tables()
        chain, _ = build_chain(config.load({"DATA_DIR": str(tmp_path)}))
    finally:
        db.initialize(previous)  # the session's gateway keeps its database
    phases = [type(m).PHASE for m in chain.members]
    assert phases == sorted(phases, key=PHASES.index) and set(phases) == set(PHASES)


def test_a_broken_check_before_routing_is_refused_in_the_unrouted_shape():
    """A hook that fails before the router made a call: OpenAI's shape (what answers a
    request that names no provider), a 502, and nothing sent."""
    import json

    from mitmproxy.test import tflow

    from addons.runtime.chain import refuse

    flow = tflow.tflow()
    flow.live = True
    refuse(flow)
    assert flow.response.status_code == 502
    error = json.loads(flow.response.content)["error"]
    assert error["type"] == "server_error" and "not sent upstream" in error["message"]
