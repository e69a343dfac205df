"""Usage records leave the event loop through a queue; a thread writes them in batches.

The loop only enqueues (`submit`, and `claim` for the owner of an object stored upstream).
Every `interval` seconds the writer prices the queued records from the catalog and inserts
them, with the claims, in one transaction. A graceful stop writes everything queued;
a crash loses at most the records of the last `interval` (see README, "Durability").

A batch the database cannot take for want of the database (locked, unreachable) is retried
whole. A batch it refuses for a record's content (a value too long for its column, a string
the driver cannot encode) is split until the refused records stand alone: the others are
written, and each refused one is set aside as a dead letter (a table, or a file when even
that fails), alerted on, and still counted against its customer's month.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path

from peewee import DecimalField, InterfaceError, OperationalError

from addons.services import prometheus as metrics
from addons.services.pricebook import PriceBook
from models import (
    ApiKey,
    DeadLetter,
    OwnedObject,
    UsageRecord,
    db,
    rollup,
    utcnow,
    write_transaction,
)
from models.base import is_sqlite
from models.month import month_key
from models.selling import Refusal
from models.upstreams import UpstreamEvent, UpstreamMinute

log = logging.getLogger(__name__)

_COLUMNS = [f for f in UsageRecord._meta.sorted_fields if f.name != "id"]
# Values that every column but the decimal one stores as they are (peewee's conversion returns
# them unchanged); the rest go through the field's `db_value`. A fifth of the writer's time
# per row was those calls, on a thread that shares the GIL with the event loop.
_AS_IS = frozenset({int, str, bool, type(None), datetime})
_CONVERT = [isinstance(f, DecimalField) for f in _COLUMNS]
ROWS_PER_STATEMENT = 256
_statements: dict[tuple[int, int], str] = {}  # (database, rows) -> INSERT ... VALUES (...) x rows


def _rows_per_statement() -> int:
    """Up to ROWS_PER_STATEMENT, within the database's limit on bound parameters."""
    if is_sqlite():
        limit = db.connection().getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    else:
        limit = 65535  # PostgreSQL's
    return max(1, min(ROWS_PER_STATEMENT, limit // len(_COLUMNS)))


def chunk_sizes(n: int, most: int) -> list[int]:
    """`n` rows as chunks of `most`, the rest in powers of two: a handful of statement sizes in
    all, so the driver's statement cache stays small (a prepared 400-row INSERT holds ~1 MB, and
    a size per batch would fill its 128 slots)."""
    sizes = [most] * (n // most)
    rest, p = n % most, 1 << max(0, most.bit_length() - 1)
    while rest:
        if rest >= p:
            sizes.append(p)
            rest -= p
        p >>= 1
    return sizes


def _statement(sample: dict, rows: int) -> str:
    key = (id(db.obj), rows)
    if key not in _statements:
        # A record already written (a batch retried after its commit went through) is skipped.
        _statements[key] = UsageRecord.insert_many([sample] * rows).on_conflict_ignore().sql()[0]
    return _statements[key]


def insert_rows(rows: list[dict]) -> None:
    """Multi-row INSERTs (see `chunk_sizes`), each statement built once by peewee (its quoting,
    its placeholders, any database) and kept by size.

    Not executemany: the driver lets go of the GIL for every row it steps, and under load the
    event loop's thread takes the GIL back for a whole switch interval (5 ms) each time; a
    row-at-a-time writer fell behind the traffic (a third of the rows written after 30 s at
    2,200 requests/s, its queue growing without end). One statement per chunk is one hand-off.
    """
    sample = {f.name: rows[0].get(f.name, f.default() if callable(f.default) else f.default)
              for f in _COLUMNS}
    cursor = db.cursor()
    start = 0
    for size in chunk_sizes(len(rows), _rows_per_statement()):
        chunk = rows[start:start + size]
        start += size
        params = []
        for r in chunk:
            for f, convert in zip(_COLUMNS, _CONVERT):
                v = r[f.name] if f.name in r else sample[f.name]
                params.append(f.db_value(v) if convert or type(v) not in _AS_IS else v)
        cursor.execute(_statement(sample, size), params)


# The database itself failed, not a record: the batch waits and is tried again whole.
UNAVAILABLE = (OperationalError, InterfaceError)


def write_attempts(minutes: list[dict], events: list[dict]) -> None:
    """Upstream attempts: each key's counts added to its minute (to what other processes
    wrote), and the failed ones kept as events."""
    M = UpstreamMinute
    with write_transaction():
        for m in minutes:
            M.insert(**m).on_conflict(conflict_target=[M.key_id, M.minute], update={
                M.calls: M.calls + m["calls"], M.rate_limited: M.rate_limited + m["rate_limited"],
                M.errors: M.errors + m["errors"], M.latency_ms: M.latency_ms + m["latency_ms"],
                M.key_name: m["key_name"]}).execute()
        if events:
            UpstreamEvent.insert_many(events).execute()


def _mark_used(last_used: dict) -> None:
    for key_id, when in last_used.items():
        ApiKey.update(last_used_at=when).where(ApiKey.id == key_id).execute()


class UsageWriter:
    def __init__(self, prices: PriceBook, interval: float = 0.5,
                 dead_letter_file: Path | None = None):
        self.prices = prices
        self.dead_letter_file = dead_letter_file  # where a dead letter goes if its table fails
        self.interval = interval
        self.written = 0
        self._queue: queue.SimpleQueue[dict] = queue.SimpleQueue()
        self._pending: list[dict] = []  # taken from the queue, not yet committed
        self._claims: queue.SimpleQueue[dict] = queue.SimpleQueue()
        self._pending_claims: list[dict] = []
        self._refusals: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._attempts: queue.SimpleQueue[dict] = queue.SimpleQueue()
        self._sources: list = []  # fn() -> minute rows of upstream attempts, per batch
        self._minutes: list[dict] = []  # taken from the sources, not yet written
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="usage-writer", daemon=True)
        self._listeners: list = []  # called with each committed batch, on this thread

    def listen(self, fn) -> None:
        """`fn(rows)` after each batch is committed (usage alerts); its failures are logged,
        and never make the batch be written again."""
        self._listeners.append(fn)

    def submit(self, record: dict) -> None:
        self._queue.put(record)

    def backlog(self) -> int:
        """Records submitted and not yet written."""
        return self._queue.qsize() + len(self._pending)

    def claim(self, row: dict) -> None:
        """An OwnedObject row: written with the next batch."""
        self._claims.put(row)

    def refused(self, user_id: int, reason: str) -> None:
        """A call refused by a limit: counted with the next batch."""
        self._refusals.put((user_id, reason, utcnow()))

    def attempt(self, row: dict) -> None:
        """A failed upstream attempt (upstreams.py): an event for the operator, written with
        the next batch."""
        self._attempts.put(row)

    def source(self, fn) -> None:
        """`fn()` gives rows of upstream attempts counted by key and minute for each batch."""
        self._sources.append(fn)

    def start(self) -> None:
        self.prices.reload()
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write everything queued, then end the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        else:
            self.flush()
            self.flush()  # the sources hand their counts over one batch late

    def _run(self) -> None:
        while not self._stop.wait(self.interval):  # the prices are kept current by refresh.py
            self._safely(self.flush)
        # Stopping: keep trying a little while the database is busy, so nothing is lost (a
        # second batch: the sources hand their counts over one batch late).
        self._safely(self.flush)
        for _ in range(20):
            if self._safely(self.flush):
                break
            time.sleep(0.25)
        db.close()

    @staticmethod
    def _safely(fn) -> bool:
        try:
            fn()
            return True
        except Exception:
            metrics.DATABASE_ERRORS.inc()
            log.exception("usage writer: %s failed; will retry", fn.__name__)
            return False

    def flush(self) -> None:
        """Write what is waiting now, in the caller's thread (the writer's own, or a test's)."""
        for q, pending in ((self._queue, self._pending), (self._claims, self._pending_claims)):
            while True:
                try:
                    pending.append(q.get_nowait())
                except queue.Empty:
                    break
        self._count_refusals()
        self._write_attempts()
        if not self._pending and not self._pending_claims:
            return
        rows = [self._priced(r) for r in self._pending]
        last_used: dict[int, object] = {}
        for r in rows:
            if r.get("api_key"):
                last_used[r["api_key"]] = max(r["created_at"], last_used.get(r["api_key"],
                                                                           r["created_at"]))
        claims = self._pending_claims
        try:
            with write_transaction():
                if rows:
                    insert_rows(rows)
                    rollup.add(rollup.summed(rows))  # the sums move with the records
                if claims:
                    OwnedObject.insert_many(claims).on_conflict_ignore().execute()
                _mark_used(last_used)
        except UNAVAILABLE:
            raise
        except Exception as e:  # a record the database refuses: write the others around it
            rows = self._write_halves(rows, e)
            self._claim_apart(claims)
            with write_transaction():
                _mark_used(last_used)
        self.written += len(rows)
        for r in rows:
            metrics.COST.labels(r["provider"]).inc(r["cost_nanousd"] / 1e9)
        self._pending.clear()
        self._pending_claims.clear()
        for fn in self._listeners if rows else ():
            try:
                fn(rows)
            except Exception:
                log.exception("usage writer: %s failed after a batch", fn)

    def _count_refusals(self) -> None:
        counts: dict[tuple[int, str, str], int] = {}
        taken = []
        while True:
            try:
                uid, reason, when = self._refusals.get_nowait()
            except queue.Empty:
                break
            taken.append((uid, reason, when))
            key = (uid, month_key(when), reason)
            counts[key] = counts.get(key, 0) + 1
        if not counts:
            return
        try:
            with write_transaction():
                for (uid, month, reason), n in counts.items():
                    Refusal.insert(user=uid, month=month, reason=reason, count=n).on_conflict(
                        conflict_target=[Refusal.user, Refusal.month, Refusal.reason],
                        update={Refusal.count: Refusal.count + n}).execute()
                rollup.add(rollup.refusals_summed([(uid, when) for uid, _, when in taken]))
        except UNAVAILABLE:
            for refusal in taken:  # counted with the next batch
                self._refusals.put(refusal)
            raise
        except Exception:
            log.exception("usage writer: refusal counts dropped")

    def _write_attempts(self) -> None:
        events = []
        while True:
            try:
                events.append(self._attempts.get_nowait())
            except queue.Empty:
                break
        for fn in self._sources:
            self._minutes += fn()
        if not events and not self._minutes:
            return
        try:
            write_attempts(self._minutes, events)
        except UNAVAILABLE:
            for r in events:  # written with the next batch, the counts too
                self._attempts.put(r)
            raise
        except Exception:
            log.exception("usage writer: upstream attempts dropped")
        self._minutes = []

    def _write_halves(self, rows: list[dict], error: Exception) -> list[dict]:
        """`rows` were refused: write each half apart, until a refused row stands alone and
        is set aside. Returns the rows written."""
        if len(rows) <= 1:
            for row in rows:
                self._set_aside(row, error)
            return []
        half = len(rows) // 2
        return self._write_apart(rows[:half]) + self._write_apart(rows[half:])

    def _write_apart(self, rows: list[dict]) -> list[dict]:
        try:
            with write_transaction():
                insert_rows(rows)
                rollup.add(rollup.summed(rows))
            return rows
        except UNAVAILABLE:
            raise
        except Exception as e:
            return self._write_halves(rows, e)

    def _claim_apart(self, claims: list[dict]) -> None:
        for claim in claims:
            try:
                with write_transaction():
                    OwnedObject.insert(claim).on_conflict_ignore().execute()
            except UNAVAILABLE:
                raise
            except Exception:
                log.error("usage writer: ownership of %r refused by the database; dropped",
                          str(claim.get("object_id"))[:80])

    def _set_aside(self, row: dict, error: Exception) -> None:
        letter = {"created_at": row["created_at"], "user_id": row["user"],
                  "total_tokens": row.get("total_tokens") or 0,
                  "counted_tokens": row.get("counted_tokens") or 0,
                  "credit_nanousd": row.get("credit_nanousd") or 0,
                  "record": json.dumps(row, default=str, sort_keys=True),  # ASCII: always fits
                  "error": f"{type(error).__name__}: {error}"[:2000]}
        metrics.DEAD_LETTERS.inc()
        log.error("usage writer: the database refused request %r's record (%s); set aside as "
                  "a dead letter", str(row.get("request_id"))[:80], letter["error"][:200])
        try:
            with write_transaction():
                DeadLetter.create(**letter)
            return
        except Exception:
            log.exception("usage writer: the dead letter could not be stored either")
        if self.dead_letter_file is None:
            return
        with open(self.dead_letter_file, "a") as f:
            f.write(json.dumps({**letter, "created_at": str(letter["created_at"])}) + "\n")

    def _priced(self, rec: dict) -> dict:
        if "counted_tokens" not in rec:  # not settled by metering: its raw tokens
            rec = {**rec, "counted_tokens": rec.get("total_tokens") or 0}
        if "plan" in rec:  # metering left the charge to be worked out here
            plan = rec.pop("plan")
            rec["charge_nanousd"] = self.prices.sale(plan, rec["provider"],
                                                     rec.get("model") or "", rec)[0]
        if "cost_nanousd" in rec:
            return rec
        cost, priced = self.prices.cost(rec["provider"], rec.get("model") or "", rec)
        tools = rec.get("tools")  # a column of its own, as JSON
        return {**rec, "cost_nanousd": cost, "priced": priced,
                "tool_calls": json.dumps(tools, sort_keys=True) if tools else ""}
