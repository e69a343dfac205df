"""Gateways on separate hosts: each in a network namespace of its own (`ip netns`, a veth link),
reaching the shared Redis, PostgreSQL and the providers over the network as separate machines
would, and cut off from them by a route, as a network partition would cut them off.

The namespaces are the test's own and torn down after it. It needs root (CAP_NET_ADMIN) and is
skipped with the reason otherwise."""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import subprocess
import time

import pytest

from tests import fakes
from tests.conftest import (
    UPSTREAM_SECRETS,
    RedisServer,
    chat,
    customer,
    pg_cluster,
)

NET = "10.231"  # our own namespaces' addresses: host n is 10.231.<n>.2
SERVERS = f"{NET}.0.1"  # the servers' address, in this namespace


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Hosts:
    """Gateway hosts: network namespaces, each linked to this one by a veth pair and routed
    through it to SERVERS (an address here), as separate machines would reach a server."""

    def __init__(self) -> None:
        self.tag = f"lg{os.getpid() % 100000}"
        self.names: list[str] = []

    def open(self) -> None:
        """SERVERS on a link of its own here (a veth pair: the `dummy` type is not in every
        kernel)."""
        ip("link", "add", f"{self.tag}s", "type", "veth", "peer", "name", f"{self.tag}p")
        ip("addr", "add", f"{SERVERS}/32", "dev", f"{self.tag}s")
        ip("link", "set", f"{self.tag}s", "up")
        ip("link", "set", f"{self.tag}p", "up")

    def add(self) -> tuple[str, str]:
        """A new host: its namespace's name and its address."""
        n = len(self.names) + 1
        ns, outer, inner = f"{self.tag}-h{n}", f"{self.tag}h{n}o", f"{self.tag}h{n}i"
        ip("netns", "add", ns)
        self.names.append(ns)
        ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        ip("link", "set", inner, "netns", ns)
        ip("addr", "add", f"{NET}.{n}.1/24", "dev", outer)
        ip("link", "set", outer, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ns, "addr", "add", f"{NET}.{n}.2/24", "dev", inner)
        ip("-n", ns, "link", "set", inner, "up")
        ip("-n", ns, "route", "add", "default", "via", f"{NET}.{n}.1")
        return ns, f"{NET}.{n}.2"

    def cut(self, ns: str, cut: bool = True) -> None:
        """Partition a host from the servers: their packets vanish, nothing answers."""
        ip("-n", ns, "route", "replace" if cut else "del", "blackhole", f"{SERVERS}/32")

    def remove(self) -> None:
        for ns in self.names:  # a veth pair goes with its namespace
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", f"{self.tag}s"], capture_output=True)  # and its peer


@pytest.fixture
def hosts():
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2's `ip`")
    found = Hosts()
    try:
        found.open()
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot create network links here (needs root): {e.stderr.strip()}")
    yield found
    found.remove()


@pytest.fixture
def servers(hosts):
    """Redis, PostgreSQL and the fake providers, listening on SERVERS only."""
    redis = RedisServer(SERVERS)
    redis.start()
    providers = fakes.start_all(UPSTREAM_SECRETS, SERVERS)
    try:
        with pg_cluster(SERVERS, trust=f"{NET}.0.0/16") as pg:
            yield redis, pg, providers
    finally:
        redis.stop()
        shutil.rmtree(redis.dir, ignore_errors=True)
        for s in providers.values():
            s.shutdown()


def test_gateways_on_separate_hosts_share_one_plan_and_survive_a_partition(
        hosts, servers, make_gateway):
    redis, pg, providers = servers
    upstreams = {f"UPSTREAM_{name.upper()}_URL": s.url for name, s in providers.items()}
    placed = [hosts.add(), hosts.add()]
    a, b = (make_gateway(address, ("ip", "netns", "exec", ns), DATABASE_URL=pg.url,
                         REDIS_URL=redis.url, REDIS_TIMEOUT="0.5", KEY_CACHE_TTL="600",
                         **upstreams).start()
            for ns, address in placed)
    # One plan across the hosts: Explorer's 20 requests a minute, exactly.
    key = customer(a, "Explorer")
    with cf.ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(lambda i: chat((a, b)[i % 2], key).status_code, range(40)))
    assert statuses.count(200) == 20 and statuses.count(429) == 20

    # A revoked key stops on both hosts within a second (the notice crosses the network).
    revoked = customer(a, "Growth")
    assert chat(a, revoked).status_code == 200 and chat(b, revoked).status_code == 200
    a.admin("revoke-key", revoked[:11])
    started = time.monotonic()
    for gw in (a, b):
        while chat(gw, revoked).status_code != 401:
            assert time.monotonic() - started < 1.0
            time.sleep(0.02)

    # A partition: host b loses Redis, PostgreSQL and the providers; their packets vanish.
    # Its quota plans are refused by the outage policy within REDIS_TIMEOUT, host a carries
    # on, and b comes back by itself once the route is back.
    paying = customer(a, "Startup")
    assert chat(b, paying).status_code == 200  # b's key cache knows the key
    hosts.cut(placed[1][0])
    try:
        started = time.monotonic()
        r = chat(b, paying)
        assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
        assert "cannot check your plan's limits" in r.json()["error"]["message"]
        assert time.monotonic() - started < 3
        assert chat(a, paying).status_code == 200
    finally:
        hosts.cut(placed[1][0], cut=False)
    deadline = time.monotonic() + 10
    while (status := chat(b, paying).status_code) != 200:
        assert status == 503 and time.monotonic() < deadline, "b did not come back"
        time.sleep(0.2)

    # Every answered request was written once, whichever host answered it: b's before the
    # cut, a's during it and b's after it; none of the refused ones.
    assert len(a.records(key, count=20)) == 20
    time.sleep(1)  # a record written twice would show by now
    assert len(a.records(paying, count=3, timeout=15)) == 3

    # b hears change notices again: a revocation reaches it within a second.
    a.admin("revoke-key", paying[:11])
    started = time.monotonic()
    while chat(b, paying).status_code != 401:
        assert time.monotonic() - started < 1.0
        time.sleep(0.02)
