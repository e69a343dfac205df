"""Payments: the paid plans as Stripe products and monthly prices, customers' subscriptions
made and changed through Stripe, and Stripe's word (a webhook's event, read back first)
applied to each customer's plan through the transitions of states.py."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

import stripe

from models import Invoice, Plan, StripeEvent, Subscription, User, utcnow
from models.base import write_transaction
from models.month import epoch, next_month_start
from models.selling import usd_text

from .. import accounts, notices
from . import credits
from .money import field, monthly_cents, price_id, prorated_cents, stamp
from .records import BillingError, billing_row, claimed, subscription_of
from .states import PLAN_CHANGES, STATES, TRANSITIONS, lapse

log = logging.getLogger(__name__)


class Payments:
    def __init__(self, cfg, mailer) -> None:
        self.cfg, self.mailer = cfg, mailer
        self.grace = dt.timedelta(days=cfg.billing_grace_days)
        self.stripe = stripe.StripeClient(cfg.stripe_secret_key,
                                          base_addresses={"api": cfg.stripe_api_base},
                                          max_network_retries=2)

    # --- plans ------------------------------------------------------------------------------

    def sync_plans(self) -> list[str]:
        """A Stripe product and monthly price for every paid plan (idempotent). A changed price
        is a new Stripe price; subscriptions on the old one move at their next period."""
        done = []
        for plan in Plan.select().where(Plan.price_cents > 0).order_by(Plan.id):
            done.append(self._sync_plan(plan))
        return done

    def _product(self, plan: Plan) -> str:
        if not plan.stripe_product:
            plan.stripe_product = self.stripe.v1.products.create(params={
                "name": f"llm-gateway {plan.name}", "metadata": {"plan": plan.name}}).id
            plan.save()
        return plan.stripe_product

    def _sync_plan(self, plan: Plan) -> str:
        self._product(plan)
        wanted = price_id(plan.name, plan.price_cents)
        if plan.stripe_price == wanted:
            return f"{plan.name}: {wanted} (unchanged)"
        self._ensure_price(wanted, plan.stripe_product, plan.price_cents)
        old, plan.stripe_price = plan.stripe_price, wanted
        plan.save()
        moved = self._move_subscriptions(plan, old, wanted) if old else 0
        return f"{plan.name}: {wanted} (new{f'; {moved} subscriptions move' if moved else ''})"

    def _ensure_price(self, pid: str, product: str, cents: int) -> None:
        try:
            self.stripe.v1.plans.retrieve(pid)
        except stripe.InvalidRequestError:
            self.stripe.v1.plans.create(params={
                "id": pid, "product": product, "amount": cents, "currency": "usd",
                "interval": "month"})

    def _move_subscriptions(self, plan: Plan, old: str, new: str) -> int:
        moved = 0
        for sub in Subscription.select().where(Subscription.plan == plan,
                                               Subscription.stripe_subscription != "",
                                               Subscription.status != "canceled"):
            remote = self.stripe.v1.subscriptions.retrieve(sub.stripe_subscription)
            item = remote["items"]["data"][0]
            if item["plan"]["id"] == old:
                self.stripe.v1.subscriptions.update(sub.stripe_subscription, params={
                    "items": [{"id": item["id"], "plan": new}], "proration_behavior": "none"})
                moved += 1
        return moved

    def price_for(self, sub: Subscription, plan: Plan) -> str:
        if plan.price_cents is None:  # custom: the operator's price for this customer
            if sub.custom_price_cents is None:
                raise BillingError(f"the {plan.name} plan has a custom price: ask us for it")
            pid = price_id(f"{plan.name}-{sub.user_id}", sub.custom_price_cents)
            self._ensure_price(pid, self._product(plan), sub.custom_price_cents)
            return pid
        if not plan.stripe_price:
            self._sync_plan(plan)
        return plan.stripe_price

    # --- customers and subscriptions ----------------------------------------------------------

    def customer(self, user: User, sub: Subscription | None = None) -> Subscription:
        """The customer's billing record, with a Stripe customer made on first need (one, even
        when two requests make it at once: the second's is deleted)."""
        sub = sub or billing_row(user)
        if not sub.stripe_customer:
            found = self.stripe.v1.customers.create(params={
                "email": user.email, "metadata": {"user_id": str(user.id)}})
            if not Subscription.update(stripe_customer=found.id).where(
                    Subscription.id == sub.id, Subscription.stripe_customer == "").execute():
                with contextlib.suppress(stripe.StripeError):
                    self.stripe.v1.customers.delete(found.id)
            sub = Subscription.get_by_id(sub.id)
        return sub

    def subscribe(self, user: User, plan: Plan, payment_method: str | None = None) -> str:
        """Start or change the customer's paid plan. Returns what happens next, for the page.
        The plan itself changes when Stripe's events say the payment went through."""
        if plan.price_cents == 0:
            return self.cancel(user)
        with claimed(user) as sub:
            if not plan.public and plan.id != user.plan_id and plan.id != sub.plan_id:
                raise BillingError(f"the {plan.name} plan is not offered; ask us about it")
            return self._subscribe(user, self.customer(user, sub), plan, payment_method)

    def _live(self, sub: Subscription) -> bool:
        """Whether the customer has a live subscription: as Stripe holds it when the gateway
        has not heard yet (a subscription made a moment ago, its events still on the way)."""
        if not sub.stripe_subscription:
            return False
        if sub.status in ("active", "past_due"):
            return True
        remote = self.stripe.v1.subscriptions.retrieve(sub.stripe_subscription)
        return STATES.get(remote["status"]) in ("active", "past_due")

    def _subscribe(self, user: User, sub: Subscription, plan: Plan,
                   payment_method: str | None) -> str:
        if sub.invoiced_outside:
            raise BillingError("this account is invoiced outside the gateway")
        if payment_method:
            self.set_card(sub, payment_method)
        price = self.price_for(sub, plan)
        if self._live(sub):
            return self._change(sub, plan, price)
        if self.card(sub) is None:
            raise BillingError("add a card first")
        # Billed from the 1st, as the quota counts: the rest of this month now (Stripe
        # prorates it), then the whole price on each 1st (models/month.py).
        remote = self.stripe.v1.subscriptions.create(params={
            "customer": sub.stripe_customer, "items": [{"plan": price}],
            "billing_cycle_anchor": epoch(next_month_start(utcnow())),
            "proration_behavior": "create_prorations",
            "metadata": {"user_id": str(user.id), "plan": plan.name}})
        if remote["status"] not in STATES or STATES[remote["status"]] != "active":
            self._abandon(remote)
            raise BillingError("your card was declined; the plan is unchanged")
        with write_transaction():
            sub.stripe_subscription, sub.next_plan = remote.id, None
            sub.cancel_at_period_end = False
            sub.save()
        return "payment accepted; your plan changes as soon as Stripe confirms it"

    def _abandon(self, remote) -> None:
        """An incomplete subscription whose first payment failed: cancelled, so no invoice
        for it stays open."""
        with contextlib.suppress(stripe.StripeError):
            self.stripe.v1.subscriptions.cancel(remote.id)

    def _change(self, sub: Subscription, plan: Plan, price: str) -> str:
        remote = self.stripe.v1.subscriptions.retrieve(sub.stripe_subscription)
        item = remote["items"]["data"][0]
        current = monthly_cents(sub) or 0
        new = plan.price_cents if plan.price_cents is not None else sub.custom_price_cents
        if item["plan"]["id"] == price:
            if sub.cancel_at_period_end or sub.next_plan_id:  # taking back a scheduled change
                self.stripe.v1.subscriptions.update(sub.stripe_subscription,
                                                    params={"cancel_at_period_end": False})
                Subscription.update(cancel_at_period_end=False, next_plan=None).where(
                    Subscription.id == sub.id).execute()
                return "the scheduled change is cancelled; your plan stays"
            return "this is your plan already"
        if (new or 0) < current:  # a downgrade: at the end of the period paid for
            Subscription.update(next_plan=plan, cancel_at_period_end=False).where(
                Subscription.id == sub.id).execute()
            end = f" on {sub.current_period_end:%Y-%m-%d}" if sub.current_period_end else ""
            return f"you move to {plan.name}{end}, the end of the period paid for"
        # An upgrade: at once. The difference for the rest of the period (the unused time of
        # the old plan credited, as Stripe prorates) is invoiced and paid first; only a paid
        # invoice moves the subscription to the new price, so a failed payment changes nothing.
        due = prorated_cents((new or 0) - current, remote, item)
        if due > 0 and not self.charge(sub, due, f"Upgrade to {plan.name}, for the rest "
                                        "of this period", {"upgrade_to": plan.name}):
            raise BillingError("the payment for the upgrade failed; your plan is unchanged. "
                               "Update your card and try again")
        self.stripe.v1.subscriptions.update(sub.stripe_subscription, params={
            "items": [{"id": item["id"], "plan": price}], "proration_behavior": "none",
            "cancel_at_period_end": False,
            "metadata": {"user_id": str(sub.user_id), "plan": plan.name}})
        Subscription.update(next_plan=None, cancel_at_period_end=False).where(
            Subscription.id == sub.id).execute()
        return "payment accepted; your plan changes as soon as Stripe confirms it"

    def charge(self, sub: Subscription, cents: int, description: str,
                metadata: dict) -> bool:
        """Invoice and pay a one-off amount: whether it was paid. A payment that fails voids
        the invoice, so nothing stays open."""
        self.stripe.v1.invoice_items.create(params={
            "customer": sub.stripe_customer, "amount": cents, "currency": "usd",
            "description": description})
        invoice = self.stripe.v1.invoices.create(params={
            "customer": sub.stripe_customer, "pending_invoice_items_behavior": "include",
            "metadata": {"user_id": str(sub.user_id), **metadata}})
        try:
            if invoice["status"] != "paid":
                invoice = self.stripe.v1.invoices.pay(invoice.id)
        except stripe.CardError:
            invoice = self.stripe.v1.invoices.retrieve(invoice.id)
        if invoice["status"] != "paid":
            with contextlib.suppress(stripe.StripeError):
                self.stripe.v1.invoices.void_invoice(invoice.id)
            return False
        return True

    def cancel(self, user: User) -> str:
        """Back to the free plan at the end of the period paid for."""
        with claimed(user) as sub:
            return self._cancel(sub)

    def _cancel(self, sub: Subscription) -> str:
        if not self._live(sub):
            return "you are on no paid subscription"
        self.stripe.v1.subscriptions.update(sub.stripe_subscription,
                                            params={"cancel_at_period_end": True})
        Subscription.update(cancel_at_period_end=True, next_plan=None).where(
            Subscription.id == sub.id).execute()
        end = sub.current_period_end
        return f"your subscription ends on {end:%Y-%m-%d}" if end else "your subscription ends"

    def set_card(self, sub: Subscription, payment_method: str) -> None:
        """The card becomes the customer's default for invoices."""
        try:
            self.stripe.v1.payment_methods.attach(payment_method,
                                                  params={"customer": sub.stripe_customer})
        except stripe.CardError as e:
            raise BillingError(e.user_message or "your card was declined") from None
        self.stripe.v1.customers.update(sub.stripe_customer, params={
            "invoice_settings": {"default_payment_method": payment_method}})

    def card(self, sub: Subscription) -> dict | None:
        """The card on file: brand, last four digits, expiry."""
        if not sub.stripe_customer:
            return None
        customer = self.stripe.v1.customers.retrieve(sub.stripe_customer)
        settings = field(customer, "invoice_settings") or {}
        pm = field(settings, "default_payment_method")
        if not pm:
            return None
        card = self.stripe.v1.payment_methods.retrieve(pm)["card"]
        return {"brand": card["brand"], "last4": card["last4"],
                "exp": f"{card['exp_month']:02d}/{card['exp_year']}"}

    def pay_open_invoices(self, user: User) -> int:
        """Retry what is unpaid with the card on file (after the customer changed it)."""
        sub = subscription_of(user)
        paid = 0
        for inv in self.stripe.v1.invoices.list(params={"customer": sub.stripe_customer}):
            if inv["status"] == "open":
                try:
                    if self.stripe.v1.invoices.pay(inv.id)["status"] == "paid":
                        paid += 1
                except stripe.CardError as e:
                    raise BillingError(e.user_message or "your card was declined") from None
        return paid

    # --- Stripe's word, applied ---------------------------------------------------------------

    def read_back(self, subscription_id: str) -> dict:
        """A subscription as Stripe holds it now, in the terms the gateway keeps."""
        remote = self.stripe.v1.subscriptions.retrieve(subscription_id)
        item = remote["items"]["data"][0]
        end = field(remote, "current_period_end") or field(item, "current_period_end")
        return {"id": remote.id, "customer": remote["customer"], "status": remote["status"],
                "price": item["plan"]["id"], "product": field(item["plan"], "product"),
                "period_end": stamp(end),
                "cancel_at_period_end": bool(remote["cancel_at_period_end"])}

    def read_invoice(self, invoice_id: str) -> dict:
        inv = self.stripe.v1.invoices.retrieve(invoice_id)
        paid_at = field(field(inv, "status_transitions") or {}, "paid_at")
        return {"id": inv.id, "customer": inv["customer"],
                "total": int(inv["total"]), "paid": int(inv["amount_paid"]),
                "currency": inv["currency"], "status": inv["status"],
                "period_start": stamp(inv["period_start"]),
                "period_end": stamp(inv["period_end"]),
                "url": field(inv, "hosted_invoice_url") or "",
                "paid_at": stamp(paid_at)}

    def apply_event(self, event) -> tuple:
        """Read back what the event is about, then apply it and mark the event, in one
        transaction: a failure leaves nothing half applied, and the event is tried again.
        Returns the customer and the notices to mail after the commit."""
        obj, kind = event["data"]["object"], event["type"]
        invoice, sub_id, payment = None, None, None
        if kind == "payment_intent.succeeded" and field(obj, "id"):
            payment = credits.read_payment(self, obj["id"])
        elif kind.startswith("customer.subscription."):
            sub_id = obj["id"]
        elif kind.startswith("invoice.") and field(obj, "id"):
            invoice = self.read_invoice(obj["id"])
            details = field(field(obj, "parent") or {}, "subscription_details") or {}
            sub_id = field(obj, "subscription") or field(details, "subscription")
        remote = self.read_back(sub_id) if sub_id else None
        with write_transaction():
            if StripeEvent.select().where(StripeEvent.event_id == event["id"]).exists():
                return None, []  # applied meanwhile, by another process
            StripeEvent.create(event_id=event["id"], type=kind)
            if payment is not None:
                movement = credits.credited(payment, tell=False)
                if movement is None:
                    return None, []
                return User.get_by_id(movement.user_id), [
                    ("credit_added", usd_text(movement.amount_nanousd))]
            if invoice is not None:
                self.apply_invoice(invoice)
            return self.apply_subscription(remote) if remote else (None, [])

    def apply_invoice(self, inv: dict) -> None:
        sub = Subscription.get_or_none(Subscription.stripe_customer == inv["customer"])
        if sub is None:
            return
        fields = dict(user=sub.user_id, amount_cents=inv["total"], paid_cents=inv["paid"],
                      currency=inv["currency"], status=inv["status"],
                      period_start=inv["period_start"], period_end=inv["period_end"],
                      url=inv["url"], paid_at=inv["paid_at"])
        if Invoice.update(**fields).where(Invoice.stripe_id == inv["id"]).execute() == 0:
            Invoice.create(stripe_id=inv["id"], **fields)

    def apply_subscription(self, remote: dict, now: dt.datetime | None = None) -> tuple:
        """Bring the customer's plan in line with their subscription. Returns the customer
        (None when unknown here) and the notices to mail once the change is committed."""
        now = now or utcnow()
        sub = Subscription.get_or_none(Subscription.stripe_customer == remote["customer"])
        if sub is None:
            return None, []
        user = sub.user
        if sub.stripe_subscription and sub.stripe_subscription != remote["id"] \
                and STATES.get(remote["status"]) != "active":
            return user, []  # an old subscription's news: the current one decides
        state = STATES.get(remote["status"], sub.status)
        if sub.status == "none" and state != "active":
            return user, []  # an attempt that never went through (a declined first payment)
        plan = self._plan_of(remote["price"], remote.get("product"))
        sub.stripe_subscription = remote["id"]
        sub.current_period_end = remote["period_end"]
        sub.cancel_at_period_end = remote["cancel_at_period_end"]
        sub.updated_at = now
        step = TRANSITIONS.get(state)
        mail = step(sub, user, plan, now) if step is not None else []
        sub.status = state
        sub.save()
        return user, mail + lapse(sub, now, self.grace)

    @staticmethod
    def _plan_of(price: str, product: str | None = None) -> Plan | None:
        """The plan a Stripe price bills: by the price, else by its product (an older price
        of the plan's, a customer's custom price, or one made in Stripe's dashboard)."""
        plan = Plan.get_or_none(Plan.stripe_price == price)
        if plan is None and product:
            plan = Plan.get_or_none(Plan.stripe_product == product)
        return plan

    def refresh(self, subscription_id: str) -> None:
        """Stripe's state of a subscription read back and applied, its notices mailed."""
        with write_transaction():
            user, mail = self.apply_subscription(self.read_back(subscription_id))
        self.send(user, mail)

    def send(self, user: User, mail: list) -> None:
        """After the change committed: every gateway process told at once where the plan
        changed (told before the commit, a request in between would cache the old plan for
        KEY_CACHE_TTL), then the mail."""
        if any(kind in PLAN_CHANGES or kind == "credit_added" for kind, _ in mail):
            accounts.announce()
        for kind, detail in mail:
            notices.send(self.mailer, user, kind, detail)
