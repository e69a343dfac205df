"""The month's allowance: each plan's share of the calendar month it held, as its charge is, on a
real SQLite file; and the payments' prorations over a month billed from the 1st."""

from __future__ import annotations

import datetime as dt

import pytest

import config
from admin import accounts
from admin.payments import prorated_cents, prorated_stretch
from models import Plan, UsageRecord, User, bind, db
from models.month import allowance, banked_at_change, month_bounds, share
from models.seed import seed

DEC = dt.datetime(2026, 12, 1)
SECONDS = 31 * 86400


def at(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour)


def test_a_month_and_its_shares():
    assert month_bounds(at(20, 13)) == (DEC, dt.datetime(2027, 1, 1))
    assert month_bounds(dt.datetime(2028, 2, 29, 23)) == (dt.datetime(2028, 2, 1),
                                                          dt.datetime(2028, 3, 1))
    assert share(1_000_000, at(20), dt.datetime(2027, 1, 1), at(20)) == 1_000_000 * 12 // 31
    assert share(1_000_000, DEC - dt.timedelta(days=3), at(2), at(2)) == 1_000_000 // 31
    assert share(5, at(2), at(2), at(2)) == 0


def test_the_allowance_of_an_unchanged_month_is_the_plan():
    assert allowance(1_000_000, "", 0, None, at(20)) == 1_000_000
    assert allowance(1_000_000, "2026-11", 123, at(1), at(20)) == 1_000_000  # last month's
    assert allowance(None, "2026-12", 123, at(3), at(20)) is None


def test_subscribing_on_the_20th_gives_each_plan_its_share():
    banked = banked_at_change(100_000, "", 0, None, used=0, now=at(20))
    assert banked == 100_000 * 19 // 31
    got = allowance(1_000_000, "2026-12", banked, at(20), at(25))
    assert got == 100_000 * 19 // 31 + 1_000_000 * 12 // 31  # 448,387, not 1,000,000
    # Then Growth on the 27th: Startup's week, Growth's last five days.
    banked = banked_at_change(1_000_000, "2026-12", banked, at(20), used=0, now=at(27))
    assert banked == 100_000 * 19 // 31 + 1_000_000 * 7 // 31
    assert allowance(10_000_000, "2026-12", banked, at(27), at(28)) == \
        banked + 10_000_000 * 5 // 31


def test_leaving_an_unlimited_plan_keeps_what_was_used_under_it():
    assert banked_at_change(None, "", 0, None, used=7_000_000, now=at(10)) == 7_000_000
    assert banked_at_change(None, "2026-12", 9_000_000, at(5), used=7_000_000,
                            now=at(10)) == 9_000_000


@pytest.fixture
def users(tmp_path):
    previous = db.obj
    cfg = config.load({"DATA_DIR": str(tmp_path)})
    bind(cfg.database_url)
    seed()
    yield {p.name: p for p in Plan.select()}
    db.close()
    db.initialize(previous)


def test_a_paid_change_prorates_and_the_operators_choice_gives_the_whole_plan(users):
    user = User.get(User.email == "test@free.com")
    user.change_plan(users["Startup"], prorate=True, now=at(20))
    user.save()
    user = User.get_by_id(user.id)
    assert (user.allowance_month, user.allowance_since) == ("2026-12", at(20))
    assert user.allowance(at(21)) == 100_000 * 19 // 31 + 1_000_000 * 12 // 31
    assert user.allowance(dt.datetime(2027, 1, 2)) == 1_000_000  # the next month: whole
    accounts.set_plan(user, users["Growth"])
    assert User.get_by_id(user.id).allowance(at(21)) == 10_000_000


def test_leaving_enterprise_mid_month_counts_its_usage_as_given(users):
    user = User.get(User.email == "dev@enterprise.com")
    accounts.set_plan(user, users["Enterprise"])
    UsageRecord.create(user=user, created_at=at(3), request_id="r1", provider="openai",
                       endpoint="chat", model="gpt-4o-mini", status=200, total_tokens=5_000_000,
                       counted_tokens=5_000_000)
    user.change_plan(users["Growth"], prorate=True, now=at(10))
    assert user.allowance(at(11)) == 5_000_000 + 10_000_000 * 22 // 31


def test_an_upgrade_is_the_difference_for_the_rest_of_the_calendar_month(monkeypatch):
    # A first period from the 4th to the 1st: the rest of it is 27 of December's 31 days.
    start, end = at(4).replace(tzinfo=dt.UTC), dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    monkeypatch.setattr("admin.payments.money.time.time", lambda: start.timestamp())
    remote = {"current_period_start": int(start.timestamp()),
              "current_period_end": int(end.timestamp())}
    assert prorated_cents(7000, remote, {}) == round(7000 * 28 / 31)
    # A period billed on the 15th (before billing was anchored): a share of itself.
    legacy = {"current_period_start": int(start.timestamp()),
              "current_period_end": int(dt.datetime(2027, 1, 4, tzinfo=dt.UTC).timestamp())}
    assert prorated_cents(7000, legacy, {}) == 7000
    assert prorated_stretch(2900, dt.datetime(2027, 1, 15, 9, 30), dt.datetime(2027, 2, 1)) \
        == round(2900 * (16 * 86400 + 14.5 * 3600) / SECONDS)


def test_a_cached_customer_does_not_outlive_the_month(monkeypatch):
    """The key cache keeps a customer `ttl` seconds, but never past the month's end: the
    next month's allowance is the plan's whole one."""
    import asyncio

    from addons.services import keycache

    now = [dt.datetime(2026, 12, 31, 23, 59, 50, tzinfo=dt.UTC).timestamp()]
    monkeypatch.setattr(keycache.time, "time", lambda: now[0])
    looked = []
    cache = keycache.KeyCache(ttl=60, lookup=lambda digest: looked.append(digest) or digest)
    assert asyncio.run(cache.resolve_digest("k")) == "k"
    now[0] += 5
    assert cache.cached("k") == (True, "k")
    now[0] += 6  # 00:00:01 on January 1st, 11 s after the look-up
    assert cache.cached("k") == (False, None)
    now[0] += 1
    asyncio.run(cache.resolve_digest("k"))
    now[0] += 50  # within the month: `ttl` holds
    assert cache.cached("k") == (True, "k") and looked == ["k", "k"]
