"""Stripe's word applied, against a real SQLite file and no Stripe: a plan change is told to the
gateway only once the transaction that made it has committed."""

from __future__ import annotations

import datetime as dt

import pytest

import config
from admin import accounts, payments
from admin.payments import Payments
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
    monkeypatch.setattr(payments.notices, "send", lambda *args: None)
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
