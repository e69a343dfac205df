"""Hostile sign-ups and sign-ins, through the real gateway process: sign-up needs a confirmed
email (a real SMTP conversation with a local aiosmtpd server) and is rate-limited per address,
free plans get inexpensive models, a stranger's bad passwords do not lock a real user out,
no open redirect, sessions that end, no account enumeration, one password rule, a private
database file."""

from __future__ import annotations

import re
import stat
import statistics
import time

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, client, csrf, sign_in

ADMIN = "admin@llm-gateway.io"
MSG = [{"role": "user", "content": "Hi"}]


def sign_up(c: httpx.Client, email: str, password: str = "a fine password") -> httpx.Response:
    return c.post("/signup", data={"email": email, "password": password,
                                   "csrf_token": csrf(c, "/signup")})


def chat(gw, key: str, model: str = "gpt-4o-mini") -> httpx.Response:
    return httpx.post(f"{gw.url}/v1/openai/chat/completions",
                      headers={"authorization": f"Bearer {key}"},
                      json={"model": model, "max_tokens": 5, "messages": MSG})


def test_sign_up_needs_a_confirmed_email_and_gets_inexpensive_models(make_gateway, smtp):
    inbox, url = smtp
    gw = make_gateway(SMTP_URL=url).start()
    from models import ApiKey, User

    c = client(gw)
    r = sign_up(c, "new@corp.io")
    assert r.status_code == 202 and "Check your mail" in r.text
    user = User.get(User.email == "new@corp.io")
    assert user.email_verified_at is None and user.plan.name == "Explorer"
    assert sign_in(c, "new@corp.io", "a fine password").status_code == 302
    assert "Confirm your email address" in c.get("/keys").text
    r = c.post("/keys", data={"name": "x", "csrf_token": csrf(c, "/keys")})
    assert r.status_code == 302 and ApiKey.select().where(ApiKey.user == user).count() == 0
    secret, _ = ApiKey.issue(user, "made-behind-its-back")  # even a key that exists: refused
    assert chat(gw, secret).status_code == 401
    link = re.search(r"http://\S+/verify/\S+", inbox.wait_for("new@corp.io"))[0]
    assert c.get(link).status_code == 302
    assert User.get_by_id(user.id).email_verified_at is not None
    assert chat(gw, secret).status_code == 200  # the change reached the gateway at once
    r = chat(gw, secret, "claude-opus-5")  # the free plan: inexpensive models only
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    assert c.get(link.replace("/verify/", "/verify/x")).status_code == 302  # forged: nothing


def test_sign_up_is_limited_per_address_and_tells_no_one_who_has_an_account(make_gateway,
                                                                           smtp):
    inbox, url = smtp
    gw = make_gateway(SMTP_URL=url, SIGNUP_PLAN="Startup").start()  # the operator's choice
    c = client(gw, "127.0.0.3")
    assert "Start on the Startup plan" in c.get("/signup").text
    taken = sign_up(c, "demo@startup.ai")  # has an account: answered like a new one
    fresh = sign_up(c, "fresh@corp.io")
    assert taken.status_code == fresh.status_code == 202
    assert taken.text.replace("demo@startup.ai", "X") == fresh.text.replace("fresh@corp.io", "X")
    assert "has an account" in inbox.wait_for("demo@startup.ai")
    assert sign_up(c, "third@corp.io").status_code == 202
    r = sign_up(c, "fourth@corp.io")
    assert r.status_code == 429 and "Too many sign-ups" in r.text
    assert sign_up(client(gw, "127.0.0.4"), "fourth@corp.io").status_code == 202  # elsewhere
    from models import User

    assert User.get(User.email == "fresh@corp.io").plan.name == "Startup"
    assert not User.select().where(User.email == "fourth@corp.io",
                                   User.email_verified_at.is_null(False)).exists()


def test_sign_up_is_off_without_mail_and_passwords_follow_one_rule(make_gateway):
    gw = make_gateway().start()
    assert client(gw).get("/signup").status_code == 404  # no SMTP_URL: no sign-up
    gw.stop()
    gw.env["SIGNUP_ENABLED"] = "true"
    gw.start()
    for weak in (" " * 10, "short", "   nine   "):
        r = sign_up(client(gw), "weak@corp.io", weak)
        assert r.status_code == 400 and "at least 10 characters" in r.text
        out = gw.admin("set-password", ADMIN, input=weak + "\n", check=False)
        assert out.returncode == 1 and "at least 10 characters" in out.stderr


def test_a_strangers_bad_passwords_do_not_lock_out_the_user(make_gateway):
    gw = make_gateway().start()
    stranger = client(gw, "127.0.0.2")
    for _ in range(5):
        assert sign_in(stranger, ADMIN, "guess").status_code == 401
    r = sign_in(stranger, ADMIN, ADMIN_PASSWORD)  # even the right one must wait now
    assert r.status_code == 429 and "try again in 1 s" in r.text
    time.sleep(1.1)
    assert sign_in(stranger, ADMIN, "guess").status_code == 401
    assert "try again in 2 s" in sign_in(stranger, ADMIN, "guess").text  # growing
    assert sign_in(client(gw), ADMIN, ADMIN_PASSWORD).status_code == 302  # the real user
    # One address guessing at many accounts is slowed as well.
    for i in range(20):
        sign_in(stranger, f"nobody{i}@corp.io", "guess")
    assert sign_in(stranger, "someone@corp.io", "guess").status_code == 429


@pytest.mark.parametrize("target", ["/%09/evil.example", "//evil.example", "/\\evil.example",
                                    "https://evil.example", "/%0d%0a/evil.example",
                                    "/%5Cevil.example", "/%09/%09/evil.example"])
def test_no_open_redirect(gateway, target):
    r = sign_in(client(gateway), ADMIN, ADMIN_PASSWORD, target)
    assert r.status_code == 302 and r.headers["location"] == "/"


def test_sessions_end_on_sign_out_password_change_and_suspension(gateway):
    gateway.admin("create-user", "sessions@corp.io", "--plan", "Startup", "--password-stdin",
                  input="first password\n")
    laptop, phone = client(gateway), client(gateway)
    for c in (laptop, phone):
        assert sign_in(c, "sessions@corp.io", "first password").status_code == 302
    assert phone.get("/keys").status_code == 200
    laptop.post("/logout", data={"csrf_token": csrf(laptop, "/keys")})
    assert phone.get("/keys").status_code == 302  # signed out everywhere
    stolen = dict(phone.cookies)
    sign_in(phone, "sessions@corp.io", "first password")
    old = httpx.Client(base_url=gateway.url, cookies=stolen)
    assert old.get("/keys").status_code == 302  # an earlier cookie does not come back
    gateway.admin("set-password", "sessions@corp.io", input="second password\n")
    assert phone.get("/keys").status_code == 302
    assert sign_in(phone, "sessions@corp.io", "second password").status_code == 302
    gateway.admin("set-active", "sessions@corp.io", "--suspended")
    assert phone.get("/keys").status_code == 302


def test_secure_cookies_and_trusted_proxies(make_gateway):
    def session_cookie(gw, **headers) -> str:
        return client(gw).get("/login", headers=headers).headers["set-cookie"]

    gw = make_gateway(SECURE_COOKIES="true").start()
    assert "Secure" in session_cookie(gw)
    gw.stop()
    gw.env.pop("SECURE_COOKIES")
    gw.start()  # not trusted: a client's X-Forwarded-Proto is ignored
    assert "Secure" not in session_cookie(gw, **{"x-forwarded-proto": "https"})
    gw.stop()
    gw.env["TRUSTED_PROXIES"] = "127.0.0.1"
    gw.start()  # the proxy in front says the browser used https
    assert "Secure" in session_cookie(gw, **{"x-forwarded-proto": "https"})
    assert "Secure" not in session_cookie(gw)


def test_sign_in_does_not_tell_which_emails_have_accounts(gateway):
    def timed(email):
        c = client(gateway, "127.0.0.9")
        token = csrf(c)
        t = time.perf_counter()
        r = c.post("/login", data={"email": email, "password": "wrong password",
                                   "csrf_token": token})
        return time.perf_counter() - t, r

    known = [timed(ADMIN) for _ in range(4)]
    unknown = [timed(f"nobody-{i}@corp.io") for i in range(4)]
    assert {r.status_code for _, r in known + unknown} == {401}
    def page(r):
        return re.sub(r'name="csrf_token" value="[^"]+"', "", r.text)

    assert page(known[0][1]) == page(unknown[0][1]).replace("nobody-0@corp.io", ADMIN)
    k, u = (statistics.median(t for t, _ in xs) for xs in (known, unknown))
    assert u > k * 0.5, (k, u)  # a password was verified either way


def test_the_database_file_is_private(gateway):
    for name in ("gateway.db", "gateway.db-wal", "secret_key"):
        mode = (gateway.data_dir / name).stat().st_mode
        assert not mode & (stat.S_IRWXG | stat.S_IRWXO), oct(mode)


def test_sign_up_takes_one_address_and_mails_links_to_the_gateway_not_the_requests_host(
        make_gateway, smtp):
    inbox, url = smtp
    gw = make_gateway(SMTP_URL=url).start()
    from models import User

    c = client(gw)
    for many in ("a@x.io,b@y.io,c@z.io", "a@x.io;b@y.io", "Eve <eve@x.io>", "a@x.io b@y.io"):
        r = sign_up(c, many)
        assert r.status_code in (200, 400) and "valid email" in r.text
    assert not User.select().where(User.email.contains("x.io")).exists()
    # A Host of the caller's choosing never reaches the mail: the link is the gateway's own.
    evil = httpx.Client(base_url=gw.url, headers={"host": "evil.example"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', evil.get("/signup").text)[1]
    evil.post("/signup", data={"email": "victim@corp.io", "password": "a fine password",
                               "csrf_token": token})
    mail = inbox.wait_for("victim@corp.io")
    assert "evil.example" not in mail and f"{gw.url}/verify/" in mail
    assert inbox.subjects("a@x.io") == [] and inbox.subjects("b@y.io") == []
