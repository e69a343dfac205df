"""Billing through Stripe, end to end: the real gateway process, localstripe (a fake Stripe
server on loopback) that the official `stripe` library talks to and that delivers signed
webhooks to the gateway, and a real SMTP server (aiosmtpd) that the gateway's mail reaches.

Covered here: plans synced to Stripe products and prices, a subscription paid by card and the
plan changed on Stripe's word (its webhook), the limits changed at once, invoices, a failed
renewal walked through dunning (past due, mail, the free plan after a grace of 0 days, paying
restores the plan), and webhooks that are forged, unsigned, stale or replayed."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time

import httpx
import pytest

from tests.conftest import ROOT, SECRET, chat, wait_until

ARTIFACTS = ROOT / "test-artifacts"  # screenshots for people to look at


def payments_of(gw):
    """The billing service as the gateway's own app builds it (bound to its database)."""
    import config
    from admin.mail import Mailer
    from admin.payments import Payments

    cfg = config.load(gw.env)
    return Payments(cfg, Mailer(cfg.smtp_url, cfg.mail_from))


def subscribed(gw, email: str, plan: str):
    """A new customer on `plan`, paid by card, once Stripe's webhook has changed the plan.
    Returns the billing service."""
    from models import User

    gw.admin("stripe-sync")
    gw.admin("create-user", email, "--plan", "Explorer")
    p = payments_of(gw)
    p.subscribe(User.get(User.email == email), p_plan(plan), card(gw, "4242424242424242"))
    wait_until(lambda: plan_of(email) == plan, what=f"the upgrade to {plan}")
    return p


def next_first() -> dt.datetime:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return (now.replace(day=28) + dt.timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)


def month_share(monthly: int, now: dt.datetime | None = None) -> float:
    """`monthly` for the rest of this calendar month, from `now`."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    end = next_first()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return monthly * (end - now).total_seconds() / (end - start).total_seconds()


def card(gw, number: str) -> str:
    pm = gw.stripe.v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2030,
                                 "cvc": "123"}})
    return pm.id


def plan_of(email: str) -> str:
    from models import User

    return User.get(User.email == email).plan.name


def billing_json(gw, email: str) -> dict:
    return json.loads(gw.admin("billing", email).stdout)


def sign(payload: bytes, ts: int | None = None, secret: str = SECRET) -> str:
    ts = int(time.time()) if ts is None else ts
    mac = hmac.new(secret.encode(), b"%d.%s" % (ts, payload), hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def test_stripe_sync_makes_one_price_per_paid_plan_and_a_new_one_when_it_changes(billed):
    out = billed.admin("stripe-sync").stdout
    assert "Startup: llm-gateway-startup-2900-usd-month (new)" in out
    assert "Growth: llm-gateway-growth-9900-usd-month (new)" in out
    assert "Explorer" not in out and "Enterprise" not in out  # free, and custom-priced
    price = billed.stripe.v1.plans.retrieve("llm-gateway-startup-2900-usd-month")
    assert (price["amount"], price["currency"], price["interval"]) == (2900, "usd", "month")
    again = billed.admin("stripe-sync").stdout
    assert "(unchanged)" in again and "(new" not in again
    billed.admin("edit-plan", "Startup", "--price-cents", "3900")
    assert "Startup: llm-gateway-startup-3900-usd-month (new)" in billed.admin("stripe-sync").stdout
    assert billed.stripe.v1.plans.retrieve("llm-gateway-startup-3900-usd-month")["amount"] == 3900


def test_a_paid_upgrade_a_failed_renewal_dunning_and_payment_restoring_the_plan(billed):
    from models import Invoice, User

    billed.admin("stripe-sync")
    email = "payer@example.com"
    billed.admin("create-user", email, "--plan", "Explorer", "--password-stdin",
                 input="payer-password-123\n")
    key = billed.create_key(email)
    p = payments_of(billed)
    user = User.get(User.email == email)

    # Explorer allows 20 requests a minute.
    assert [chat(billed, key).status_code for _ in range(21)][-1] == 429

    # A card that pays: the plan changes once Stripe's webhook reaches the gateway.
    p.subscribe(user, p_plan("Startup"), card(billed, "4242424242424242"))
    wait_until(lambda: plan_of(email) == "Startup", what="the webhook's plan change")
    assert chat(billed, key).status_code == 200  # Startup's 60 a minute, at once
    state = billing_json(billed, email)
    assert state["status"] == "active" and state["plan"] == "Startup"
    assert state["stripe_customer"].startswith("cus_")
    assert state["stripe_subscription"].startswith("sub_")
    assert state["current_period_end"] == next_first().isoformat() + "Z"
    [(amount, status)] = [(i["amount_cents"], i["status"]) for i in state["invoices"]]
    assert status == "paid" and abs(amount - month_share(2900)) <= 1
    assert "Your plan is now Startup" in billed.inbox.subjects(email)

    # The renewal fails: past due, a mail, and with no grace the free plan. localstripe has no
    # clock: moving the subscription to a price that bills a new period stands in for the
    # renewal (it invoices and charges at once, as a renewal does).
    failing = card(billed, "4000000000000341")
    p.stripe.v1.payment_methods.attach(failing, params={"customer": state["stripe_customer"]})
    p.stripe.v1.customers.update(state["stripe_customer"], params={
        "invoice_settings": {"default_payment_method": failing}})
    product = p_plan("Startup").stripe_product
    p.stripe.v1.plans.create(params={"id": "renewal-test", "product": product, "amount": 5800,
                                     "currency": "usd", "interval": "month",
                                     "interval_count": 2})
    remote = p.stripe.v1.subscriptions.retrieve(state["stripe_subscription"])
    p.stripe.v1.subscriptions.update(state["stripe_subscription"], params={
        "items": [{"id": remote["items"]["data"][0]["id"], "plan": "renewal-test"}]})
    renewal = p.stripe.v1.subscriptions.retrieve(state["stripe_subscription"])["latest_invoice"]
    assert p.stripe.v1.invoices.retrieve(renewal)["status"] == "open"
    billed.inbox.wait_for(email, subject="Your payment failed")
    billed.inbox.wait_for(email, subject="Your plan was changed to Explorer")
    wait_until(lambda: plan_of(email) == "Explorer", what="the fall back to the free plan")
    assert billing_json(billed, email)["status"] == "past_due"
    # Keys keep working within the free plan; the customer's pages carry a banner.
    assert chat(billed, key).status_code in (200, 429)
    assert 'id="past-due"' in customer_session(billed, email, "payer-password-123").get("/").text

    # The customer pays the open invoice with a new card, from the Plan & billing page's API
    # (its card confirmed by Stripe.js in a browser; made here directly): the plan comes back.
    session = customer_session(billed, email, "payer-password-123")
    token = re.search(r'name="csrf-token" content="([^"]+)"', session.get("/billing").text)
    r = session.post("/billing/pay", json={"payment_method": card(billed, "4242424242424242")},
                     headers={"X-CSRFToken": token.group(1)})
    assert r.status_code == 200 and r.json()["message"] == "1 invoice(s) paid"
    assert p.stripe.v1.invoices.retrieve(renewal)["status"] == "paid"
    wait_until(lambda: plan_of(email) == "Startup", what="the plan restored")
    assert billing_json(billed, email)["status"] == "active"
    wait_until(lambda: Invoice.get_or_none(Invoice.stripe_id == renewal) is not None
               and Invoice.get(Invoice.stripe_id == renewal).status == "paid",
               what="the renewal invoice paid")

    # A late event (the failure, delivered after the payment) changes nothing: what it is
    # about is read back from Stripe, which says paid and active.
    late = json.dumps({"id": "evt_late_failure", "object": "event", "type":
                       "invoice.payment_failed", "created": int(time.time()),
                       "data": {"object": {"id": renewal, "object": "invoice",
                                           "subscription": state["stripe_subscription"],
                                           "status": "open"}}}).encode()
    r = httpx.post(f"{billed.url}/billing/webhook", content=late,
                   headers={"content-type": "application/json", "stripe-signature": sign(late)})
    assert r.status_code == 200
    assert plan_of(email) == "Startup" and billing_json(billed, email)["status"] == "active"


def p_plan(name: str):
    from models import Plan

    return Plan.get(Plan.name == name)


def test_a_declined_card_leaves_the_plan_unchanged(billed):
    from admin.payments import BillingError
    from models import User

    billed.admin("stripe-sync")
    email = "declined@example.com"
    billed.admin("create-user", email, "--plan", "Explorer")
    p = payments_of(billed)
    declined = card(billed, "4000000000000002")
    with pytest.raises(BillingError, match="declined"):
        p.subscribe(User.get(User.email == email), p_plan("Startup"), declined)
    time.sleep(1.5)  # any webhook would have come by now
    assert plan_of(email) == "Explorer"
    assert billing_json(billed, email)["status"] == "none"


def test_forged_unsigned_stale_and_replayed_webhooks_change_nothing(billed):
    from models import StripeEvent

    email = "target@example.com"
    subscribed(billed, email, "Growth")
    sub = billing_json(billed, email)["stripe_subscription"]

    hook = f"{billed.url}/billing/webhook"
    forged = json.dumps({"id": "evt_forged", "object": "event", "type":
                         "customer.subscription.deleted", "created": int(time.time()),
                         "data": {"object": {"id": sub, "object": "subscription"}}}).encode()
    headers = {"content-type": "application/json"}
    assert httpx.post(hook, content=forged, headers=headers).status_code == 400  # unsigned
    assert httpx.post(hook, content=forged, headers={
        **headers, "stripe-signature": sign(forged, secret="whsec_guess")}).status_code == 400
    stale = sign(forged, ts=int(time.time()) - 3600)  # a real signature, an hour old
    assert httpx.post(hook, content=forged,
                      headers={**headers, "stripe-signature": stale}).status_code == 400
    assert not StripeEvent.select().where(StripeEvent.event_id == "evt_forged").exists()
    assert plan_of(email) == "Growth"

    # A real event, delivered again (signed anew, as a replay would need): applied once.
    events = billed.stripe.v1.events.list(params={"type": "invoice.payment_succeeded"})
    event = next(e for e in events.data if e["data"]["object"]["subscription"] == sub)
    wait_until(lambda: StripeEvent.select().where(StripeEvent.event_id == event.id).exists(),
               what="the first delivery")
    mails = len(billed.inbox.subjects(email))
    body = json.dumps(event.to_dict()).encode()
    r = httpx.post(hook, content=body, headers={**headers, "stripe-signature": sign(body)})
    assert r.status_code == 200 and r.json() == {"duplicate": True, "received": True}
    assert StripeEvent.select().where(StripeEvent.event_id == event.id).count() == 1
    assert len(billed.inbox.subjects(email)) == mails
    assert plan_of(email) == "Growth"


def test_without_stripe_settings_billing_is_off(gateway):
    assert httpx.get(f"{gateway.url}/billing/webhook").status_code in (404, 405)
    r = httpx.post(f"{gateway.url}/billing/webhook", content=b"{}")
    assert r.status_code == 404
    out = gateway.admin("stripe-sync", check=False)
    assert out.returncode != 0 and "STRIPE_SECRET_KEY" in out.stderr


@pytest.mark.browser
def test_in_chromium_a_customer_upgrades_by_card_and_a_declined_card_changes_nothing(billed):
    from playwright.sync_api import expect, sync_playwright

    billed.admin("stripe-sync")
    password = "billing-browser-password"
    for email in ("upgrader@example.com", "decliner@example.com"):
        billed.admin("create-user", email, "--plan", "Explorer", "--password-stdin",
                     input=password + "\n")
    key = billed.create_key("upgrader@example.com")
    assert [chat(billed, key).status_code for _ in range(21)][-1] == 429  # Explorer: 20/min

    def checkout(page, email, number):
        page.goto(f"{billed.url}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.click("text=Plan & billing")
        expect(page.locator("#current-plan")).to_have_text("Explorer")
        page.click("button:has-text('Choose Startup')")
        for field, value in (("number", number), ("exp_month", "12"), ("exp_year", "30"),
                             ("cvc", "123"), ("postal_code", "10001")):
            page.fill(f"#card-element input[placeholder={field}]", value)
        page.click("#pay-button")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context().new_page()
        at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        checkout(page, "upgrader@example.com", "4242424242424242")
        expect(page.locator("#current-plan")).to_have_text("Startup", timeout=20_000)
        limits = page.locator("#current-plan + p")
        expect(limits).to_contain_text("60 requests/min")
        expect(limits).to_contain_text("1,000,000 tokens/month")
        # The first invoice: the rest of this month, billed from the 1st on.
        expect(page.locator("#invoices")).to_contain_text(f"{next_first():%Y-%m-%d}")
        expect(page.locator("#invoices")).to_contain_text("paid")
        shown = re.search(r"\$(\d+)\.(\d\d)", page.locator("#invoices").inner_text())
        assert abs(int(shown[1]) * 100 + int(shown[2]) - month_share(2900, at)) <= 2
        expect(page.locator("#card-on-file")).to_contain_text("4242")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "billing.png", full_page=True)
        assert chat(billed, key).status_code == 200  # over Explorer's 20/min, at once

        page = browser.new_context().new_page()
        checkout(page, "decliner@example.com", "4000000000000002")
        expect(page.locator("#billing-message")).to_contain_text("declined", timeout=10_000)
        page.reload()
        expect(page.locator("#current-plan")).to_have_text("Explorer")
        browser.close()
    assert plan_of("decliner@example.com") == "Explorer"


def admin_session(gw) -> httpx.Client:
    """The operator signed in to the gateway's own UI, over HTTP."""
    from tests.conftest import ADMIN_PASSWORD

    c = httpx.Client(base_url=gw.url, timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"email": "admin@llm-gateway.io", "password": ADMIN_PASSWORD,
                               "csrf_token": token})
    assert r.status_code == 302
    c.csrf = token
    return c


def customer_session(gw, email: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=gw.url, timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    assert c.post("/login", data={"email": email, "password": password,
                                  "csrf_token": token}).status_code == 302
    return c


def test_an_upgrade_is_prorated_and_a_custom_price_is_billed_the_same_way(billed):
    from models import Subscription, User

    email = "grower@example.com"
    p = subscribed(billed, email, "Startup")
    assert p.subscribe(User.get(User.email == email), p_plan("Growth")).startswith("payment")
    wait_until(lambda: plan_of(email) == "Growth", what="Growth")
    # Growth's $99 less Startup's $29, for the rest of the month: charged now.
    amounts = sorted(i["amount_cents"] for i in billing_json(billed, email)["invoices"]
                     if i["status"] == "paid")
    assert len(amounts) == 2 and abs(amounts[0] - month_share(2900)) <= 1
    assert abs(amounts[1] - month_share(7000)) <= 1

    # Enterprise at the operator's price for this customer, through Stripe as well.
    Subscription.update(custom_price_cents=45000).where(
        Subscription.user == User.get(User.email == email)).execute()
    p.subscribe(User.get(User.email == email), p_plan("Enterprise"))
    wait_until(lambda: plan_of(email) == "Enterprise", what="Enterprise")
    sub_id = billing_json(billed, email)["stripe_subscription"]
    price = billed.stripe.v1.subscriptions.retrieve(sub_id)["items"]["data"][0]["plan"]
    assert price["amount"] == 45000 and price["id"].startswith("llm-gateway-enterprise-")


def test_the_operator_sees_subscriptions_invoices_collected_money_and_mrr(billed):
    from models import Subscription, User

    email = "paying@example.com"
    subscribed(billed, email, "Growth")
    user = User.get(User.email == email)
    state = billing_json(billed, email)

    ops = admin_session(billed)
    page = ops.get(f"/ops/customers/{user.id}").text
    assert 'id="billing-status">active<' in page
    assert f"https://dashboard.stripe.com/test/customers/{state['stripe_customer']}" in page
    # The first invoice is the rest of this month; the monthly revenue the whole price.
    first = state["invoices"][0]["amount_cents"]
    paid = f"${first // 100}.{first % 100:02d}"
    assert abs(first - month_share(9900)) <= 2
    assert state["invoices"][0]["id"] in page and paid in page
    revenue = ops.get("/ops/usage").text
    assert f'id="collected">{paid}<' in revenue and 'id="mrr">$99.00<' in revenue

    # The operator turns this customer's mail off and sets a custom price.
    r = ops.post(f"/ops/customers/{user.id}/billing", data={
        "csrf_token": ops.csrf, "custom_price": "450.00", "alerts": ""})
    assert r.status_code == 302
    sub = Subscription.get(Subscription.user == user)
    assert (sub.custom_price_cents, sub.alerts, sub.invoiced_outside) == (45000, False, False)
    bad = ops.post(f"/ops/customers/{user.id}/billing", data={
        "csrf_token": ops.csrf, "custom_price": "1.234", "alerts": "1"}, follow_redirects=True)
    assert "whole cents" in bad.text
    assert Subscription.get(Subscription.user == user).custom_price_cents == 45000


def test_cancelling_keeps_the_plan_to_the_period_end_then_the_free_plan(billed):
    from models import User

    email = "leaver@example.com"
    p = subscribed(billed, email, "Startup")
    assert p.cancel(User.get(User.email == email)).startswith("your subscription ends on")
    sub_id = billing_json(billed, email)["stripe_subscription"]
    assert billed.stripe.v1.subscriptions.retrieve(sub_id)["cancel_at_period_end"] is True
    time.sleep(1.5)
    assert plan_of(email) == "Startup"  # paid to the period's end
    # The period ends: Stripe deletes the subscription and says so.
    billed.stripe.v1.subscriptions.cancel(sub_id)
    wait_until(lambda: plan_of(email) == "Explorer", what="the free plan at the period's end")
    assert billing_json(billed, email)["status"] == "canceled"
    billed.inbox.wait_for(email, subject="Your plan was changed to Explorer")


def test_usage_alerts_at_80_and_100_percent_once_each(make_gateway, smtp):
    inbox, smtp_url = smtp
    gw = make_gateway(SMTP_URL=smtp_url)
    gw.start()
    gw.admin("create-plan", "Tiny", "--rpm", "1000", "--monthly-tokens", "1000")
    for email in ("watched@example.com", "quiet@example.com"):
        gw.admin("create-user", email, "--plan", "Tiny")
    from models import Subscription, User

    Subscription.create(user=User.get(User.email == "quiet@example.com"), alerts=False)
    keys = {e: gw.create_key(e) for e in ("watched@example.com", "quiet@example.com")}
    for email, key in keys.items():
        for usage in ("in=300,out=20", "in=300,out=20"):  # 640 of 1000: no alert
            assert chat(gw, key, **{"x-fake-usage": usage}).status_code == 200
        time.sleep(0.6)
        assert inbox.subjects(email) == []
        assert chat(gw, key, **{"x-fake-usage": "in=300,out=20"}).status_code == 200  # 960
    text = inbox.wait_for("watched@example.com", subject="80%")
    assert "960 of 1,000" in text
    key = keys["watched@example.com"]
    assert chat(gw, key, **{"x-fake-usage": "in=30,out=10"}).status_code == 200  # 1000
    inbox.wait_for("watched@example.com", subject="all of this month's tokens")
    chat(gw, key, **{"x-fake-usage": "in=30,out=10"})  # refused or not: no new mail
    time.sleep(1)
    assert sorted(inbox.subjects("watched@example.com")) == [
        "You have used 80% of this month's tokens", "You have used all of this month's tokens"]
    assert inbox.subjects("quiet@example.com") == []  # the operator turned its mail off


def test_a_downgrade_waits_for_the_end_of_the_period_paid_for(billed):
    from models import Subscription, User

    email = "saver@example.com"
    p = subscribed(billed, email, "Growth")
    told = p.subscribe(User.get(User.email == email), p_plan("Startup"))
    assert told.startswith("you move to Startup on ")
    billed.admin("billing-clock")
    assert plan_of(email) == "Growth"  # the period paid for is not over
    # The period ends (localstripe has no clock: the record's end is moved back).
    Subscription.update(current_period_end=dt.datetime(2020, 1, 1)).where(
        Subscription.user == User.get(User.email == email)).execute()
    assert "1 subscriptions changed" in billed.admin("billing-clock").stdout
    assert plan_of(email) == "Startup"
    sub_id = billing_json(billed, email)["stripe_subscription"]
    item = billed.stripe.v1.subscriptions.retrieve(sub_id)["items"]["data"][0]
    assert item["plan"]["id"] == "llm-gateway-startup-2900-usd-month"


def test_an_event_that_cannot_be_applied_answers_500_and_leaves_nothing_behind(billed):
    from models import StripeEvent

    body = json.dumps({"id": "evt_unknown_sub", "object": "event",
                       "type": "customer.subscription.updated", "created": int(time.time()),
                       "data": {"object": {"id": "sub_gone", "object": "subscription"}}}).encode()
    r = httpx.post(f"{billed.url}/billing/webhook", content=body,
                   headers={"content-type": "application/json", "stripe-signature": sign(body)})
    assert r.status_code == 500  # Stripe retries it
    assert not StripeEvent.select().where(StripeEvent.event_id == "evt_unknown_sub").exists()


def test_a_new_price_moves_the_subscriptions_on_the_old_one(billed):
    email = "mover@example.com"
    subscribed(billed, email, "Startup")
    billed.admin("edit-plan", "Startup", "--price-cents", "3500")
    out = billed.admin("stripe-sync").stdout
    assert "Startup: llm-gateway-startup-3500-usd-month (new; 1 subscriptions move)" in out
    sub_id = billing_json(billed, email)["stripe_subscription"]
    item = billed.stripe.v1.subscriptions.retrieve(sub_id)["items"]["data"][0]
    assert item["plan"]["id"] == "llm-gateway-startup-3500-usd-month"
    assert plan_of(email) == "Startup"


def test_an_upgrade_whose_payment_fails_changes_neither_the_plan_nor_stripe(billed):
    """The audit's case: a good Startup payment, then a card whose charges fail, then Growth."""
    from admin.payments import BillingError
    from models import User

    email = "upgrade-fails@example.com"
    p = subscribed(billed, email, "Startup")
    user = User.get(User.email == email)
    state = billing_json(billed, email)
    failing = card(billed, "4000000000000341")  # attaches, then every charge fails
    p.set_card(p.customer(user), failing)
    with pytest.raises(BillingError, match="unchanged"):
        p.subscribe(user, p_plan("Growth"))
    time.sleep(1.5)  # any webhook would have come by now
    assert plan_of(email) == "Startup"
    remote = billed.stripe.v1.subscriptions.retrieve(state["stripe_subscription"])
    assert remote["items"]["data"][0]["plan"]["id"] == p_plan("Startup").stripe_price
    invoices = billed.stripe.v1.invoices.list(params={"customer": state["stripe_customer"]})
    assert [i["status"] for i in invoices if i["status"] == "open"] == []  # voided, not open
    # With a card that pays, the same upgrade goes through.
    p.set_card(p.customer(user), card(billed, "4242424242424242"))
    assert p.subscribe(user, p_plan("Growth")).startswith("payment accepted")
    wait_until(lambda: plan_of(email) == "Growth", what="Growth")


def test_concurrent_subscriptions_make_one_stripe_subscription(billed):
    from concurrent.futures import ThreadPoolExecutor

    from models import Subscription, User

    billed.admin("stripe-sync")
    email = "triple-click@example.com"
    billed.admin("create-user", email, "--plan", "Explorer", "--password-stdin",
                 input="triple-click-pass-1\n")
    session = customer_session(billed, email, "triple-click-pass-1")
    token = re.search(r'name="csrf-token" content="([^"]+)"', session.get("/billing").text)[1]
    pm = card(billed, "4242424242424242")
    plans = [p_plan("Growth"), p_plan("Startup"), p_plan("Growth")]

    def subscribe(plan):
        return session.post("/billing/subscribe", headers={"X-CSRFToken": token},
                            json={"plan": plan.id, "payment_method": pm})

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(subscribe, plans))
    assert all(r.status_code in (200, 402) for r in answers), [r.text for r in answers]
    assert any(r.status_code == 200 for r in answers)
    sub = wait_until(lambda: Subscription.get_or_none(
        Subscription.user == User.get(User.email == email), Subscription.status == "active"),
        what="the subscription")
    live = [s for s in billed.stripe.v1.subscriptions.list(
        params={"customer": sub.stripe_customer, "status": "all"})
        if s["status"] in ("active", "trialing", "past_due")]
    assert len(live) == 1 and live[0].id == sub.stripe_subscription
    assert Subscription.select().join(User).where(User.email == email).count() == 1
    customers = billed.stripe.v1.customers.list(params={"email": email})
    assert len([c for c in customers if c["email"] == email]) == 1


def test_a_private_plan_cannot_be_bought_by_its_id(billed):
    from admin.payments import BillingError
    from models import User

    billed.admin("create-plan", "Internal", "--rpm", "1000", "--monthly-tokens", "unlimited",
                 "--price-cents", "100", "--private")
    billed.admin("stripe-sync")
    email = "bargain@example.com"
    billed.admin("create-user", email, "--plan", "Explorer", "--password-stdin",
                 input="bargain-hunter-pass\n")
    p = payments_of(billed)
    with pytest.raises(BillingError, match="not offered"):
        p.subscribe(User.get(User.email == email), p_plan("Internal"),
                    card(billed, "4242424242424242"))
    session = customer_session(billed, email, "bargain-hunter-pass")
    page = session.get("/billing").text
    assert "Internal" not in page and "Growth" in page
    assert plan_of(email) == "Explorer"
    # The operator can still give it.
    billed.admin("set-plan", email, "Internal")
    assert plan_of(email) == "Internal"


def test_billing_runs_from_the_1st_like_the_quota_and_a_changed_month_is_prorated_in_both(
        billed):
    """The quota counts calendar months; so does billing: a subscription is anchored to the
    1st, its first invoice is the rest of this month, and the month's allowance is each plan's
    share of it, as the charge is. Subscribing on the last day cannot buy a month's tokens."""
    from models import User

    email = "monthly@example.com"
    billed.admin("stripe-sync")
    billed.admin("create-user", email, "--plan", "Explorer", "--password-stdin",
                 input="monthly-password-123\n")
    key = billed.create_key(email)
    p = payments_of(billed)
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    p.subscribe(User.get(User.email == email), p_plan("Startup"),
                card(billed, "4242424242424242"))
    wait_until(lambda: plan_of(email) == "Startup", what="Startup")
    sub_id = billing_json(billed, email)["stripe_subscription"]
    remote = billed.stripe.v1.subscriptions.retrieve(sub_id)
    assert remote["billing_cycle_anchor"] == int(next_first().replace(tzinfo=dt.UTC).timestamp())
    assert remote["current_period_end"] == remote["billing_cycle_anchor"]
    [first] = billing_json(billed, email)["invoices"]
    assert abs(first["amount_cents"] - month_share(2900, at)) <= 1

    # 100,000 tokens a month for the days on Explorer, 1,000,000 for the rest.
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    whole = (next_first() - start).total_seconds()
    expected = (100_000 * (at - start).total_seconds() / whole
                + 1_000_000 * (next_first() - at).total_seconds() / whole)
    r = chat(billed, key)
    assert r.status_code == 200
    limit = int(r.headers["x-ratelimit-limit-tokens"])
    assert abs(limit - expected) <= 3, (limit, expected)
    assert limit < 1_000_000 or at.day == 1
    page = customer_session(billed, email, "monthly-password-123").get("/").text
    assert f'id="allowance">{limit:,}<' in page and 'id="prorated"' in page

    # An upgrade: the rest of the month at the difference, and Growth's share from now.
    up = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert p.subscribe(User.get(User.email == email), p_plan("Growth")).startswith("payment")
    wait_until(lambda: plan_of(email) == "Growth", what="Growth")
    charges = sorted(i["amount_cents"] for i in billing_json(billed, email)["invoices"])
    assert abs(charges[-1] - month_share(7000, up)) <= 1 or \
        abs(charges[0] - month_share(7000, up)) <= 1
    grown = (100_000 * (at - start).total_seconds() / whole
             + 1_000_000 * (up - at).total_seconds() / whole
             + 10_000_000 * (next_first() - up).total_seconds() / whole)
    limit = int(chat(billed, key).headers["x-ratelimit-limit-tokens"])
    assert abs(limit - grown) <= 40, (limit, grown)  # seconds apart, 3.7 tokens a second


def test_a_subscription_billed_on_another_day_is_moved_to_the_1st_paying_the_stretch(billed):
    """A subscription from before billing was anchored (made here as that release made it):
    the billing clock charges the stretch from its period's end to the next 1st, then Stripe
    bills from that 1st."""
    from models import Subscription, User

    email = "legacy@example.com"
    billed.admin("stripe-sync")
    billed.admin("create-user", email, "--plan", "Explorer")
    p = payments_of(billed)
    user = User.get(User.email == email)
    sub = p.customer(user)
    p.set_card(sub, card(billed, "4242424242424242"))
    remote = billed.stripe.v1.subscriptions.create(params={
        "customer": sub.stripe_customer, "items": [{"plan": p_plan("Startup").stripe_price}],
        "metadata": {"user_id": str(user.id), "plan": "Startup"}})
    Subscription.update(stripe_subscription=remote.id).where(Subscription.id == sub.id).execute()
    wait_until(lambda: plan_of(email) == "Startup", what="Startup")
    end = dt.datetime.fromtimestamp(remote["current_period_end"], dt.UTC).replace(tzinfo=None)
    assert end.day != 1 or end.hour or end.minute  # billed on another day than the 1st
    Subscription.update(realign_at=dt.datetime(2020, 1, 1)).where(
        Subscription.id == sub.id).execute()  # as the migration marks it

    assert "1 subscriptions changed" in billed.admin("billing-clock").stdout
    target = (end.replace(day=28) + dt.timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)
    first = end.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    stretch = 2900 * (target - end).total_seconds() / (target - first).total_seconds()
    wait_until(lambda: any(abs(i["amount_cents"] - stretch) <= 1 for i in
                           billing_json(billed, email)["invoices"]), what="the stretch paid")
    invoices = billing_json(billed, email)["invoices"]
    assert len(invoices) == 2 and all(i["status"] == "paid" for i in invoices), invoices
    again = billed.stripe.v1.subscriptions.retrieve(remote.id)
    assert again["trial_end"] == int(target.replace(tzinfo=dt.UTC).timestamp())
    assert again["current_period_end"] == again["trial_end"]
    row = Subscription.get_by_id(sub.id)
    assert row.realign_at is None and row.current_period_end == target
    assert plan_of(email) == "Startup"
    assert "0 subscriptions changed" in billed.admin("billing-clock").stdout  # once
