"""localstripe, the fake Stripe server the billing tests talk to, on loopback only:
`python -m tests.stripe_fake PORT`. Its own entry point listens on every interface and keeps
its state in a shared file under /tmp; this one binds 127.0.0.1 and starts from scratch every
time, keeping nothing on disk.

Four additions make it answer as Stripe does where the gateway relies on it:
- a subscription update takes `proration_behavior` (Stripe's parameter since 2019; localstripe
  knows only the older `prorate`, and answers 500 to the newer one), and with "none" makes no
  proration items (localstripe makes an "Unused time" credit on every plan change);
- an invoice made for a customer with no `subscription` is a one-off invoice of the customer's
  pending invoice items alone (`pending_invoice_items_behavior="include"`), as Stripe makes it;
  localstripe adds the subscription's next period to it;
- an update sends `customer.subscription.updated`, as Stripe does (localstripe sends none);
- a subscription's periods follow its `billing_cycle_anchor` and `trial_end` (localstripe
  counts a month from the start whatever they say), and one made with an anchor bills the
  part of a month up to it first, prorated as Stripe does (nothing with proration "none")."""

import sys
import time
from datetime import UTC, datetime

from aiohttp import web
from dateutil.relativedelta import relativedelta
from localstripe.resources import (
    Event,
    Invoice,
    InvoiceItem,
    Subscription,
    SubscriptionItem,
    UserError,
    schedule_webhook,
    store,
)
from localstripe.server import app

store.dump_to_disk = lambda: None  # from scratch, nothing shared with another run
_update = Subscription._update


_create_invoice = Invoice._api_create.__func__


def _pending(customer: str) -> list:
    return [ii for ii in InvoiceItem._api_list_all(None, customer=customer, limit=99)._list
            if ii.invoice is None]


def _update_with_proration_behavior(self, proration_behavior=None, **kwargs):
    if proration_behavior is not None:
        kwargs.setdefault("prorate", proration_behavior != "none")
    before = {ii.id for ii in _pending(self.customer)}
    result = _update(self, **kwargs)
    if proration_behavior == "none":  # no credit for unused time, no charge for the rest
        for ii in _pending(self.customer):
            if ii.id not in before and ii.proration:
                del store[f"invoiceitem:{ii.id}"]
    schedule_webhook(Event("customer.subscription.updated", self))
    return result


def _create_one_off_invoice(cls, customer=None, subscription=None, metadata=None,
                            description=None, pending_invoice_items_behavior=None, **kwargs):
    if subscription is None and pending_invoice_items_behavior == "include":
        if not _pending(customer):
            raise UserError(400, "Nothing to invoice for customer")
        return Invoice(customer=customer, metadata=metadata, description=description)
    return _create_invoice(cls, customer=customer, subscription=subscription,
                           metadata=metadata, description=description,
                           pending_invoice_items_behavior=pending_invoice_items_behavior,
                           **kwargs)


_init = Subscription.__init__
_period = SubscriptionItem._current_period
_amount = SubscriptionItem._calculate_amount


def _month_before(ts: int) -> int:
    return int((datetime.fromtimestamp(ts, UTC) - relativedelta(months=1)).timestamp())


def _init_remembering_proration(self, *args, proration_behavior=None, **kwargs):
    self._prorate = proration_behavior != "none"
    _init(self, *args, proration_behavior=proration_behavior, **kwargs)


def _anchored_period(self):
    sub = Subscription._api_retrieve(self._subscription) if self._subscription else None
    if sub is None or not (sub.trial_end or sub.billing_cycle_anchor):
        return _period(self)
    now = int(time.time())
    if sub.trial_end and now < sub.trial_end:
        return {"start": sub.start_date, "end": sub.trial_end}
    anchor = sub.trial_end or sub.billing_cycle_anchor
    if now < anchor:
        return {"start": sub.start_date, "end": anchor}
    start, k = anchor, 0
    while True:  # the period of the anchor's monthly cycle that holds now
        end = int((datetime.fromtimestamp(anchor, UTC) + relativedelta(months=k + 1))
                  .timestamp())
        if now < end:
            return {"start": start, "end": end}
        start, k = end, k + 1


def _first_part_prorated(self):
    full = _amount(self)
    sub = Subscription._api_retrieve(self._subscription) if self._subscription else None
    anchor = getattr(sub, "billing_cycle_anchor", None)
    now = int(time.time())
    if anchor is None or now >= anchor or sub.latest_invoice is not None or sub.trial_end:
        return full
    if not getattr(sub, "_prorate", True):
        return 0
    return round(full * (anchor - now) / (anchor - _month_before(anchor)))


Subscription.__init__ = _init_remembering_proration
SubscriptionItem._current_period = _anchored_period
SubscriptionItem._calculate_amount = _first_part_prorated
Subscription._update = _update_with_proration_behavior
Invoice._api_create = classmethod(_create_one_off_invoice)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
