"""Upgrades: databases made by earlier releases (tests/releases, made by those commits' own code
with tests/releases/make.py) opened by this one, on SQLite and PostgreSQL. Every customer,
key, plan, password and usage record must keep working, and the migrations run once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from peewee import fn

from tests.conftest import (
    Gateway,
    client,
    csrf,
    free_port,
    gateway_env,
    pg_bin,
    sign_in,
    wait_until,
)

RELEASES = Path(__file__).parent / "releases"
# The fixtures' records, per customer: cost in nano-dollars and tokens, as the release wrote them.
FIXTURE_COST = 360_000 + 4_500_000 + 740_000
FIXTURE_TOKENS = 1500 + 2500 + 1000
SEEDED = {"Explorer": (20, 100_000, 0), "Startup": (60, 1_000_000, 2900),
          "Growth": (200, 10_000_000, 9900), "Enterprise": (1000, None, None)}


def load(backend: str, release: str, tmp_path: Path, postgres) -> str:
    dump = (RELEASES / f"{release}.{backend}.sql").read_text()
    if backend == "sqlite":
        path = tmp_path / "gateway.db"
        con = sqlite3.connect(path)
        con.executescript(dump)
        con.close()
        return f"sqlite:///{path}"
    url = postgres.new_database()
    subprocess.run([pg_bin("psql"), "-q", "-v", "ON_ERROR_STOP=1", url], input=dump,
                   text=True, check=True, capture_output=True)
    return url


@pytest.fixture
def upgraded(request, tmp_path, fake_servers):
    """A gateway over a release's database, after `init-db` upgraded it."""
    from models import bind, db

    backend, release = request.param
    postgres = request.getfixturevalue("postgres") if backend == "postgresql" else None
    url = load(backend, release, tmp_path, postgres)
    gw = Gateway(tmp_path, gateway_env(tmp_path, fake_servers, DATABASE_URL=url), free_port())
    made = json.loads((RELEASES / f"{release}.json").read_text())[backend]
    previous = db.obj
    first = gw.admin("init-db")
    bind(url)
    yield gw, made, first, release
    gw.stop()
    db.close()
    db.initialize(previous)


# 4035676-7f3cf9a: a PostgreSQL database that 7f3cf9a's in-place upgrade had already left with
# every customer unverified (their keys refused): repaired.
# 90da70f: the release before billing was anchored to the 1st, with a subscription billed on
# the 15th, which the upgrade marks for the billing clock to move.
# d284ae2: the release before selling: usage sold at the catalog's price, raw allowances.
# ca5c2a3: the release before the caps on calls in flight (schema 16); it replaced 8d80bd8
# (schema 11, the release before key pools), which the older releases' upgrades pass through.
SELLING = ("ca5c2a3",)
CASES = [(b, r) for r in ("4035676", "7f3cf9a", "90da70f", "d284ae2", "ca5c2a3")
         for b in ("sqlite", "postgresql")] + [("postgresql", "4035676-7f3cf9a")]


@pytest.mark.parametrize("upgraded", CASES, indirect=True, ids=[f"{r}-{b}" for b, r in CASES])
def test_a_release_database_upgrades_with_every_customer_key_plan_and_record(upgraded):
    from models import ApiKey, ModelPrice, Plan, Subscription, ToolPrice, UsageRecord, User
    from models.migrate import LATEST, SchemaVersion

    gw, made, first, release = upgraded
    assert "database migrated" in first.stderr + first.stdout or "ready" in first.stdout
    assert SchemaVersion.select().count() == LATEST
    again = gw.admin("init-db")
    assert "database migrated" not in again.stderr and "database ready" in again.stdout
    # Plans as seeded, nothing duplicated.
    plans = {p.name: (p.requests_per_minute, p.monthly_tokens, p.price_cents)
             for p in Plan.select()}
    assert plans == SEEDED
    # Each seeded plan caps the calls a customer has in flight at once (migration 17).
    from models.seed import IN_FLIGHT

    assert {p.name: p.max_in_flight for p in Plan.select()} == IN_FLIGHT
    # Selling: every plan gets the default markup and keeps counting raw tokens, so no
    # customer's allowance changes with the upgrade.
    modes = {p.name: (p.markup_bp, p.allowance_mode) for p in Plan.select()}
    if release in SELLING:  # seeded by a release that sells: as it seeded them
        from models.seed import PLANS

        assert modes == {p["name"]: (p.get("markup_bp", 2500), p.get("allowance_mode", "raw"))
                         for p in PLANS}
    else:
        assert set(modes.values()) == {(2500, "raw")}
    assert not User.select().where(User.email_verified_at.is_null()).exists()
    # Subscriptions billed on another day than the 1st are marked to be moved there; no
    # customer's allowance is prorated by the upgrade.
    subs = {s.user.email: s.realign_at is not None for s in Subscription.select()}
    if release not in ("d284ae2", *SELLING):  # from d284ae2 on, subscriptions start on the 1st
        assert subs == ({"alice@shop.example": True} if subs else {})
    assert not User.select().where(User.allowance_month != "").exists()
    # The catalog learns what the release's lacked: tier prices and container sizes.
    assert "priority" in json.loads(ModelPrice.get(ModelPrice.model == "gpt-5-mini").tiers)
    assert ToolPrice.get(ToolPrice.tool == "code_interpreter_4g").usd_per_call == Decimal("0.12")
    # The dashboards' sums, by hour and by day, made from every record (migration 15).
    from models.rollup import UsageRollup as Sums

    for period in ("h", "d"):
        assert Sums.select(fn.SUM(Sums.requests), fn.SUM(Sums.cost_nanousd),
                           fn.SUM(Sums.total_tokens)).where(Sums.period == period).tuples()[0] \
            == (UsageRecord.select().count(),
                UsageRecord.select(fn.SUM(UsageRecord.cost_nanousd)).scalar(),
                UsageRecord.select(fn.SUM(UsageRecord.total_tokens)).scalar())
    gw.start()
    for c in made["customers"]:
        user = User.get(User.email == c["email"])
        assert user.plan.name == c["plan"] and user.email_verified_at is not None
        # A one-member account: its owner is the customer, who made every key (migration 16).
        from models.members import Membership

        assert [(m.member_id, m.role) for m in Membership.select().where(
            Membership.account == user)] == [(user.id, "owner")]
        assert {k.created_by_id for k in ApiKey.select().where(ApiKey.user == user)} \
            == {user.id}
        # Their usage, to the nano-dollar, and counted against their month.
        records = list(UsageRecord.select().where(UsageRecord.user == user,
                                                  UsageRecord.request_id.startswith("fixture-")))
        assert len(records) == 3
        assert sum(r.cost_nanousd for r in records) == FIXTURE_COST
        assert sum(r.total_tokens for r in records) == FIXTURE_TOKENS
        # Sold at the catalog's price when it was made (what customers saw as their cost),
        # and counted as the raw tokens it counted then.
        if release in SELLING:  # recorded with its charge (the fixture's: none): kept
            assert all((r.charge_nanousd, r.counted_tokens, r.credit_nanousd) == (0, 0, 0)
                       for r in records)
        else:
            assert all(r.charge_nanousd == r.cost_nanousd and r.counted_tokens == r.total_tokens
                       and r.credit_nanousd == 0 for r in records)
        assert {r.api for r in records} == {"native"}  # before the unified API, every call
        # Their key answers; the revoked one does not.
        r = httpx.post(f"{gw.url}/v1/openai/chat/completions",
                       headers={"authorization": f"Bearer {c['key']}"},
                       json={"model": "gpt-4o-mini", "max_tokens": 5,
                             "messages": [{"role": "user", "content": "Hi"}]})
        assert r.status_code == 200, r.text
        assert int(r.headers["x-ratelimit-limit-requests"]) == SEEDED[c["plan"]][0]
        if SEEDED[c["plan"]][1] is not None:  # the whole month's allowance
            assert int(r.headers["x-ratelimit-limit-tokens"]) == SEEDED[c["plan"]][1]
        for revoked in c["revoked"]:
            r = httpx.get(f"{gw.url}/v1/models", headers={"authorization": f"Bearer {revoked}"})
            assert r.status_code == 401
    # The provider key that served those calls is seen by the operator (migration 12).
    from models.upstreams import UpstreamMinute

    wait_until(lambda: UpstreamMinute.select(fn.SUM(UpstreamMinute.calls)).where(
        UpstreamMinute.provider == "openai").scalar() == len(made["customers"]),
        what="each call counted for its provider key")
    # A customer signs in with their old password and makes a new key on the keys page.
    alice = made["customers"][0]
    browser = client(gw)
    assert sign_in(browser, alice["email"], made["password"]).status_code == 302
    before = ApiKey.select().join(User).where(User.email == alice["email"]).count()
    r = browser.post("/keys", data={"name": "after-upgrade", "csrf_token": csrf(browser, "/keys")})
    assert r.status_code in (200, 302)
    assert ApiKey.select().join(User).where(User.email == alice["email"]).count() == before + 1
    usage = json.loads(gw.admin("usage", alice["email"]).stdout)
    assert Decimal(usage["cost_usd"]) >= Decimal(FIXTURE_COST).scaleb(-9)
    # The call made after the upgrade is charged at the markup: 25% over its cost.
    new = wait_until(lambda: UsageRecord.select().join(User).where(
        User.email == alice["email"], ~UsageRecord.request_id.startswith("fixture-")).first())
    assert new.cost_nanousd > 0 and abs(new.charge_nanousd * 4 - new.cost_nanousd * 5) <= 4
    # An old key takes limits of its own (migration 13): a rate of one call a minute.
    old = ApiKey.get(ApiKey.prefix == alice["key"][:len(new.api_key.prefix)])
    assert not old.limited and old.allowed_models == "" and old.allow_cidrs == ""
    gw.admin("set-key-limits", old.prefix, "--rpm", "1")

    def call():
        return httpx.post(f"{gw.url}/v1/openai/chat/completions",
                          headers={"authorization": f"Bearer {alice['key']}"},
                          json={"model": "gpt-4o-mini", "max_tokens": 5,
                                "messages": [{"role": "user", "content": "Hi"}]})

    refused = wait_until(lambda: (r := call()).status_code == 429 and r,
                         what="the key's own rate applied")
    assert "this API key allows 1 requests per minute" in refused.json()["error"]["message"]


def test_a_database_newer_than_the_release_is_refused_unchanged(make_gateway):
    from models.migrate import LATEST, SchemaVersion

    gw = make_gateway()
    SchemaVersion.create(version=LATEST + 1, name="from the future")
    r = gw.admin("init-db", check=False)
    assert r.returncode != 0 and f"schema version {LATEST + 1}" in r.stderr
    assert SchemaVersion.select().count() == LATEST + 1
