"""Accounts with members, through the real gateway, a real SMTP server and the official SDK:
an owner invites by mail, the invited person joins and spends from the account with a key of
their own, the owner sees it per key; roles keep each to their pages; a person in two
accounts switches between them; links work once; the last owner stays."""

from __future__ import annotations

import re
import time

import openai

from tests.conftest import client, csrf, new_customer, sign_in, wait_until

MSG = [{"role": "user", "content": "Hi"}]
OWNER_PW, MEMBER_PW = "owner-password-1", "member-password-1"


def post(c, path: str, form: dict, page: str = "/members"):
    return c.post(path, data={**form, "csrf_token": csrf(c, page)})


def invite(c, inbox, email: str, role: str) -> str:
    r = post(c, "/members/invite", {"email": email, "role": role})
    assert r.status_code == 302, r.text
    mail = inbox.wait_for(email, subject="invites you")
    return re.search(r"http://\S+/invite/\S+", mail)[0]


def test_an_invited_member_spends_from_the_account_and_the_owner_sees_it(make_gateway, smtp):
    from models import ApiKey, UsageRecord, User

    inbox, url = smtp
    gw = make_gateway(SMTP_URL=url).start()
    owner_email = new_customer(gw, "Startup")
    gw.admin("set-password", owner_email, input=OWNER_PW + "\n")
    owner = client(gw)
    assert sign_in(owner, owner_email, OWNER_PW).status_code == 302
    newcomer = f"contractor-{time.time_ns()}@example.com"
    link = invite(owner, inbox, newcomer, "member")
    assert newcomer in owner.get("/members").text  # waiting for an answer

    # The invited person chooses a password and lands in the account.
    person = client(gw, "127.0.0.2")
    path = link.removeprefix(gw.url)
    assert "Choose a password" in person.get(path).text
    r = post(person, path, {"password": MEMBER_PW}, path)
    assert r.status_code == 302
    assert owner_email in person.get("/").text  # the account's dashboard
    assert person.get(path, follow_redirects=True).text.count("used already") == 1  # once

    # A key of their own, spent from the account's plan.
    page = post(person, "/keys", {"name": "contractor laptop"}, "/keys").text
    secret = re.search(r'id="new-key">(gw-[^<]+)<', page)[1]
    oai = openai.OpenAI(base_url=f"{gw.url}/v1/openai", api_key=secret, max_retries=0)
    reply = oai.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MSG)
    assert reply.headers["x-ratelimit-limit-requests"] == "60"  # the account's Startup plan
    account = User.get(User.email == owner_email)
    record = wait_until(lambda: UsageRecord.get_or_none(UsageRecord.user == account))
    key = ApiKey.get_by_id(record.api_key_id)
    assert key.user_id == account.id and key.created_by.email == newcomer

    # The owner sees it: the key, who made it, and its spend per key.
    keys_page = owner.get("/keys").text
    assert "contractor laptop" in keys_page and newcomer in keys_page
    usage = owner.get("/usage").text
    table = re.search(r'<table id="by-key-model">.*?</table>', usage, re.S)[0]
    assert "contractor laptop" in table
    # A member manages only their own keys, and opens no billing.
    owners_key = gw.create_key(owner_email, "owner's own")
    assert "owner's own" not in person.get("/keys").text
    assert person.get("/credit").status_code == 403
    assert post(person, "/members/invite", {"email": "x@example.com", "role": "owner"}
                ).status_code == 403

    # The owner makes them billing: no keys page then, the credit page yes.
    member_row = re.search(r'action="/members/(\d+)/role"', owner.get("/members").text)[1]
    post(owner, f"/members/{member_row}/role", {"role": "billing"})
    assert person.get("/keys").status_code == 403 and person.get("/credit").status_code == 200

    # Removed: nothing of the account's, and no account of their own to use instead.
    post(owner, f"/members/{member_row}/remove", {})
    home = person.get("/")
    assert home.status_code == 403 and "no longer a member" in home.text
    for page in ("/keys", "/usage", "/credit", "/pricing"):
        assert person.get(page).status_code == 403, page
    # The key they made stays the account's, for the owner to keep or revoke.
    assert owners_key and oai.chat.completions.create(model="gpt-4o-mini", messages=MSG)


def test_a_person_in_two_accounts_switches_and_the_last_owner_stays(make_gateway, smtp):
    inbox, url = smtp
    gw = make_gateway(SMTP_URL=url).start()
    a_email, b_email = new_customer(gw, "Startup"), new_customer(gw, "Growth")
    for email in (a_email, b_email):
        gw.admin("set-password", email, input=OWNER_PW + "\n")
    gw.create_key(a_email, "a-key")
    b = client(gw)
    assert sign_in(b, b_email, OWNER_PW).status_code == 302
    link = invite(b, inbox, a_email, "admin")
    # An existing person signs in first, then joins.
    a = client(gw, "127.0.0.3")
    r = a.get(link.removeprefix(gw.url))
    assert r.status_code == 302 and "/login" in r.headers["location"]
    r = sign_in(a, a_email, OWNER_PW, next_=link.removeprefix(gw.url))
    assert r.status_code == 302
    a.get(r.headers["location"])  # joins
    page = a.get("/").text
    assert 'id="account-switch"' in page and b_email in page  # now working in b's account
    assert "a-key" not in a.get("/keys").text  # b's keys, not their own
    own = re.search(rf'<option value="(\d+)"[^>]*>{re.escape(a_email)}', page)[1]
    post(a, "/members/switch", {"account": own}, "/")
    assert "a-key" in a.get("/keys").text
    assert post(a, "/members/switch", {"account": "999999"}, "/").status_code == 404

    # A withdrawn invitation does not work; the last owner cannot leave.
    link2 = invite(b, inbox, f"late-{time.time_ns()}@example.com", "member")
    inv = re.search(r'action="/members/invitations/(\d+)/revoke"', b.get("/members").text)[1]
    post(b, f"/members/invitations/{inv}/revoke", {})
    assert "invalid, expired or used" in client(gw).get(link2.removeprefix(gw.url),
                                                         follow_redirects=True).text
    mine = re.search(r'action="/members/(\d+)/remove"[^>]*data-confirm="Leave',
                     b.get("/members").text)[1]
    post(b, f"/members/{mine}/remove", {})
    assert "keeps at least one owner" in b.get("/members").text
