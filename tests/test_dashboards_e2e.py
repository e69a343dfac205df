"""The figures behind the dashboards, through the real gateway and the official SDKs: each
call's finish reason recorded, the hourly and daily sums equal to the records they sum
(refusals counted with them), the customer's usage filtered by key, model and status and
exported as CSV, and the operator's overview."""

from __future__ import annotations

import csv
import io
import re

import pytest
from peewee import fn

from tests.conftest import ADMIN_PASSWORD, ant, client, gem, new_customer, oai, sign_in, wait_until

MSG = [{"role": "user", "content": "Hi"}]


def records_of(email: str):
    from models import UsageRecord, User

    return list(UsageRecord.select().join(User).where(User.email == email)
                .order_by(UsageRecord.id))


def test_each_call_keeps_its_finish_reason(gateway):
    email = new_customer(gateway, "Startup")
    key = gateway.create_key(email)
    oai(gateway, key).chat.completions.create(model="gpt-4o-mini", messages=MSG)
    for _ in oai(gateway, key).chat.completions.create(model="gpt-4o-mini", messages=MSG,
                                                       stream=True):
        pass
    oai(gateway, key).responses.create(model="gpt-4o-mini", input="Hi")
    ant(gateway, key).messages.create(model="claude-sonnet-4-6", max_tokens=50, messages=MSG)
    with ant(gateway, key).messages.stream(model="claude-sonnet-4-6", max_tokens=50,
                                           messages=MSG) as s:
        s.until_done()
    gem(gateway, key).models.generate_content(model="gemini-2.5-flash", contents="Hi")
    rows = wait_until(lambda: r if len(r := records_of(email)) == 6 else None)
    assert [(r.endpoint, r.streamed, r.finish_reason) for r in rows] == [
        ("chat.completions", False, "stop"), ("chat.completions", True, "stop"),
        ("responses", False, "completed"), ("messages", False, "end_turn"),
        ("messages", True, "end_turn"), ("generateContent", False, "STOP")]


def test_the_sums_equal_the_records_and_count_refusals(gateway):
    from models import UsageRecord, User
    from models.rollup import UsageRollup as S

    email = new_customer(gateway, "Explorer")  # 20 requests a minute
    keys = [gateway.create_key(email, "one"), gateway.create_key(email, "two")]
    for i in range(12):
        oai(gateway, keys[i % 2]).chat.completions.create(
            model="gpt-4o-mini" if i % 3 else "gpt-4.1-mini", messages=MSG,
            extra_headers={"x-fake-usage": f"in={100 + i},out={10 + i}"})
    refused = 0
    for _ in range(10):  # 8 more within the rate, then refused and counted
        r = client(gateway).post("/v1/openai/chat/completions",
                                 headers={"authorization": f"Bearer {keys[0]}"},
                                 json={"model": "gpt-4o-mini", "messages": MSG})
        refused += r.status_code == 429
    assert refused == 2
    user = User.get(User.email == email)
    wait_until(lambda: S.select(fn.SUM(S.refusals)).where(
        S.user_id == user.id, S.period == "h").scalar() == refused, what="refusals summed")
    records = wait_until(lambda: r if len(r := records_of(email)) == 20 else None)
    R = UsageRecord
    for period in ("h", "d"):
        by_key_model = {(k, m): (n, t, c) for k, m, n, t, c in S.select(
            S.key_id, S.model, fn.SUM(S.requests), fn.SUM(S.total_tokens),
            fn.SUM(S.charge_nanousd)).where(S.user_id == user.id, S.period == period,
                                            S.requests > 0)
            .group_by(S.key_id, S.model).tuples()}
        expected = {(k, m): (n, t, c) for k, m, n, t, c in R.select(
            R.api_key, R.model, fn.COUNT(R.id), fn.SUM(R.total_tokens),
            fn.SUM(R.charge_nanousd)).where(R.user == user).group_by(R.api_key, R.model)
            .tuples()}
        assert by_key_model == expected and len(expected) == 2, period  # two keys
    assert sum(r.charge_nanousd for r in records) > 0


@pytest.fixture
def two_keys(gateway):
    """A customer whose two keys called two models; one call failed upstream."""
    email = new_customer(gateway, "Startup")
    gateway.admin("set-password", email, input="usage-page-password\n")
    a, b = gateway.create_key(email, "ci job"), gateway.create_key(email, "laptop")
    for _ in range(3):
        oai(gateway, a).chat.completions.create(model="gpt-4o-mini", messages=MSG)
    ant(gateway, b).messages.create(model="claude-sonnet-4-6", max_tokens=30, messages=MSG)
    r = client(gateway).post("/v1/openai/chat/completions",
                             headers={"authorization": f"Bearer {b}", "x-fake-mode": "fail:400:1"},
                             json={"model": "gpt-4o-mini", "messages": MSG})
    assert r.status_code == 400
    wait_until(lambda: len(records_of(email)) == 5)
    return email


def test_the_usage_page_filters_by_key_model_and_status(gateway, two_keys):
    from models import ApiKey

    c = client(gateway)
    assert sign_in(c, two_keys, "usage-page-password").status_code == 302
    page = c.get("/usage").text
    table = re.search(r'<table id="by-key-model">.*?</table>', page, re.S)[0]
    assert "ci job" in table and "laptop" in table and "claude-sonnet-4-6" in table
    assert page.count('<tr><td>') >= 5 and "end_turn" in page and ">stop<" in page
    ci = ApiKey.get(ApiKey.name == "ci job", ApiKey.user == records_of(two_keys)[0].user)
    only_ci = c.get(f"/usage?key={ci.id}").text
    log = re.search(r'<table id="recent">.*?</table>', only_ci, re.S)[0]
    assert log.count("ci job") == 3 and "laptop" not in log
    assert "3 requests" in only_ci
    failed = re.search(r'<table id="recent">.*?</table>', c.get("/usage?status=error").text,
                       re.S)[0]
    assert failed.count("<tr><td>") == 1 and ">400<" in failed
    rows = list(csv.DictReader(io.StringIO(c.get("/usage/export.csv?model=claude-sonnet-4-6")
                                           .text)))
    assert [(r["key_name"], r["model"], r["finish_reason"]) for r in rows] == [
        ("laptop", "claude-sonnet-4-6", "end_turn")]
    assert float(rows[0]["charge_usd"]) > 0 and int(rows[0]["latency_ms"]) >= 0
    # Another customer's key is not a filter of this one's.
    other = gateway.create_key("demo@startup.ai", "theirs")
    theirs = ApiKey.get(ApiKey.prefix == other[:len(ci.prefix)])
    assert "theirs" not in c.get(f"/usage?key={theirs.id}").text


def test_the_operators_overview(gateway, two_keys):
    c = client(gateway)
    assert sign_in(c, "admin@llm-gateway.io", ADMIN_PASSWORD).status_code == 302
    assert c.get("/").headers["location"].endswith("/ops/overview")
    from models import UsageRecord, User

    R = UsageRecord
    for range_name in ("48h", "30d", "90d"):
        page = c.get(f"/ops/overview?range={range_name}").text
        top = re.search(r'<table id="top-customers">.*?</table>', page, re.S)[0]
        # The first is the customer charged most in the range, as the records say.
        leader = (R.select(R.user, fn.SUM(R.charge_nanousd)).group_by(R.user)
                  .order_by(fn.SUM(R.charge_nanousd).desc()).tuples().first())
        assert re.search(r"<tbody><tr><td><a [^>]*>([^<]+)</a>", top)[1] \
            == User.get_by_id(leader[0]).email
        models = re.search(r'<table id="top-models">.*?</table>', page, re.S)[0]
        assert "gpt-4o-mini" in models
        assert 'id="chart-money"' in page and 'id="chart-requests"' in page
        assert "vendor/chart-4.6.1.umd.min.js" in page and "cdn" not in page.lower()
        requests = int(re.search(r'id="total-requests">([\d,]+)<', page)[1].replace(",", ""))
        assert requests >= 5
