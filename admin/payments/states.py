"""A subscription's states as the gateway keeps them, and the transitions Stripe's word makes:
a table from the state Stripe reports to the step that applies it, each a small function of
the billing record, the customer and the plan the subscription bills, returning the notices
to mail once the change has committed. The grace period's end is one more transition, made
by the billing clock."""

from __future__ import annotations

import datetime as dt

from models import Plan, Subscription, User

from .records import free_plan

# Stripe's subscription states, as the gateway tells them.
STATES = {"active": "active", "trialing": "active", "past_due": "past_due",
          "unpaid": "past_due", "canceled": "canceled", "incomplete_expired": "canceled"}
PLAN_CHANGES = ("plan_changed", "downgraded")  # notices that come with a change of plan


def set_plan(user: User, plan: Plan) -> None:
    """Inside the caller's transaction (the gateway is told once it committed). The month's
    allowance is prorated, as the charge is."""
    user.change_plan(plan, prorate=True)
    user.save()


def activate(sub: Subscription, user: User, plan: Plan | None, now: dt.datetime) -> list:
    """Paid and in good standing: the plan it bills, at once."""
    if plan is None:
        return []
    sub.plan, sub.past_due_since, sub.downgraded_at = plan, None, None
    if sub.next_plan_id == plan.id:
        sub.next_plan = None
    if user.plan_id == plan.id:
        return []
    set_plan(user, plan)
    return [("plan_changed", plan.name)]


def fall_due(sub: Subscription, user: User, plan: Plan | None, now: dt.datetime) -> list:
    """A payment failed: past due from now (told once); the plan stays for the grace period."""
    sub.plan = plan or sub.plan
    if sub.past_due_since is not None:
        return []
    sub.past_due_since = now
    return [("payment_failed", None)]


def end(sub: Subscription, user: User, plan: Plan | None, now: dt.datetime) -> list:
    """The subscription ended: the free plan, unless the customer is invoiced outside."""
    sub.next_plan, sub.cancel_at_period_end = None, False
    if user.plan.price_cents == 0 or sub.invoiced_outside:
        return []
    free = free_plan()
    set_plan(user, free)
    return [("downgraded", free.name)]


TRANSITIONS = {"active": activate, "past_due": fall_due, "canceled": end}


def lapse(sub: Subscription, now: dt.datetime, grace: dt.timedelta) -> list:
    """Past due beyond the grace period: the free plan until the invoice is paid (once, even
    with several billing clocks running)."""
    if (sub.status != "past_due" or sub.past_due_since is None or sub.downgraded_at
            or now < sub.past_due_since + grace):
        return []
    free = free_plan()
    claimed = Subscription.update(downgraded_at=now).where(
        Subscription.id == sub.id, Subscription.downgraded_at.is_null()).execute()
    if sub.id is not None and not claimed:
        return []  # another process (a worker's billing clock) did it
    sub.downgraded_at = now
    sub.save()
    if sub.user.plan_id == free.id:
        return []
    set_plan(sub.user, free)
    return [("downgraded", free.name)]
