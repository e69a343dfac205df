"""The database binding: one deferred database, bound once from DATABASE_URL."""

import os
from pathlib import Path

from peewee import (
    DatabaseProxy,
    InterfaceError,
    Model,
    OperationalError,
    PostgresqlDatabase,
    SqliteDatabase,
)
from playhouse import db_url
from playhouse.shortcuts import ReconnectMixin

db = DatabaseProxy()

# WAL lets the admin UI read while the usage writer writes; busy_timeout makes a writer wait
# for the lock instead of failing with "database is locked".
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "synchronous": "normal",
}


class BaseModel(Model):
    class Meta:
        database = db


def private(path: Path) -> None:
    """The database file and its folder readable by this user alone (SQLite makes its WAL and
    shared-memory files with the database file's mode): it holds password and key hashes."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists() and p.stat().st_mode & 0o077:
            p.chmod(0o600)


class ReconnectingPostgresqlDatabase(ReconnectMixin, PostgresqlDatabase):
    """A connection found dead (the server restarted, or dropped it) is opened again and the
    statement retried once, outside transactions (a transaction fails, and its caller retries
    it: the usage writer does). Without it a thread's broken connection stays broken."""

    reconnect_errors = (
        (OperationalError, "server closed the connection"),
        (OperationalError, "terminating connection"),
        (OperationalError, "the connection is closed"),
        (OperationalError, "the connection is lost"),
        (OperationalError, "connection is bad"),
        (InterfaceError, "connection already closed"),
        (InterfaceError, "the connection is closed"),
        (InterfaceError, "the connection is lost"),
    )


db_url.register_database(ReconnectingPostgresqlDatabase, "postgres", "postgresql")


def bind(url: str):
    """Bind the models to the database at `url` (sqlite:///..., postgresql://...)."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            private(Path(path))
        database = db_url.connect(url, pragmas=SQLITE_PRAGMAS)
    else:
        database = db_url.connect(url)
    db.initialize(database)
    return database


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)


def write_transaction():
    """A transaction that will write. On SQLite it takes the write lock up front (BEGIN
    IMMEDIATE): a deferred one that reads first and then writes cannot wait for a busy lock
    and fails at once with "database is locked", whatever the busy timeout."""
    return db.atomic("IMMEDIATE") if is_sqlite() else db.atomic()
