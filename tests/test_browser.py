"""The web UI in a real browser (Debian's Chromium driven by Playwright) against the running
gateway: a customer's whole journey, and an operator changing that customer's plan.
Screenshots of the main pages are saved in test-artifacts/ for people to look at."""

from __future__ import annotations

import re
import time
from pathlib import Path

import openai
import pyotp
import pytest
from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-test-password"


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def sign_in(browser, gateway, email, password, **context_args):
    page = browser.new_context(**context_args).new_page()
    page.on("dialog", lambda d: d.accept())  # the revoke confirmations
    page.goto(f"{gateway.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    # A customer lands on their dashboard, an operator on the business's overview.
    expect(page.locator("h1")).to_have_text(re.compile("^(Dashboard|Overview)$"))
    return page


def shot(page, name):
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def test_customer_journey_and_operator_plan_change(browser, gateway):
    email = f"browser-{time.time_ns()}@example.com"
    gateway.admin("create-user", email, "--plan", "Explorer", "--password-stdin",
                  input=PASSWORD + "\n")
    page = sign_in(browser, gateway, email, PASSWORD)
    expect(page.locator("text=Explorer").first).to_be_visible()
    shot(page, "dashboard-empty")

    # Create a key: shown once, with a copy button and a warning.
    page.click("nav >> text=API keys")
    page.fill("input[name=name]", "browser laptop")
    page.click("text=Create key")
    secret = page.locator("#new-key").inner_text().strip()
    assert re.fullmatch(r"gw-[A-Za-z0-9_-]{43}", secret)
    expect(page.locator("text=shown only this once")).to_be_visible()
    expect(page.locator("button.copy")).to_be_visible()
    shot(page, "keys-new-secret")
    page.goto(f"{gateway.url}/keys")
    assert secret not in page.content() and secret[:11] in page.content()

    # Call the API with it through an official SDK.
    client = openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=secret, max_retries=0)
    reply = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}],
        extra_headers={"x-fake-usage": "in=321,out=45"})
    assert reply.headers["x-ratelimit-limit-requests"] == "20"

    # The usage appears.
    deadline = time.monotonic() + 10
    while True:
        page.goto(f"{gateway.url}/usage")
        if page.locator("#recent >> text=321 / 45").count():
            break
        assert time.monotonic() < deadline, "the call never showed up in the usage page"
        time.sleep(0.3)
    expect(page.locator("#recent")).to_contain_text("gpt-4o-mini-2024-07-18")
    expect(page.locator("#recent")).to_contain_text(secret[:11])
    expect(page.locator("#usage-tokens-chart")).to_be_visible()
    page.wait_for_function("() => window.Chart !== undefined")
    shot(page, "usage")
    page.goto(f"{gateway.url}/")
    # Explorer counts tokens by price: 321 x $0.1875 + 45 x $0.75 a million, over $5 a
    # million counted tokens, is 18.8, counted as 19; the raw tokens beside it.
    expect(page.locator("#tokens-used")).to_have_text("19")
    expect(page.locator("#tokens-raw")).to_have_text("366")
    shot(page, "dashboard")
    page.goto(f"{gateway.url}/pricing")
    expect(page.locator("#prices")).to_contain_text("gpt-4o-mini")
    shot(page, "pricing")
    page.goto(f"{gateway.url}/quickstart")
    expect(page.locator("#py-openai")).to_contain_text(f'base_url="{gateway.url}/v1/openai"')
    shot(page, "quickstart")

    # A second key, then revoke the first in the UI: it stops working.
    page.goto(f"{gateway.url}/keys")
    page.fill("input[name=name]", "second")
    page.click("text=Create key")
    second = page.locator("#new-key").inner_text().strip()
    row = page.locator("tr", has_text="browser laptop")
    row.locator("text=Revoke").click()
    expect(page.locator(".flash")).to_contain_text("revoked")
    deadline = time.monotonic() + 5
    while True:
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=[])
        except openai.AuthenticationError:
            break
        assert time.monotonic() < deadline, "the revoked key still worked after 5 s"
        time.sleep(0.2)

    # The operator moves the customer to Growth; the new limit applies.
    admin = sign_in(browser, gateway, "admin@llm-gateway.io", "admin-test-password")
    admin.click("nav >> text=Customers")
    admin.fill("input[name=q]", email)
    admin.click("text=Search")
    shot(admin, "ops-customers")
    admin.click(f"text={email}")
    admin.select_option("select[name=plan]", label="Growth (200/min)")
    admin.click("text=Change plan")
    expect(admin.locator(".flash")).to_contain_text("now on Growth")
    shot(admin, "ops-customer")
    client2 = openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=second, max_retries=0)
    r = client2.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    assert r.headers["x-ratelimit-limit-requests"] == "200"
    for path, name in [("/ops/plans", "ops-plans"), ("/ops/usage", "ops-revenue"),
                       ("/ops/models", "ops-models"), ("/ops/keys", "ops-keys"),
                       ("/ops/upstreams", "ops-upstreams")]:
        admin.goto(gateway.url + path)
        expect(admin.locator("h1")).to_be_visible()
        shot(admin, name)


def test_phone_layout_and_sign_in_page(browser, gateway):
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{gateway.url}/login")
    shot(page, "login-phone")
    page.fill("input[name=email]", "admin@llm-gateway.io")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    expect(page.locator(".flash.error")).to_have_text("Wrong email or password.")
    page = sign_in(browser, gateway, "admin@llm-gateway.io", "admin-test-password",
                   viewport={"width": 390, "height": 844})
    expect(page.locator("nav[aria-label=Main]")).to_be_hidden()  # folded behind the menu
    page.click("label.menu-button")
    expect(page.locator("nav >> text=Usage")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the dashboard scrolls sideways on a phone"
    shot(page, "dashboard-phone")


def test_the_upstreams_page_shows_a_pool_at_work(browser, make_gateway, fake_servers):
    from tests.conftest import ADMIN_PASSWORD, wait_until

    keys = ["sk-ant-page-key-AAAA", "sk-ant-page-key-BBBB", "sk-ant-page-key-CCCC"]
    fake = fake_servers["anthropic"].state
    for k, behaviour in zip(keys, ("ok", "limited:600", "revoked"), strict=True):
        fake.key(k, behaviour)
    gw = make_gateway(ANTHROPIC_API_KEY=",".join(keys))
    gw.admin("set-plan", "dev@enterprise.com", "Enterprise")
    gw.start()
    client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=gw.create_key("dev@enterprise.com"),
                           max_retries=0)
    wait_until(lambda: (client.chat.completions.create(
        model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]),
        fake.count(keys[1]) and fake.count(keys[2]))[1], what="each key tried")
    for width, name in ((1280, "ops-upstreams-pool"), (390, "ops-upstreams-pool-phone")):
        page = sign_in(browser, gw, "admin@llm-gateway.io", ADMIN_PASSWORD,
                       viewport={"width": width, "height": 900})
        page.goto(gw.url + "/ops/upstreams")
        expect(page.locator('tr[data-key="anthropic:anthropic-1"]')).to_contain_text("serving")
        expect(page.locator('tr[data-key="anthropic:anthropic-2"]')).to_contain_text(
            "cooling until")
        expect(page.locator('tr[data-key="anthropic:anthropic-3"]')).to_contain_text(
            "disabled: revoked or refused")
        assert not any(k in page.content() for k in keys)
        shot(page, name)
    page.click('tr[data-key="anthropic:anthropic-3"] button')
    expect(page.locator(".flash")).to_contain_text("anthropic-3 is back in service")
    expect(page.locator('tr[data-key="anthropic:anthropic-3"]')).to_contain_text("serving")


def test_a_key_with_limits_of_its_own(browser, gateway):
    """A customer gives a key its own limits on the keys page, sees them with the key's
    spend, and cannot give a key more than the plan."""
    email = f"limits-{time.time_ns()}@example.com"
    gateway.admin("create-user", email, "--plan", "Startup", "--password-stdin",
                  input=PASSWORD + "\n")
    page = sign_in(browser, gateway, email, PASSWORD)
    page.goto(f"{gateway.url}/keys")
    page.fill("input[name=name]", "contractor")
    page.click("text=Limits of its own")
    page.fill("input[name=rpm]", "5")
    page.fill("input[name=monthly_usd]", "20")
    page.fill("input[name=models_text]", "gpt-4o-mini")
    page.fill("input[name=cidrs]", "127.0.0.0/8")
    page.click("text=Create key")
    secret = page.locator("#new-key").inner_text().strip()
    row = page.locator("#keys tbody tr").first
    expect(row.locator("td.limits")).to_have_text(
        "5 req/min · $20/month · gpt-4o-mini · from 127.0.0.0/8")

    client = openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=secret, max_retries=0)
    hi = [{"role": "user", "content": "Hi"}]
    client.chat.completions.create(model="gpt-4o-mini", messages=hi,
                                   extra_headers={"x-fake-usage": "in=20000,out=10000"})
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="gpt-4o", messages=hi)

    page.goto(f"{gateway.url}/keys")
    deadline = time.monotonic() + 10
    while "1 call" not in page.locator("#keys tbody tr").first.inner_text():
        assert time.monotonic() < deadline, "the key's call never showed"
        page.reload()
    shot(page, "keys-limits")
    page.locator("#keys tbody tr").first.locator("a").click()
    expect(page.locator("h1")).to_contain_text("contractor")
    expect(page.locator("#key-cap")).to_have_text("$20")
    assert page.locator("#key-charge").inner_text() != "$0.00"  # at the plan's sell prices
    shot(page, "key-detail")

    # More than the plan: refused with the reason; within it: saved.
    page.fill("input[name=rpm]", "600")
    page.click("text=Save limits")
    expect(page.locator(".flash.error")).to_contain_text("at most the Startup plan's 60")
    page.fill("input[name=rpm]", "30")
    page.fill("input[name=monthly_usd]", "")
    page.click("text=Save limits")
    expect(page.locator("#key-limits")).to_have_text("30 req/min · gpt-4o-mini · from 127.0.0.0/8")

    phone = sign_in(browser, gateway, email, PASSWORD, viewport={"width": 390, "height": 844})
    phone.goto(page.url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "key-detail-phone")
    phone.goto(f"{gateway.url}/keys")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "keys-limits-phone")


AXE = Path(__file__).resolve().parent / "node" / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(page) -> list[str]:
    """axe-core's WCAG 2.x A and AA rules on the page as it stands: the serious and critical
    violations, each with the elements it found."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => await axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})""")
    return [f"{v['id']} ({v['impact']}): {v['help']}: "
            f"{[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def signed_out_links(gateway, email: str) -> dict[str, str]:
    """The pages a mailed link opens (a password reset, an invitation), made as the gateway
    makes them."""
    import hashlib

    from itsdangerous import URLSafeTimedSerializer

    from models import User
    from models.base import write_transaction
    from models.members import new_invitation

    user = User.get(User.email == email)
    secret = (gateway.data_dir / "secret_key").read_text().strip()
    reset = URLSafeTimedSerializer(secret, salt="reset-password").dumps(
        {"u": user.id, "p": hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]})
    with write_transaction():
        token, _ = new_invitation(user, f"invited-{time.time_ns()}@example.com", "member", user)
    return {"reset": f"/reset/{reset}", "invite": f"/invite/{token}"}


CUSTOMER_PAGES = ("/", "/keys", "/usage", "/pricing", "/credit", "/quickstart", "/account",
                  "/members")
OPERATOR_PAGES = ("/ops/overview", "/ops/overview?range=30d", "/ops/customers", "/ops/plans",
                  "/ops/keys", "/ops/usage", "/ops/models", "/ops/upstreams")
SIGNED_OUT_PAGES = ("/login", "/forgot")


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_passes_the_accessibility_check(browser, gateway, width):
    viewport = {"width": width, "height": 900}
    found = {}
    page = browser.new_context(viewport=viewport).new_page()
    for path in SIGNED_OUT_PAGES:
        page.goto(f"{gateway.url}{path}")
        found[path] = serious_violations(page)
    shot(page, f"forgot-{width}")
    email = f"axe-{time.time_ns()}@example.com"
    gateway.admin("create-user", email, "--plan", "Startup", "--password-stdin",
                  input=PASSWORD + "\n")
    key = gateway.create_key(email, "axe")
    client = openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=key, max_retries=0)
    for model in ("gpt-4o-mini", "gpt-4.1-mini", "gpt-4o-mini"):  # charts with something in
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}])
    page = sign_in(browser, gateway, email, PASSWORD, viewport=viewport)
    from models import ApiKey, User

    key_id = ApiKey.get(ApiKey.user == User.get(User.email == email)).id
    for path in (*CUSTOMER_PAGES, f"/keys/{key_id}"):
        page.goto(f"{gateway.url}{path}")
        found[path] = serious_violations(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        if path == "/usage":
            expect(page.locator("#usage-charges-chart")).to_be_visible()
            shot(page, f"usage-{width}")
        if path == "/members":
            shot(page, f"members-{width}")
    page.goto(f"{gateway.url}/account")  # setting up the second factor: its QR code
    page.click("text=Set up a second factor")
    expect(page.locator(".qr svg")).to_be_visible()
    found["/account (setting up)"] = serious_violations(page)
    shot(page, f"account-2fa-{width}")
    page = sign_in(browser, gateway, "admin@llm-gateway.io", "admin-test-password",
                   viewport=viewport)
    for path in (*OPERATOR_PAGES, f"/ops/keys/{key_id}"):
        page.goto(f"{gateway.url}{path}")
        found[path] = serious_violations(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        if path.startswith("/ops/overview"):
            expect(page.locator("#chart-money")).to_be_visible()
            shot(page, f"overview-{path[-3:] if '=' in path else '48h'}-{width}")
    shot(page, f"ops-key-{width}")
    for name, path in signed_out_links(gateway, email).items():  # opened from a mail
        page = browser.new_context(viewport=viewport).new_page()
        page.goto(f"{gateway.url}{path}")
        found[name] = serious_violations(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        shot(page, f"{name}-{width}")
    # A sign-in with a second factor: the page asking for its code.
    factor = f"factor-{time.time_ns()}@example.com"
    gateway.admin("create-user", factor, "--plan", "Explorer", "--password-stdin",
                  input=PASSWORD + "\n")
    User.update(totp_secret=pyotp.random_base32()).where(User.email == factor).execute()
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{gateway.url}/login")
    page.fill("input[name=email]", factor)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your code")
    found["/login/code"] = serious_violations(page)
    shot(page, f"code-{width}")
    bad = {p: v for p, v in found.items() if v}
    assert key and not bad, "\n".join(f"{p}: {v}" for p, v in bad.items())
