"""The usage writer against a real SQLite file: every record written, priced, in few statements."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from peewee import OperationalError

from addons.providers import COUNTING
from addons.services import usage_writer as writer
from addons.services.pricebook import PriceBook
from addons.services.usage_writer import UsageWriter
from models import ApiKey, DeadLetter, ModelPrice, Plan, UsageRecord, User, bind, db, ledger
from models.base import is_sqlite
from models.seed import create_tables


@pytest.fixture
def database(tmp_path):
    bind(f"sqlite:///{tmp_path / 'gateway.db'}")
    create_tables()
    plan = Plan.create(name="Startup", requests_per_minute=60, monthly_tokens=1_000_000)
    user = User.create(email="demo@startup.ai", password_hash="x", plan=plan)
    key = ApiKey.create(user=user, prefix="gw-abc", secret_hash="h")
    ModelPrice.create(model="gpt-4o-mini", provider="openai", input_per_mtok=Decimal("0.15"),
                      output_per_mtok=Decimal("0.60"))
    yield user, key
    db.close()


def record(i: int, user, key) -> dict:
    return {"created_at": dt.datetime(2026, 11, 28, 12, 0, 0) + dt.timedelta(milliseconds=i),
            "request_id": f"req_{i}", "user": user.id, "api_key": key.id,
            "provider": "openai", "endpoint": "chat.completions", "model": "gpt-4o-mini",
            "status": 200, "streamed": i % 2 == 0, "latency_ms": 3, "ttfb_ms": None,
            "input_tokens": 1000, "cache_read_tokens": 0, "cache_write_tokens": 0,
            "output_tokens": i, "reasoning_tokens": 0, "total_tokens": 1000 + i,
            "complete": True, "estimated": False}


def test_a_flush_writes_every_record_priced_in_a_few_statements(database):
    user, key = database
    w = UsageWriter(PriceBook())
    w.prices.reload()
    n = 2 * writer.ROWS_PER_STATEMENT + 7  # two full statements, then 4 + 2 + 1
    for i in range(n):
        w.submit(record(i, user, key))
    statements: list[str] = []
    db.connection().set_trace_callback(statements.append)
    w.flush()
    db.connection().set_trace_callback(None)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    # Five statements, not one per row: each is one hand-off of the GIL under load; and one
    # adding the batch to the hourly and daily sums.
    assert sum('INTO "usagerecord"' in s for s in inserts) == 5
    assert sum('INTO "usagerollup"' in s for s in inserts) == 1 and len(inserts) == 6
    assert UsageRecord.select().count() == n == w.written
    from models.rollup import UsageRollup

    sums = {r.period: (r.requests, r.total_tokens, r.cost_nanousd, r.latency_ms)
            for r in UsageRollup.select()}
    records = UsageRecord.select()
    assert sums["h"] == sums["d"] == (n, sum(r.total_tokens for r in records),
                                      sum(r.cost_nanousd for r in records), 3 * n)
    last = UsageRecord.get(UsageRecord.request_id == f"req_{n - 1}")
    assert last.output_tokens == n - 1 and last.total_tokens == 1000 + n - 1
    assert last.priced and not last.estimated
    # 1,000 input tokens at $0.15/M and n-1 output tokens at $0.60/M.
    expected = (Decimal(1000) * Decimal("0.15") + Decimal(n - 1) * Decimal("0.60")) / 10**6
    assert last.cost_usd == expected.quantize(Decimal("1e-9"))
    assert ApiKey.get_by_id(key.id).last_used_at == record(n - 1, user, key)["created_at"]


@pytest.mark.parametrize("n", [0, 1, 7, 255, 256, 257, 1000, 1023])
def test_chunks_cover_every_row_with_few_distinct_sizes(n):
    sizes = writer.chunk_sizes(n, 256)
    assert sum(sizes) == n and all(0 < s <= 256 for s in sizes)
    assert set(sizes) <= {256, 128, 64, 32, 16, 8, 4, 2, 1}  # nine statements at most, ever
    assert len(sizes) - sizes.count(256) <= 8


def test_records_of_an_unknown_model_are_written_unpriced(database):
    user, key = database
    w = UsageWriter(PriceBook())
    w.prices.reload()
    w.submit({**record(1, user, key), "model": "no-such-model", "api_key": None})
    w.flush()
    (row,) = UsageRecord.select()
    assert not row.priced and row.cost_usd == 0 and row.api_key_id is None


def test_listeners_see_each_committed_batch_and_their_failures_change_nothing(database):
    user, key = database
    w = UsageWriter(PriceBook())
    w.prices.reload()
    seen: list[int] = []
    w.listen(lambda rows: (_ for _ in ()).throw(RuntimeError("a broken listener")))
    w.listen(lambda rows: seen.append(len(rows)))
    for i in range(3):
        w.submit(record(i, user, key))
    w.flush()
    w.flush()  # nothing pending: no batch, no call
    assert seen == [3]  # the second listener ran although the first raised
    assert UsageRecord.select().count() == 3 == w.written  # written once, not retried


@pytest.fixture(params=["sqlite", "postgresql"])
def each_database(request, tmp_path):
    """The `database` set-up on SQLite, then on a private PostgreSQL."""
    if request.param == "sqlite":
        bind(f"sqlite:///{tmp_path / 'gateway.db'}")
    else:
        bind(request.getfixturevalue("postgres").new_database())
    create_tables()
    plan = Plan.create(name="Startup", requests_per_minute=60, monthly_tokens=1_000_000)
    user = User.create(email="demo@startup.ai", password_hash="x", plan=plan)
    key = ApiKey.create(user=user, prefix="gw-abc", secret_hash="h")
    yield user, key
    db.close()


# What each database refuses (the audit's two cases): SQLite's driver cannot encode a lone
# surrogate; PostgreSQL will not put 300 characters in a VARCHAR(255).
REFUSED_MODEL = {"sqlite": "\ud800", "postgresql": "m" * 300}


def test_a_record_the_database_refuses_is_set_aside_and_blocks_no_other(each_database,
                                                                        tmp_path):
    user, key = each_database
    w = UsageWriter(PriceBook(), dead_letter_file=tmp_path / "dead.jsonl")
    w.prices.reload()
    bad = 5
    for i in range(12):
        model = REFUSED_MODEL["sqlite" if is_sqlite() else "postgresql"] if i == bad \
            else "gpt-4o-mini"
        w.submit({**record(i, user, key), "model": model})
    w.flush()  # raises nothing: the batch is not retried forever
    assert UsageRecord.select().count() == 11 == w.written
    assert w.backlog() == 0
    (letter,) = DeadLetter.select()
    assert letter.user_id == user.id and letter.total_tokens == 1000 + bad
    assert json.loads(letter.record)["request_id"] == f"req_{bad}"
    # The next batch is written as ever, and the month still counts the refused record.
    w.submit(record(100, user, key))
    w.flush()
    assert UsageRecord.select().count() == 12
    month = ledger.tokens_this_month(record(0, user, key)["created_at"])
    assert month[user.id] == sum(1000 + i for i in range(12)) + 1100


def test_a_batch_is_retried_whole_while_the_database_itself_fails(database, monkeypatch):
    user, key = database
    w = UsageWriter(PriceBook())
    w.prices.reload()
    for i in range(3):
        w.submit(record(i, user, key))
    real = writer.insert_rows

    def locked(rows):
        raise OperationalError("database is locked")

    monkeypatch.setattr(writer, "insert_rows", locked)
    with pytest.raises(OperationalError):
        w.flush()
    assert w.backlog() == 3 and not DeadLetter.select().exists()  # nothing set aside
    monkeypatch.setattr(writer, "insert_rows", real)
    w.flush()
    assert UsageRecord.select().count() == 3 and w.backlog() == 0


def test_token_counting_records_do_not_fill_the_rebuilt_request_window(database):
    """After a restart (or a Redis rebuild) the window is rebuilt from the records: token
    counting, limited apart, must not take the plan's requests."""
    user, key = database
    now = dt.datetime(2026, 11, 28, 12, 0, 30)
    rows = [{**record(i, user, key), "created_at": now - dt.timedelta(seconds=5),
             "endpoint": endpoint} for i, endpoint in enumerate(
                 ["count_tokens"] * 18 + ["countTokens", "responses.input_tokens", "messages"])]
    UsageRecord.insert_many(rows).execute()
    assert [rid for _, rid in ledger.recent_requests(now, COUNTING)[user.id]] == ["req_20"]
