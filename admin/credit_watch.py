"""Credit running low: after each batch of usage records the writer commits (its thread), the
customers who spent credit have their balance checked (read from the ledger at most every
RECHECK seconds, carried forward by the batches between, as the usage alerts do); under their
threshold, an automatic top-up from the card on file where they set one (on a thread of its own:
Stripe is never waited on by the writer), else one low-balance mail until the balance rises
again."""

from __future__ import annotations

import logging
import threading
import time

from models import User, db, selling
from models.selling import usd_text

from . import notices
from .selling import NANOS_PER_CENT

log = logging.getLogger(__name__)

LOW = 500 * NANOS_PER_CENT  # $5: the low-balance mail's threshold where the customer set none
RECHECK = 30.0  # seconds between readings of a customer's balance from the ledger


class CreditWatch:
    def __init__(self, app, recheck: float = RECHECK) -> None:
        self.app, self.recheck = app, recheck
        self._topping: set[int] = set()  # customers whose top-up is under way
        self._lock = threading.Lock()
        self._known: dict[int, tuple[int, float, User]] = {}  # balance, when read, the user

    def written(self, rows: list[dict]) -> None:
        spent: dict[int, int] = {}
        for r in rows:
            if r.get("credit_nanousd"):
                spent[r["user"]] = spent.get(r["user"], 0) + r["credit_nanousd"]
        for uid, amount in spent.items():
            known, clock = self._known.get(uid), time.monotonic()
            if known is None or clock - known[1] > self.recheck:
                user = User.get_or_none(User.id == uid)  # its settings may have changed too
                if user is None:
                    continue
                known = (selling.balance(uid), clock, user)
            else:
                known = (known[0] - amount, known[1], known[2])
            self._known[uid] = known
            self._check(known[2], known[0])

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
        user.low_balance_mailed = True  # for the batches that follow (the row is the truth)
        if User.update(low_balance_mailed=True).where(
                User.id == user.id, User.low_balance_mailed == False).execute():  # noqa: E712
            notices.send(self.app.extensions["mailer"], user, "credit_low",
                         usd_text(max(0, balance)))

    def _top_up(self, payments, user: User) -> None:
        self._known.pop(user.id, None)  # read again after it
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
