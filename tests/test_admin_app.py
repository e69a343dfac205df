"""The web app through Flask's test client: every route, who may open it, CSRF, lockout."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from decimal import Decimal

import pytest

import config
from addons import providers
from models import ApiKey, ModelPrice, Plan, UsageRecord, User, bind, db, keyring, utcnow
from models.security import hash_password
from models.seed import seed

PASSWORD = "correct horse battery"


UPSTREAM_KEY = "sk-ant-api03-upstream-secret-0123456789"
pytestmark = pytest.mark.usefixtures("cheap_hashing")  # in conftest


@pytest.fixture
def app(tmp_path):
    from admin import create_app

    previous = db.obj
    cfg = config.load({"DATA_DIR": str(tmp_path), "ANTHROPIC_API_KEY": UPSTREAM_KEY})
    bind(cfg.database_url)
    seed()
    for email in ("admin@llm-gateway.io", "demo@startup.ai", "test@free.com"):
        User.update(password_hash=hash_password(PASSWORD)).where(User.email == email).execute()
    # As the gateway serving it in-process gives it its providers.
    keys = keyring.read(cfg.env)
    app = create_app(cfg, upstreams=lambda: providers.report(cfg.env, keys),
                     test_config={"TESTING": True, "SIGNUP_ENABLED": True})
    yield app
    db.initialize(previous)


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_of(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_of(client)})


def post(client, path, data=None, page="/keys"):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_of(client, page)})


@pytest.fixture
def customer(client):
    assert sign_in(client, "demo@startup.ai").status_code == 302
    return client


@pytest.fixture
def admin(client):
    assert sign_in(client, "admin@llm-gateway.io").status_code == 302
    return client


CUSTOMER_PAGES = ["/", "/keys", "/usage", "/usage?month=2026-01&page=2", "/usage/export.csv",
                  "/usage?key=1&model=gpt-4o&status=error", "/usage/export.csv?status=ok",
                  "/quickstart", "/pricing", "/credit", "/account"]
ADMIN_PAGES = ["/ops/overview", "/ops/overview?range=30d", "/ops/overview?range=90d",
               "/ops/overview?range=bogus", "/ops/customers", "/ops/customers?q=demo",
               "/ops/customers/2", "/ops/plans", "/ops/keys", "/ops/usage", "/ops/models",
               "/ops/upstreams"]
ADMIN_POSTS = [("/ops/customers", {"email": "n@x.io", "plan": "1"}),
               ("/ops/customers/2/plan", {"plan": "3"}), ("/ops/customers/2/status", {}),
               ("/ops/customers/2/password", {}), ("/ops/plans", {"name": "X"}),
               ("/ops/plans/1", {"name": "Explorer"}), ("/ops/plans/1/delete", {}),
               ("/ops/keys/1/revoke", {}), ("/ops/models/1", {}), ("/ops/models", {})]


@pytest.mark.parametrize("path", CUSTOMER_PAGES + ADMIN_PAGES)
def test_signed_out_is_sent_to_sign_in(client, path):
    r = client.get(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path,data", ADMIN_POSTS + [("/keys", {}), ("/keys/1/revoke", {})])
def test_signed_out_posts_are_sent_to_sign_in(client, path, data):
    r = post(client, path, data, page="/login")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


@pytest.mark.parametrize("path", CUSTOMER_PAGES)
def test_customer_pages(customer, path):
    assert customer.get(path).status_code == 200


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_customers_cannot_open_operator_pages(customer, path):
    assert customer.get(path).status_code == 403


@pytest.mark.parametrize("path,data", ADMIN_POSTS)
def test_customers_cannot_post_to_operator_pages(customer, path, data):
    assert post(customer, path, data).status_code == 403


@pytest.mark.parametrize("path", CUSTOMER_PAGES + ADMIN_PAGES)
def test_admin_opens_everything(admin, path):
    if path == "/":  # an operator's landing page is the business's overview
        r = admin.get(path)
        assert r.status_code == 302 and r.headers["location"].endswith("/ops/overview")
        return
    assert admin.get(path).status_code == 200


def test_csrf_refused(customer):
    r = customer.post("/keys", data={"name": "x"})
    assert r.status_code == 400 and "did not come from this site" in r.get_data(as_text=True)
    assert ApiKey.select().count() == 0


def test_wrong_passwords_then_a_growing_wait(client, app):
    for _ in range(5):
        assert sign_in(client, "test@free.com", "wrong").status_code == 401
    r = sign_in(client, "test@free.com")  # right password, but from here it must wait
    assert r.status_code == 429 and "try again in 1 s" in r.get_data(as_text=True)
    time.sleep(1.05)
    assert sign_in(client, "test@free.com").status_code == 302


def test_suspended_user_cannot_sign_in(client):
    User.update(active=False).where(User.email == "demo@startup.ai").execute()
    assert sign_in(client, "demo@startup.ai").status_code == 403


def test_no_open_redirect(client):
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post("/login?next=//evil.example/x", data={
        "email": "demo@startup.ai", "password": PASSWORD, "csrf_token": token})
    assert r.headers["Location"] == "/"


def test_session_cookie_flags(client):
    r = sign_in(client, "demo@startup.ai")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    r = client.get("/login", base_url="https://gw.example")
    assert all("Secure" in c for c in r.headers.getlist("Set-Cookie"))


def test_key_secret_shown_once(customer):
    r = post(customer, "/keys", {"name": "laptop"}, page="/keys")
    html = r.get_data(as_text=True)
    secret = re.search(r'<pre id="new-key">(gw-[A-Za-z0-9_-]+)</pre>', html).group(1)
    assert r.headers["Cache-Control"] == "no-store"
    key = ApiKey.get()
    assert key.name == "laptop" and key.prefix == secret[:11] and secret not in key.secret_hash
    assert secret not in customer.get("/keys").get_data(as_text=True)
    assert secret[:11] in customer.get("/keys").get_data(as_text=True)


def test_customer_cannot_touch_another_customers_key(customer):
    other = User.get(User.email == "test@free.com")
    _, key = ApiKey.issue(other, "theirs")
    assert post(customer, f"/keys/{key.id}/revoke").status_code == 404
    assert ApiKey.get_by_id(key.id).revoked_at is None
    _, mine = ApiKey.issue(User.get(User.email == "demo@startup.ai"), "mine")
    assert post(customer, f"/keys/{mine.id}/revoke").status_code == 302
    assert ApiKey.get_by_id(mine.id).revoked_at is not None


def add_usage(email, tokens, model="gpt-4o-mini", cost="0.01", when=None, charge="0.0125"):
    """A record as metering writes one (counted as raw tokens), and its hourly and daily sums
    as the usage writer adds them."""
    from models import rollup

    user = User.get(User.email == email)
    _, key = ApiKey.issue(user, "usage")
    row = dict(user=user.id, api_key=key.id, provider="openai", endpoint="chat.completions",
               model=model, status=200, input_tokens=tokens - 10, output_tokens=10,
               total_tokens=tokens, counted_tokens=tokens,
               cost_nanousd=int(Decimal(cost) * 10**9),
               charge_nanousd=int(Decimal(charge) * 10**9), created_at=when or utcnow())
    UsageRecord.create(**row)
    rollup.add(rollup.summed([row]))


def test_usage_pages_show_only_own_records(customer):
    add_usage("demo@startup.ai", 1234)
    add_usage("test@free.com", 98765, model="secret-model-of-someone-else")
    html = customer.get("/usage").get_data(as_text=True)
    assert "1,234" in html and "98,765" not in html and "secret-model" not in html
    assert '<canvas id="usage-charges-chart"' in html and "vendor/chart-4.6.1.umd.min.js" in html
    csv = customer.get("/usage/export.csv").get_data(as_text=True).splitlines()
    assert csv[0].startswith("created_at,request_id,key,key_name,api,provider") and len(csv) == 2
    assert ",native," in csv[1]  # the API the call came on
    assert ",1234," in csv[1] and ",gw-" in csv[1]
    assert re.search(r"<code>gw-[A-Za-z0-9_-]{8}</code>", html)  # the key's prefix is shown
    dash = customer.get("/").get_data(as_text=True)
    assert "1,234" in dash and "$29.00/mo" in dash
    assert 'of <span id="allowance">1,000,000</span> counted tokens used' in dash


def test_usage_page_shows_server_side_tool_calls(customer):
    add_usage("demo@startup.ai", 100)
    UsageRecord.update(tool_calls='{"web_search": 3}').execute()
    add_usage("demo@startup.ai", 100)
    UsageRecord.update(tool_calls='{"google_search": 2, "web_search": 1}').where(
        UsageRecord.tool_calls == "").execute()
    html = customer.get("/usage").get_data(as_text=True)
    assert re.search(r'id="tool-calls">6<', html)
    assert "2 google search · 4 web search" in html
    csv = customer.get("/usage/export.csv").get_data(as_text=True)
    assert '"{""web_search"": 3}"' in csv


def test_previous_month(customer):
    add_usage("demo@startup.ai", 500, when=dt.datetime(2026, 3, 10, 12))
    assert "500" in customer.get("/usage?month=2026-03").get_data(as_text=True)
    assert customer.get("/usage?month=bogus").status_code == 200  # falls back to this month


def test_signup(client, app):
    r = client.post("/signup", data={"email": "new@corp.io", "password": "long enough pw",
                                     "csrf_token": csrf_of(client, "/signup")})
    assert r.status_code == 202 and "Check your mail" in r.get_data(as_text=True)
    user = User.get(User.email == "new@corp.io")
    assert user.plan.name == "Explorer" and user.role == "user"
    assert user.email_verified_at is None  # until the mailed link is followed
    app.config["SIGNUP_ENABLED"] = False
    assert app.test_client().get("/signup").status_code == 404


def test_admin_changes_plan_and_suspends(admin):
    demo = User.get(User.email == "demo@startup.ai")
    growth = Plan.get(Plan.name == "Growth")
    post(admin, f"/ops/customers/{demo.id}/plan", {"plan": growth.id})
    assert User.get_by_id(demo.id).plan.name == "Growth"
    post(admin, f"/ops/customers/{demo.id}/status", {"active": "0"})
    assert not User.get_by_id(demo.id).active


def test_admin_creates_customer_with_one_time_password(admin):
    r = post(admin, "/ops/customers", {"email": "acme@corp.io", "plan": 2}, page="/ops/customers")
    html = r.get_data(as_text=True)
    password = re.search(r'<pre id="temp-password">([^<]+)</pre>', html).group(1)
    from models.security import verify_password

    assert verify_password(User.get(User.email == "acme@corp.io").password_hash, password)
    assert password not in admin.get("/ops/customers").get_data(as_text=True)


def test_plan_in_use_cannot_be_deleted(admin):
    startup = Plan.get(Plan.name == "Startup")
    r = post(admin, f"/ops/plans/{startup.id}/delete", page="/ops/plans")
    assert r.status_code == 302 and Plan.get_or_none(Plan.id == startup.id)
    post(admin, "/ops/plans", {"name": "Trial", "requests_per_minute": "5",
                               "monthly_tokens": "1000", "price": "0", "max_in_flight": "3",
                               "models": ["gpt-4o-mini"]}, page="/ops/plans")
    trial = Plan.get(Plan.name == "Trial")
    assert trial.monthly_tokens == 1000 and trial.model_list == ["gpt-4o-mini"]
    assert trial.max_in_flight == 3 and "3 at once" in admin.get("/ops/plans").get_data(
        as_text=True)
    post(admin, f"/ops/plans/{trial.id}", {"name": "Trial", "requests_per_minute": "5",
                                          "monthly_tokens": "1000", "price": "0",
                                          "max_in_flight": "unlimited"}, page="/ops/plans")
    assert Plan.get_by_id(trial.id).max_in_flight is None
    post(admin, f"/ops/plans/{trial.id}/delete", page="/ops/plans")
    assert Plan.get_or_none(Plan.name == "Trial") is None


def test_plan_form_errors_are_explained(admin):
    r = post(admin, "/ops/plans", {"name": "Bad", "requests_per_minute": "lots"},
             page="/ops/plans")
    assert "must be a whole number" in admin.get("/ops/plans").get_data(as_text=True) or \
        r.status_code == 302
    assert Plan.get_or_none(Plan.name == "Bad") is None


def test_revenue_is_money_collected_and_the_margin_what_is_left_of_it(admin):
    from models import Invoice
    from models.selling import CreditMovement

    add_usage("demo@startup.ai", 1000, cost="1.50", charge="1.875")
    add_usage("test@free.com", 1000, cost="0.25", charge="0.3125")
    demo, free = (User.get(User.email == e) for e in ("demo@startup.ai", "test@free.com"))
    Invoice.create(stripe_id="in_paid", user=demo, amount_cents=2900, paid_cents=2900,
                   status="paid", paid_at=utcnow())
    CreditMovement.create(user=free, kind="topup", amount_nanousd=5 * 10**9,
                          stripe_payment="pi_paid")
    html = admin.get("/ops/usage").get_data(as_text=True)
    shown = {k: re.search(rf'id="{k}">\$([\d,.-]+)<', html).group(1)
             for k in ("collected", "charges", "cost", "margin", "usage-margin")}
    # Collected: the invoice and the top-up; sold: the charges; margin: collected less cost.
    assert shown == {"collected": "34.00", "charges": "2.19", "cost": "1.75",
                     "margin": "32.25", "usage-margin": "0.4375"}
    assert "<td>test@free.com</td><td>Explorer</td>" in html
    charts = json.loads(re.search(r'id="money-data">(.*?)</script>', html, re.S).group(1))
    assert charts["customers"] == ["demo@startup.ai", "test@free.com"]  # the most first
    assert charts["customer_collected"] == ["29.000000000", "5.000000000"]
    assert set(charts["plans"]) == {"Startup", "Explorer"}
    # The guard: the free plan's allowance costs something and brings nothing; Startup's
    # weighted allowance is worth $5 at sell prices, well within $29.
    guard = html[html.index('id="guard-plans"'):html.index("</table>", html.index(
        'id="guard-plans"'))]
    assert "<td>Explorer</td>" in guard and "<td>Startup</td>" not in guard
    Plan.update(allowance_mode="raw").where(Plan.name == "Startup").execute()
    html = admin.get("/ops/usage").get_data(as_text=True)
    guard = html[html.index('id="guard-plans"'):html.index("</table>", html.index(
        'id="guard-plans"'))]
    assert "<td>Startup</td>" in guard  # a million raw tokens of the dearest model


def test_model_price_edit(admin):
    m = ModelPrice.get(ModelPrice.model == "gpt-4o-mini")
    post(admin, f"/ops/models/{m.id}", {"input_per_mtok": "0.2", "output_per_mtok": "0.8",
                                        "cache_read_per_mtok": "0.1",
                                        "cache_write_per_mtok": "0"}, page="/ops/models")
    assert float(ModelPrice.get_by_id(m.id).input_per_mtok) == 0.2
    post(admin, f"/ops/models/{m.id}", {"input_per_mtok": "-1"}, page="/ops/models")
    assert float(ModelPrice.get_by_id(m.id).input_per_mtok) == 0.2


def test_upstreams_never_show_credentials(app, admin, monkeypatch):
    html = admin.get("/ops/upstreams").get_data(as_text=True)
    assert re.search(r"anthropic</td>.*?1 key<", html, re.S)
    assert "missing</span> set OPENAI_API_KEY" in html
    assert UPSTREAM_KEY not in html and UPSTREAM_KEY[-12:] not in html
    # Each key by its name and last 4 characters, serving (nothing recorded against it).
    row = re.search(r'<tr data-key="anthropic:anthropic">(.*?)</tr>', html, re.S)[1]
    assert f"…{UPSTREAM_KEY[-4:]}" in row and "serving" in row


@pytest.mark.parametrize("price", ["NaN", "Infinity", "-1", "1.234", "sNaN"])
def test_prices_that_are_not_money_are_refused_with_a_message(admin, price):
    from models import Subscription

    plan = {"name": "Odd", "requests_per_minute": "10", "monthly_tokens": "1000",
            "price": price, "public": "1"}
    r = post(admin, "/ops/plans", plan, page="/ops/plans")
    assert r.status_code == 302 and not Plan.select().where(Plan.name == "Odd").exists()
    assert "whole cents" in admin.get("/ops/plans").get_data(as_text=True)
    r = post(admin, "/ops/customers/2/billing", {"custom_price": price, "alerts": "1"},
             page="/ops/customers/2")
    assert r.status_code == 302
    assert "whole cents" in admin.get("/ops/customers/2").get_data(as_text=True)
    sub = Subscription.get_or_none(Subscription.user == 2)
    assert sub is None or sub.custom_price_cents is None


def test_a_plan_a_subscription_bills_is_not_deleted(admin):
    from models import Subscription

    growth = Plan.get(Plan.name == "Growth")
    Subscription.create(user=User.get(User.email == "test@free.com"), plan=growth,
                        status="active")
    User.update(plan=Plan.get(Plan.name == "Explorer")).where(
        User.plan == growth).execute()
    r = post(admin, f"/ops/plans/{growth.id}/delete", page="/ops/plans")
    assert r.status_code == 302 and Plan.get_or_none(Plan.id == growth.id) is not None
    assert "make it private" in admin.get("/ops/plans").get_data(as_text=True)


HOSTILE = ["", " ", "NaN", "-1", "1e999", "9" * 40, "0.0000001", "١٢", "\x00", "x" * 300,
           "unlimited", "1,000", "$5"]


@pytest.mark.parametrize("value", HOSTILE)
def test_no_operator_form_input_is_a_500(admin, value):
    """Every operator form saves through the service layer, which checks what was typed once:
    any value is saved within what the columns hold, or refused with a message."""
    growth = Plan.get(Plan.name == "Growth")
    model = ModelPrice.get(ModelPrice.model == "gpt-4o-mini")
    plan_fields = {"name": "P", "requests_per_minute": "10", "monthly_tokens": "1000",
                   "price": "1", "description": "d", "public": "1"}
    forms = [("/ops/plans", "/ops/plans", plan_fields, list(plan_fields)),
             (f"/ops/plans/{growth.id}", "/ops/plans", plan_fields, list(plan_fields)),
             ("/ops/models", "/ops/models",
              {"model": "m", "provider": "openai", "display_name": "M", "input_per_mtok": "1",
               "output_per_mtok": "1"}, ["model", "provider", "display_name",
                                          "input_per_mtok", "output_per_mtok"]),
             (f"/ops/models/{model.id}", "/ops/models", {"input_per_mtok": "1"},
              ["input_per_mtok", "cache_read_per_mtok"]),
             ("/ops/customers/2/billing", "/ops/customers/2", {"alerts": "1"},
              ["custom_price"])]
    for path, page, base, fields in forms:
        for field in fields:
            r = post(admin, path, {**base, field: value}, page=page)
            assert r.status_code in (302, 400), (path, field, value, r.status_code)
    for p in Plan.select():  # whatever was saved fits its columns
        assert 1 <= p.requests_per_minute <= 2**31 - 1
        assert p.monthly_tokens is None or 0 <= p.monthly_tokens <= 2**63 - 1
        assert p.price_cents is None or 0 <= p.price_cents <= 2**31 - 1
    for m in ModelPrice.select():
        assert 0 <= m.input_per_mtok < 10**6 and len(m.model) <= 255


def test_the_operator_grants_credit_and_sets_sell_prices_and_plan_terms_in_the_ui(admin):
    from models.selling import CreditMovement, SellPrice

    demo = User.get(User.email == "demo@startup.ai")
    r = post(admin, f"/ops/customers/{demo.id}/credit", {"amount": "12.34", "reason": "outage"},
             page=f"/ops/customers/{demo.id}")
    assert r.status_code == 302
    (m,) = CreditMovement.select().where(CreditMovement.user == demo)
    assert (m.kind, m.amount_nanousd, m.reason, m.actor) == (
        "grant", 12_340_000_000, "outage", "admin@llm-gateway.io")
    page = admin.get(f"/ops/customers/{demo.id}").get_data(as_text=True)
    assert 'id="credit-balance">$12.34<' in page and "outage" in page
    post(admin, f"/ops/customers/{demo.id}/credit", {"amount": "1", "reason": ""},
         page=f"/ops/customers/{demo.id}")
    assert CreditMovement.select().count() == 1  # a grant needs its reason

    startup = Plan.get(Plan.name == "Startup")
    post(admin, "/ops/sell-prices", {"model": "gpt-4o-mini", "plan": str(startup.id),
                                      "input": "0.5", "output": ""}, page="/ops/models")
    row = SellPrice.get(SellPrice.model == "gpt-4o-mini")
    assert (row.plan_id, row.input, row.output) == (startup.id, 500_000_000, None)
    assert "$0.5" in admin.get("/ops/models").get_data(as_text=True)
    post(admin, "/ops/sell-prices", {"model": "gpt-4o-mini", "plan": str(startup.id)},
         page="/ops/models")
    assert not SellPrice.select().exists()  # no price at all: back to the markup

    form = {"name": "Startup", "requests_per_minute": "60", "monthly_tokens": "1000000",
            "price": "29", "markup": "40", "allowance": "raw", "reference": "5"}
    post(admin, f"/ops/plans/{startup.id}", form, page="/ops/plans")
    startup = Plan.get_by_id(startup.id)
    assert (startup.markup_bp, startup.allowance_mode) == (4000, "raw")
    post(admin, f"/ops/plans/{startup.id}", {**form, "markup": "-100"}, page="/ops/plans")
    assert Plan.get_by_id(startup.id).markup_bp == 4000
    assert 'name="markup" inputmode="decimal" value="40"' in admin.get("/ops/plans").get_data(
        as_text=True)


def test_the_customer_turns_credit_on_and_sees_prices_counted_and_charged(customer):
    r = post(customer, "/credit/settings", {"spend": "1"}, page="/credit")
    assert r.status_code == 302
    assert User.get(User.email == "demo@startup.ai").spend_credit
    pricing = customer.get("/pricing").get_data(as_text=True)
    # Startup: gpt-4o-mini at cost + 25%, a token counting its price over $5 a million.
    row = pricing[pricing.index('data-model="gpt-4o-mini"'):]
    row = row[:row.index("</tr>")]
    assert "$0.1875" in row and "$0.75" in row and "×0.0375" in row and "×0.15" in row


def test_operator_sets_a_keys_limits_past_the_plan(admin):
    _, key = ApiKey.issue(User.get(User.email == "demo@startup.ai"), "ops-limited")
    assert "ops-limited" in admin.get(f"/ops/keys/{key.id}").get_data(as_text=True)
    r = post(admin, f"/ops/keys/{key.id}/limits", {"rpm": "600", "monthly_usd": "2.5",
                                                    "models_text": "gpt-4o, claude-sonnet-4-6",
                                                    "cidrs": "10.1.0.0/16"}, page="/ops/keys")
    assert r.status_code == 302
    key = ApiKey.get_by_id(key.id)
    assert (key.rpm, key.monthly_cap_nanousd, key.model_list, key.cidr_list) == (
        600, 2_500_000_000, ["claude-sonnet-4-6", "gpt-4o"], ["10.1.0.0/16"])
    page = admin.get(f"/ops/keys/{key.id}").get_data(as_text=True)
    assert "600 req/min · $2.5/month" in page
    r = post(admin, f"/ops/keys/{key.id}/limits", {"cidrs": "not-a-network"}, page="/ops/keys")
    assert "not an address" in admin.get(r.headers["location"]).get_data(as_text=True)
    assert ApiKey.get_by_id(key.id).rpm == 600  # refused whole: nothing changed


def test_a_customers_limits_stay_within_the_plan(customer):
    _, key = ApiKey.issue(User.get(User.email == "demo@startup.ai"), "mine")
    r = post(customer, f"/keys/{key.id}/limits", {"rpm": "61"}, page="/keys")
    assert "at most the Startup plan" in customer.get(r.headers["location"]).get_data(
        as_text=True)
    assert ApiKey.get_by_id(key.id).rpm is None
