"""Stripe's word applied, against a real SQLite file and no Stripe: a plan change is told to the
gateway only once the transaction that made it has committed."""

from __future__ import annotations

import datetime as dt

import pytest

import config
from admin import accounts, notices
from admin.payments import Payments, states
from models import Plan, Subscription, User, bind, db, write_transaction
from models.seed import seed


@pytest.fixture
def billing(tmp_path, monkeypatch):
    previous = db.obj
    cfg = config.load({"DATA_DIR": str(tmp_path), "STRIPE_SECRET_KEY": "sk_test_unit"})
    bind(cfg.database_url)
    seed()
    growth = Plan.get(Plan.name == "Growth")
    Plan.update(stripe_price="price_growth").where(Plan.id == growth.id).execute()
    user = User.get(User.email == "test@free.com")
    User.update(plan=Plan.get(Plan.name == "Startup")).where(User.id == user.id).execute()
    Subscription.create(user=user, stripe_customer="cus_unit", stripe_subscription="sub_unit",
                        status="active", plan=Plan.get(Plan.name == "Startup"))
    told: list[bool] = []  # for each announcement: was a transaction open?
    monkeypatch.setattr(accounts, "announce", lambda: told.append(db.in_transaction()))
    monkeypatch.setattr(notices, "send", lambda *args: None)
    yield Payments(cfg, mailer=None), user, told
    db.close()
    db.initialize(previous)


def remote(status: str, price: str = "price_growth") -> dict:
    return {"id": "sub_unit", "customer": "cus_unit", "status": status, "price": price,
            "product": None, "period_end": dt.datetime(2027, 1, 1),
            "cancel_at_period_end": False}


@pytest.mark.parametrize("status, plan", [("active", "Growth"), ("canceled", "Explorer")])
def test_a_plan_change_is_announced_after_its_transaction_commits(billing, status, plan):
    p, user, told = billing
    with write_transaction():  # as apply_event does
        who, mail = p.apply_subscription(remote(status))
        assert told == []  # a request now would cache the old plan for KEY_CACHE_TTL
    assert User.get_by_id(user.id).plan.name == plan
    p.send(who, mail)
    assert told == [False]  # told once, with the change committed


def test_news_that_change_no_plan_announce_nothing(billing):
    p, user, told = billing
    with write_transaction():
        p.apply_subscription(remote("active"))
    with write_transaction():
        who, mail = p.apply_subscription(remote("active"))  # the same news again
    p.send(who, mail)
    assert told == [] and mail == []


# --- The subscription's transitions, one by one ---------------------------------------------

NOW = dt.datetime(2026, 12, 10, 12, 0)


def record_of(user) -> Subscription:
    return Subscription.get(Subscription.user == user)


def fresh(user) -> User:
    return User.get_by_id(user.id)


def test_activate_moves_to_the_plan_billed_and_clears_dunning(billing):
    _, user, _ = billing
    user = fresh(user)
    sub, growth = record_of(user), Plan.get(Plan.name == "Growth")
    sub.past_due_since, sub.downgraded_at, sub.next_plan = NOW, NOW, growth
    assert states.activate(sub, user, growth, NOW) == [("plan_changed", "Growth")]
    assert (sub.plan_id, sub.past_due_since, sub.downgraded_at, sub.next_plan) == (
        growth.id, None, None, None)
    assert User.get_by_id(user.id).plan.name == "Growth"
    assert User.get_by_id(user.id).allowance_month == "2026-12"  # prorated: a paid change
    assert states.activate(sub, User.get_by_id(user.id), growth, NOW) == []  # no change
    assert states.activate(sub, user, None, NOW) == []  # a price no plan bills: nothing


def test_falling_due_is_told_once_and_keeps_the_plan(billing):
    _, user, _ = billing
    user = fresh(user)
    sub = record_of(user)
    assert states.fall_due(sub, user, None, NOW) == [("payment_failed", None)]
    assert sub.past_due_since == NOW and sub.plan.name == "Startup"
    assert states.fall_due(sub, user, None, NOW + dt.timedelta(hours=1)) == []
    assert sub.past_due_since == NOW


def test_the_end_of_a_subscription_is_the_free_plan_unless_invoiced_outside(billing):
    _, user, _ = billing
    user = fresh(user)
    sub = record_of(user)
    sub.invoiced_outside = True
    assert states.end(sub, user, None, NOW) == [] and user.plan.name == "Startup"
    sub.invoiced_outside, sub.cancel_at_period_end = False, True
    assert states.end(sub, user, None, NOW) == [("downgraded", "Explorer")]
    assert User.get_by_id(user.id).plan.name == "Explorer" and not sub.cancel_at_period_end
    assert states.end(sub, User.get_by_id(user.id), None, NOW) == []  # free already


def test_a_lapse_waits_for_the_grace_and_happens_once(billing):
    _, user, _ = billing
    sub = record_of(user)
    sub.status, sub.past_due_since = "past_due", NOW
    sub.save()
    grace = dt.timedelta(days=7)
    assert states.lapse(sub, NOW + dt.timedelta(days=6), grace) == []
    assert states.lapse(sub, NOW + dt.timedelta(days=7), grace) == [("downgraded", "Explorer")]
    assert User.get_by_id(user.id).plan.name == "Explorer"
    again = record_of(user)  # another clock, the same record
    assert states.lapse(again, NOW + dt.timedelta(days=8), grace) == []


def test_every_state_stripe_reports_has_its_transition():
    assert set(states.STATES.values()) <= set(states.TRANSITIONS)
