"""Passwords and sign-in, through the real gateway and a real SMTP server (aiosmtpd): a
forgotten password reset by a link that works once and expires, the same answer for an unknown
address, a password changed from the account page, and a TOTP second factor, required of
operators with OPERATOR_2FA."""

from __future__ import annotations

import hashlib
import re
import time

import pyotp
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.conftest import ADMIN_PASSWORD, client, csrf, sign_in

NEW = "a brand new password"


def post(c, path: str, form: dict, page: str | None = None):
    return c.post(path, data={**form, "csrf_token": csrf(c, page or path)})


def reset_link(text: str) -> str:
    return re.search(r"http://\S+/reset/\S+", text)[0]


def test_forgotten_password_reset_by_a_link_that_works_once(make_gateway, smtp):
    inbox, url = smtp
    gw = make_gateway(SMTP_URL=url).start()
    email = f"forgetful-{time.time_ns()}@example.com"
    gw.admin("create-user", email, "--plan", "Explorer", "--password-stdin",
             input="the old password\n")

    # The same answer, whether the address has an account or not.
    known = post(client(gw), "/forgot", {"email": email})
    unknown = post(client(gw), "/forgot", {"email": "nobody-here@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.text.replace(email, "X") == unknown.text.replace("nobody-here@example.com", "X")
    mail = inbox.wait_for(email, subject="Reset your llm-gateway password")
    time.sleep(0.5)
    assert not [m for m in inbox.messages if m["To"] == "nobody-here@example.com"]
    link = reset_link(mail)
    assert link.startswith(gw.url)  # the gateway's own address, never the request's Host

    c = client(gw)
    path = link.removeprefix(gw.url)
    assert "Choose a new password" in c.get(path).text
    short = post(c, path, {"new_password": "short", "confirm_password": "short"})
    assert short.status_code == 400 and "Choose another password" in short.text
    done = post(c, path, {"new_password": NEW, "confirm_password": NEW})
    assert done.status_code == 302 and done.headers["location"].endswith("/login")
    assert sign_in(client(gw), email, NEW).status_code == 302
    assert sign_in(client(gw), email, "the old password").status_code == 401

    # Used: refused. Expired (made an hour and more ago, as the gateway would): refused.
    again = c.get(path)
    assert again.status_code == 302 and again.headers["location"].endswith("/forgot")
    from models import User

    user = User.get(User.email == email)

    class AnHourAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 3601

    secret = (gw.data_dir / "secret_key").read_text().strip()
    stale = URLSafeTimedSerializer(secret, salt="reset-password", signer=AnHourAgo).dumps(
        {"u": user.id, "p": hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]})
    fresh = URLSafeTimedSerializer(secret, salt="reset-password").dumps(
        {"u": user.id, "p": hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]})
    assert client(gw).get(f"/reset/{stale}").status_code == 302  # expired
    assert client(gw).get(f"/reset/{fresh}").status_code == 200  # the same, made now: valid
    refused = client(gw).get(f"/reset/{stale}", follow_redirects=True)
    assert "invalid, expired or used already" in refused.text

    # Asked for again and again: throttled per address, with the same kind of answer.
    statuses = [post(client(gw), "/forgot", {"email": email}).status_code for _ in range(6)]
    assert 429 in statuses


def test_password_changed_from_the_account_page_ends_other_sessions(make_gateway, smtp):
    inbox, url = smtp
    gw = make_gateway(SMTP_URL=url).start()
    email = f"changer-{time.time_ns()}@example.com"
    gw.admin("create-user", email, "--plan", "Explorer", "--password-stdin",
             input="the old password\n")
    here, elsewhere = client(gw), client(gw, "127.0.0.2")
    assert sign_in(here, email, "the old password").status_code == 302
    assert sign_in(elsewhere, email, "the old password").status_code == 302

    form = {"current_password": "wrong", "new_password": NEW, "confirm_password": NEW}
    r = post(here, "/account/password", form, "/account")
    assert "current password is wrong" in here.get(r.headers["location"]).text
    form["current_password"] = "the old password"
    r = post(here, "/account/password", form, "/account")
    assert "Password changed" in here.get(r.headers["location"]).text  # still signed in
    assert elsewhere.get("/keys").status_code == 302  # signed out
    assert "was just changed" in inbox.wait_for(email, subject="password was changed")
    assert sign_in(client(gw), email, NEW).status_code == 302


def test_a_second_factor_and_operators_made_to_use_one(make_gateway):
    gw = make_gateway(OPERATOR_2FA="true").start()
    email = f"careful-{time.time_ns()}@example.com"
    gw.admin("create-user", email, "--plan", "Explorer", "--password-stdin",
             input="the password here\n")

    # A customer turns it on: the secret shown once, confirmed by a code from it.
    c = client(gw)
    assert sign_in(c, email, "the password here").status_code == 302
    post(c, "/account/2fa", {}, "/account")
    page = c.get("/account").text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)[1]
    assert "<svg" in page  # the QR code, drawn here
    wrong = post(c, "/account/2fa/confirm", {"code": "000000"}, "/account")
    assert "does not match" in c.get(wrong.headers["location"]).text
    totp = pyotp.TOTP(secret)
    post(c, "/account/2fa/confirm", {"code": totp.now()}, "/account")
    assert "Second factor on" in c.get("/account").text

    # Signing in: the password, then the code; a wrong code and a used code refused.
    def sign_in_with(code: str):
        b = client(gw)
        first = sign_in(b, email, "the password here")
        assert first.headers["location"].endswith("/login/code")
        assert b.get("/").status_code == 302  # not signed in on the password alone
        return b, post(b, "/login/code", {"code": code})

    _, r = sign_in_with("123456" if totp.now() != "123456" else "654321")
    assert r.status_code == 401
    code = totp.at(time.time() + 30)  # the next step's code: valid (a phone a little ahead)
    b, r = sign_in_with(code)
    assert r.status_code == 302 and b.get("/keys").status_code == 200
    _, r = sign_in_with(code)
    assert r.status_code == 401 and "used already" in r.text

    # OPERATOR_2FA: the operator can open nothing but the account page until theirs is set.
    op = client(gw)
    assert sign_in(op, "admin@llm-gateway.io", ADMIN_PASSWORD).status_code == 302
    r = op.get("/ops/customers")
    assert r.status_code == 302 and r.headers["location"].endswith("/account")
    assert "Operators must sign in with a second factor" in op.get("/account").text
    post(op, "/account/2fa", {}, "/account")
    op_secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', op.get("/account").text)[1]
    post(op, "/account/2fa/confirm", {"code": pyotp.TOTP(op_secret).now()}, "/account")
    assert op.get("/ops/customers").status_code == 200
    off = post(op, "/account/2fa/off", {"password": ADMIN_PASSWORD,
                                        "code": pyotp.TOTP(op_secret).now()}, "/account")
    assert "must keep a second factor" in op.get(off.headers["location"]).text

    # A lost phone: the operator turns the customer's off from the CLI.
    gw.admin("reset-2fa", email)
    assert sign_in(client(gw), email, "the password here").headers["location"].endswith("/")
