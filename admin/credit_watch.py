"""Credit running low: after each batch of usage records the writer commits (its thread), the
customers who spent credit have their balance read; under their threshold, an automatic top-up
from the card on file where they set one (on a thread of its own: Stripe is never waited on by
the writer), else one low-balance mail until the balance rises again."""

from __future__ import annotations

import logging
import threading

from models import User, db, selling
from models.selling import usd_text

from . import notices
from .selling import NANOS_PER_CENT

log = logging.getLogger(__name__)

LOW = 500 * NANOS_PER_CENT  # $5: the low-balance mail's threshold where the customer set none


class CreditWatch:
    def __init__(self, app) -> None:
        self.app = app
        self._topping: set[int] = set()  # customers whose top-up is under way
        self._lock = threading.Lock()

    def written(self, rows: list[dict]) -> None:
        spenders = {r["user"] for r in rows if r.get("credit_nanousd")}
        for uid in spenders:
            user = User.get_or_none(User.id == uid)
            if user is not None:
                self._check(user, selling.balance(uid))

    def _check(self, user: User, balance: int) -> None:
        below = (user.topup_below_cents * NANOS_PER_CENT if user.topup_below_cents is not None
                 else LOW)
        if balance >= below:
            return
        payments = self.app.extensions.get("payments")
        if user.topup_cents and payments is not None:
            with self._lock:
                if user.id in self._topping:
                    return
                self._topping.add(user.id)
            threading.Thread(target=self._top_up, args=(payments, user), daemon=True,
                             name=f"topup-{user.id}").start()
        elif not user.low_balance_mailed:
            self._low(user, balance)

    def _low(self, user: User, balance: int) -> None:
        if User.update(low_balance_mailed=True).where(
                User.id == user.id, User.low_balance_mailed == False).execute():  # noqa: E712
            notices.send(self.app.extensions["mailer"], user, "credit_low",
                         usd_text(max(0, balance)))

    def _top_up(self, payments, user: User) -> None:
        from .payments import BillingError, claimed, credits
        from .payments.records import Busy

        try:
            with self.app.app_context():
                try:
                    # One top-up at a time across processes, and only if still needed.
                    with claimed(user):
                        if selling.balance(user.id) < user.topup_below_cents * NANOS_PER_CENT:
                            credits.top_up(payments, user, user.topup_cents, auto=True)
                except Busy:
                    pass  # another process is topping up, or the plan is changing
                except BillingError as e:
                    log.warning("automatic top-up for %s failed: %s", user.email, e)
                    if not user.low_balance_mailed:
                        notices.send(self.app.extensions["mailer"], user, "topup_failed",
                                     str(e))
                        User.update(low_balance_mailed=True).where(User.id == user.id).execute()
                except Exception:
                    log.exception("automatic top-up for %s failed", user.email)
        finally:
            with self._lock:
                self._topping.discard(user.id)
            if not db.is_closed():
                db.close()
