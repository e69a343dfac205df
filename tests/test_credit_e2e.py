"""Prepaid credit bought through Stripe (localstripe), end to end: a top-up in Chromium with a
new card, credited once however often Stripe tells it; a declined card adds nothing; an
automatic top-up from the card on file when the balance runs low; a low-balance mail."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx

from tests.conftest import ROOT, new_customer, wait_until
from tests.test_billing_e2e import card, payments_of, sign

ARTIFACTS = ROOT / "test-artifacts"
PROMPT = [{"role": "user", "content": "hello " * 700}]
PASSWORD = "credit-browser-password"


def payg(gw) -> str:
    """A pay-as-you-go customer (no allowance: every call paid from credit)."""
    name = f"PAYG-{time.monotonic_ns()}"
    gw.admin("create-plan", name, "--rpm", "100", "--monthly-tokens", "0", "--markup", "0")
    email = new_customer(gw, name)
    gw.admin("set-password", email, input=PASSWORD + "\n")
    return email


def credits(gw, email: str) -> dict:
    return json.loads(gw.admin("credits", email).stdout)


def call(gw, key: str) -> httpx.Response:
    return httpx.post(f"{gw.url}/v1/openai/chat/completions",
                      headers={"authorization": f"Bearer {key}",
                               "x-fake-usage": "in=1000,out=100"},
                      json={"model": "gpt-4o-mini", "messages": PROMPT, "max_tokens": 100},
                      timeout=30)


def test_in_chromium_a_top_up_with_a_new_card_raises_the_balance_once(billed):
    from playwright.sync_api import expect, sync_playwright

    email = payg(billed)
    key = billed.create_key(email)
    assert call(billed, key).status_code == 429  # no credit yet
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context().new_page()
        page.goto(f"{billed.url}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.click("nav >> text=Credit")
        expect(page.locator("#credit-balance")).to_have_text("$0.00")
        page.fill("#topup-amount", "4.99")  # under the least: the form itself says so
        assert page.locator("#topup-amount").evaluate("e => e.validity.rangeUnderflow")
        for field, value in (("number", "4000000000000002"), ("exp_month", "12"),
                             ("exp_year", "30"), ("cvc", "123"), ("postal_code", "10001")):
            page.fill(f"#card-element input[placeholder={field}]", value)
        page.fill("#topup-amount", "12.50")
        page.click("#topup-button")
        expect(page.locator("#topup-message")).to_contain_text("declined", timeout=10_000)
        page.fill("#card-element input[placeholder=number]", "4242424242424242")
        page.click("#topup-button")
        expect(page.locator("#topup-message")).to_contain_text("$12.50 of credit added",
                                                               timeout=10_000)
        page.reload()
        expect(page.locator("#credit-balance")).to_have_text("$12.50")
        expect(page.locator("#ledger")).to_contain_text("Top-up")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "credit.png", full_page=True)
        phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        phone.context.add_cookies(page.context.cookies())
        phone.goto(f"{billed.url}/credit")
        expect(phone.locator("#credit-balance")).to_have_text("$12.50")
        phone.screenshot(path=ARTIFACTS / "credit-phone.png", full_page=True)
        browser.close()
    state = credits(billed, email)
    (topup,) = state["movements"]
    assert topup["kind"] == "topup" and Decimal(topup["amount_usd"]) == Decimal("12.5")
    assert topup["stripe_payment"].startswith("pi_")
    # Stripe's event for the same payment, told again: credited once.
    event = {"id": "evt_again", "type": "payment_intent.succeeded",
             "data": {"object": {"id": topup["stripe_payment"], "object": "payment_intent"}}}
    body = json.dumps(event).encode()
    r = httpx.post(f"{billed.url}/billing/webhook", content=body,
                   headers={"Stripe-Signature": sign(body), "content-type": "application/json"})
    assert r.status_code == 200
    assert Decimal(credits(billed, email)["balance_usd"]) == Decimal("12.5")
    # The credit pays for calls at once.
    wait_until(lambda: call(billed, key).status_code == 200, what="the credit in the gateway")


def test_an_automatic_top_up_when_the_balance_runs_low_and_a_mail_when_there_is_none(billed):
    from models import User

    auto, plain = payg(billed), payg(billed)
    p = payments_of(billed)
    p.set_card(p.customer(User.get(User.email == auto)), card(billed, "4242424242424242"))
    User.update(topup_below_cents=500, topup_cents=1000).where(User.email == auto).execute()
    for email in (auto, plain):
        billed.admin("grant-credits", email, "1", "--reason", "trial")
    keys = {email: billed.create_key(email) for email in (auto, plain)}
    for key in keys.values():
        wait_until(lambda key=key: call(billed, key).status_code == 200, what="a paid call")
    # $1 is under $5: the first gets $10 from its card, the other a mail.
    wait_until(lambda: len(credits(billed, auto)["movements"]) == 3, what="the top-up")
    state = credits(billed, auto)
    topup = next(m for m in state["movements"] if m["kind"] == "topup")
    assert Decimal(topup["amount_usd"]) == 10 and topup["stripe_payment"].startswith("pi_")
    assert Decimal(state["balance_usd"]) > 10
    text = billed.inbox.wait_for(plain, subject="Your credit is running low")
    assert "$0.99979" in text  # $1 less one call of $0.00021
    assert billed.inbox.subjects(auto) == []
    call(billed, keys[plain])  # lower still: no second mail until it rises again
    assert billed.inbox.subjects(plain).count("Your credit is running low") == 1
