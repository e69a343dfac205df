"""The billing clock: what falls due with time, checked every minute by each gateway process
(each change claimed, so it happens once): grace periods that lapsed, downgrades due at the end
of the period paid for, and subscriptions still billed on another day moved to the 1st."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from models import Subscription, db, utcnow
from models.base import write_transaction
from models.month import epoch, next_month_start

from .money import field, monthly_cents, prorated_stretch, stamp
from .records import BillingError, claimed
from .states import STATES, lapse

log = logging.getLogger(__name__)


class BillingClock:
    def __init__(self, payments) -> None:
        self.payments = payments

    def tick(self, now: dt.datetime | None = None) -> int:
        """The periodic check (the billing clock): every lapsed subscription, and every
        downgrade due at the end of its period."""
        now, count = now or utcnow(), 0
        for sub in Subscription.select().where(Subscription.status == "past_due",
                                               Subscription.downgraded_at.is_null()):
            with write_transaction():
                mail = lapse(sub, now, self.payments.grace)
            self.payments.send(sub.user, mail)
            count += bool(mail)
        for sub in Subscription.select().where(Subscription.next_plan.is_null(False),
                                               Subscription.current_period_end <= now):
            self.move_at_period_end(sub)
            count += 1
        for sub in Subscription.select().where(Subscription.realign_at <= now):
            count += self.realign(sub, now)
        return count

    def realign(self, sub: Subscription, now: dt.datetime) -> bool:
        """Move a subscription billed on another day (made before billing was anchored) to the
        1st: the stretch from the end of the period paid for to the next 1st is charged now,
        prorated, and Stripe bills nothing more until that 1st (a trial to it), then the
        whole price each 1st. A payment that fails changes nothing and is tried a day later."""
        if not Subscription.update(realign_at=now + dt.timedelta(days=1)).where(
                Subscription.id == sub.id, Subscription.realign_at <= now).execute():
            return False  # another process's clock has it
        try:
            with claimed(sub.user) as sub:
                return self._realign(sub)
        except BillingError:  # the customer is changing their plan: after that
            Subscription.update(realign_at=now).where(Subscription.id == sub.id).execute()
            return False

    def _realign(self, sub: Subscription) -> bool:
        remote = self.payments.stripe.v1.subscriptions.retrieve(sub.stripe_subscription)
        item = remote["items"]["data"][0]
        end = stamp(field(remote, "current_period_end") or field(item, "current_period_end"))
        if STATES.get(remote["status"]) != "active" or end is None \
                or remote["cancel_at_period_end"]:
            if STATES.get(remote["status"]) == "canceled":
                Subscription.update(realign_at=None).where(Subscription.id == sub.id).execute()
            return False  # past due or ending: looked at again tomorrow
        target = next_month_start(end - dt.timedelta(microseconds=1))
        if target != end:
            cents = prorated_stretch(monthly_cents(sub) or 0, end, target)
            if cents > 0 and not self.payments.charge(
                    sub, cents, f"{sub.plan.name if sub.plan else 'Plan'} from "
                    f"{end:%Y-%m-%d} to {target:%Y-%m-%d}, billed from the 1st after",
                    {"realign_to": target.strftime("%Y-%m-%d")}):
                log.warning("billing day of customer %s not moved: the payment failed; "
                            "tried again tomorrow", sub.user_id)
                return False
            self.payments.stripe.v1.subscriptions.update(sub.stripe_subscription, params={
                "trial_end": epoch(target), "proration_behavior": "none"})
        Subscription.update(realign_at=None).where(Subscription.id == sub.id).execute()
        self.payments.refresh(sub.stripe_subscription)
        return True

    def move_at_period_end(self, sub: Subscription) -> None:
        price = self.payments.price_for(sub, sub.next_plan)
        remote = self.payments.stripe.v1.subscriptions.retrieve(sub.stripe_subscription)
        item = remote["items"]["data"][0]
        self.payments.stripe.v1.subscriptions.update(sub.stripe_subscription, params={
            "items": [{"id": item["id"], "plan": price}], "proration_behavior": "none"})
        self.payments.refresh(sub.stripe_subscription)


def start_clock(app, every: float = 60.0) -> threading.Thread:
    """The billing clock of a running gateway: lapsed grace periods and downgrades due at the
    end of a period, checked every minute (each worker's clock may run; the changes are
    claimed, so each happens once)."""

    def run() -> None:
        while True:
            time.sleep(every)
            try:
                with app.app_context():
                    db.connect(reuse_if_open=True)
                    try:
                        BillingClock(app.extensions["payments"]).tick()
                    finally:
                        db.close()
            except Exception:
                log.exception("billing clock: a check failed; the next one retries")

    thread = threading.Thread(target=run, name="billing-clock", daemon=True)
    thread.start()
    return thread
