"""The provider keys' state beyond this process: each attempt recorded (the database, by key
and minute; the metrics), each change told (the operator's log and mail, the fleet over Redis)
and learnt (other processes' changes and the operator's acts, from Redis at once and from the
record every few seconds), and the keys read again on SIGHUP or when the keys file changes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from datetime import UTC, datetime

from addons.services import prometheus as metrics
from addons.services.pool import Change, Key, Pool
from models import keyring
from models.changes import PREFIX, Subscriber
from models.upstreams import DISABLING, ENABLED

log = logging.getLogger(__name__)

CHANNEL = PREFIX + "upstream-keys"
EVERY = 2.0  # seconds between readings of the record and the keys file
_STATES = {"serving": 0, "cooling": 1, "disabled": 2}


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC).replace(tzinfo=None)


class UpstreamState:
    def __init__(self, pool: Pool, env, writer=None, mailer=None, redis_url: str | None = None,
                 every: float = EVERY) -> None:
        self.pool, self.env, self.writer, self.mailer = pool, env, writer, mailer
        self.redis_url, self.every = redis_url, every
        self.last_event = 0  # the record's events read up to this id
        self._stamp = keyring.file_stamp(env)
        self._tasks: set[asyncio.Task] = set()
        self._redis = None
        self._subscriber: Subscriber | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Attempts counted by key since the writer's last batch: [key, calls, 429s, errors,
        # latency ms]; and those it swapped out then, written with its next.
        self.window: dict[str, list] = {}
        self._taken: dict[str, list] = {}
        if writer is not None:
            writer.source(self.minutes)
        metrics.UPSTREAM_ATTEMPTS.source = self.totals
        pool.listeners.append(self.changed)
        self._gauges()

    # --- each attempt ---

    def record(self, key: Key, outcome: str, status: int, seconds: float, call,
               until: float = 0.0) -> None:
        """Counted in memory (the hot path: a few increments); the writer takes the counts
        with its batches, and a failed attempt is queued for it as an event."""
        w = self.window.get(key.id)
        if w is None:
            w = self.window[key.id] = [key, 0, 0, 0, 0]
        w[1] += 1
        w[4] += int(seconds * 1000)
        key.totals[outcome] = key.totals.get(outcome, 0) + 1
        if outcome == "ok":
            return
        w[2 if outcome == "rate_limited" else 3] += 1
        if self.writer is not None:
            self.writer.attempt({
                "at": datetime.now(UTC).replace(tzinfo=None), "provider": key.spec.provider,
                "key_id": key.id, "key_name": key.name, "fingerprint": key.spec.fingerprint,
                "kind": outcome, "status": status, "until": _at(until) if until else None,
                "request_id": call.request_id, "model": call.model})

    def minutes(self) -> list[dict]:
        """The counts for the writer's batch (its thread): those swapped out at the batch
        before, so no increment on the loop can still be landing in them."""
        current, self.window = self.window, {}
        taken, self._taken = self._taken, current
        minute = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
        return [{"key_id": k.id, "minute": minute, "provider": k.spec.provider,
                 "key_name": k.name, "fingerprint": k.spec.fingerprint, "calls": calls,
                 "rate_limited": limited, "errors": errors, "latency_ms": ms}
                for k, calls, limited, errors, ms in taken.values()]

    def totals(self):
        """(provider, key name, outcome, attempts) since start, for Prometheus."""
        for provider, keys in self.pool.keys.items():
            for k in keys:
                for outcome, n in k.totals.items():
                    yield provider, k.name, outcome, n

    # --- changes told ---

    def changed(self, key: Key, change: Change) -> None:
        self._gauges()
        if change.kind in ("revoked", "no_credit"):
            log.error("upstream key %s of %s (…%s) disabled: %s", key.name, key.spec.provider,
                      key.spec.fingerprint, change.kind)
            if self.mailer is not None:
                self._spawn(asyncio.to_thread(mail_operators, self.mailer, key, change))
        if self.redis_url and change.kind != "enabled":
            self._spawn(self._publish(change))

    def _gauges(self) -> None:
        now = time.time()
        for provider, keys in self.pool.keys.items():
            for k in keys:
                metrics.UPSTREAM_KEY_STATE.labels(provider, k.name).set(_STATES[k.state(now)])

    def _spawn(self, coro) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # no loop (a test, the CLI): nothing to tell the fleet
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, change: Change) -> None:
        try:
            if self._redis is None:
                from redis import asyncio as aioredis

                self._redis = aioredis.Redis.from_url(self.redis_url, socket_timeout=1,
                                                      socket_connect_timeout=1)
            await self._redis.publish(CHANNEL, json.dumps(change.__dict__))
        except Exception as e:
            log.warning("upstream key change not shared over Redis (%s); the others read "
                        "it from the record", e)

    # --- what the operator's page reads and does, in this process ---

    def live(self, key_id: str):
        """(state, cooling until, why disabled) of a key as this process holds it."""
        key = self.pool.by_id(key_id)
        if key is None:
            return None
        state = key.state(time.time())
        until = key.cooling_until(time.time())
        return state, _at(until) if state == "cooling" else None, key.disabled

    def enable(self, key_id: str) -> None:
        """The operator put a key back (also recorded, for the other processes)."""
        if (key := self.pool.by_id(key_id)) is not None:
            self.pool.enable(key)

    # --- changes learnt ---

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._spawn(self._every())
        if self.redis_url:  # subscribed again after an interruption: the record read again
            self._subscriber = Subscriber(self.redis_url, lambda: self._spawn(self._read()),
                                          channel=CHANNEL, on_message=self._told)
            self._subscriber.start()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            self._loop.add_signal_handler(signal.SIGHUP, self.reload)

    def stop(self) -> None:
        if self._subscriber is not None:
            self._subscriber.stop()
        for task in list(self._tasks):
            task.cancel()

    async def _every(self) -> None:
        await self._read()
        while True:
            await asyncio.sleep(self.every)
            if keyring.file_stamp(self.env) != self._stamp:
                self.reload()
            await self._read()

    async def _read(self) -> None:
        try:
            changes, self.last_event = await asyncio.to_thread(
                read_changes, self.last_event, [k.id for ks in self.pool.keys.values()
                                                for k in ks])
        except Exception as e:
            log.warning("upstream key states not read from the record (%s)", e)
            return
        for change in changes:
            self.pool.apply(change)
        if changes:
            self._gauges()

    def _told(self, data: bytes) -> None:
        """Another process's change, over Redis."""
        try:
            self.pool.apply(Change(**json.loads(data)))
        except (ValueError, TypeError) as e:
            log.warning("an upstream key change from Redis not understood (%s)", e)
            return
        self._gauges()

    def reload(self) -> None:
        """The keys read again (SIGHUP, or the keys file changed): calls in flight keep the
        key they went with; a key kept keeps its state."""
        self._stamp = keyring.file_stamp(self.env)
        try:
            specs = keyring.read(self.env)
        except keyring.KeyFileError as e:
            log.error("upstream keys not reloaded, the old ones stay: %s", e)
            return
        self.pool.load(specs)
        self._gauges()
        log.warning("upstream keys reloaded: %s", ", ".join(
            f"{p} {len(ks)}" for p, ks in sorted(self.pool.keys.items())))
        if self._loop is not None:
            self._spawn(self._read_all())

    async def _read_all(self) -> None:
        self.last_event = 0  # a new key may have a history (disabled before a restart)
        await self._read()


def read_changes(since: int, key_ids: list[str]) -> tuple[list[Change], int]:
    """The changes recorded after event `since` for these keys (all of them, from 0: a key
    disabled before a restart stays out), and the last event's id."""
    from models import db
    from models.upstreams import UpstreamEvent as E

    try:
        last = E.select(E.id).order_by(E.id.desc()).limit(1).scalar() or 0
        if last <= since or not key_ids:
            return [], last
        kinds = ("rate_limited", *DISABLING, ENABLED)
        rows = (E.select().where(E.id > since, E.id <= last, E.key_id.in_(key_ids),
                                 E.kind.in_(kinds)).order_by(E.id))
        changes = [Change(r.provider, r.key_id, r.kind,
                          r.until.replace(tzinfo=UTC).timestamp() if r.until else 0.0, r.status,
                          model=r.model) for r in rows]
        return changes, last
    finally:
        if not db.is_closed():
            db.close()


def mail_operators(mailer, key: Key, change: Change) -> None:
    """Each operator mailed once a day per key taken out (by whichever process saw it)."""
    from peewee import IntegrityError

    from models import Notice, User, db
    from models.base import write_transaction

    why = {"revoked": "refused by the provider (401/403: revoked or without access)",
           "no_credit": "out of credit at the provider"}[change.kind]
    period = f"{key.id}:{datetime.now(UTC):%Y-%m-%d}"
    try:
        for user in User.select().where(User.role == "admin"):
            try:
                with write_transaction():
                    Notice.create(user=user, kind="upstream_key_disabled", period=period)
            except IntegrityError:
                continue
            mailer.send(user.email, f"Provider key {key.name} ({key.spec.provider}) taken out",
                        f"The {key.spec.provider} key {key.name} (ending …"
                        f"{key.spec.fingerprint}) was {why} and is taken out of service; "
                        "calls go to the provider's other keys. Replace or top up the key, "
                        "then put it back on the Upstreams page or with `python -m admin "
                        f"upstreams --enable {key.name}`.")
    finally:
        if not db.is_closed():
            db.close()
