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
- an update sends `customer.subscription.updated`, as Stripe does (localstripe sends none)."""

import sys

from aiohttp import web
from localstripe.resources import (
    Event,
    Invoice,
    InvoiceItem,
    Subscription,
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


Subscription._update = _update_with_proration_behavior
Invoice._api_create = classmethod(_create_one_off_invoice)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
