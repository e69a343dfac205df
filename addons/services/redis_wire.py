"""One pipelined Redis connection for the hot path (admissions): commands are written as they
come, replies matched to them in order, packed and parsed by hiredis.

redis-py's asyncio client is used for everything else; on the admission path it spent about
130 µs of CPU per command (connection pool, locks, per-command parsing, measured on this
machine), several times the whole budget for shared limits. Here a command is one future, and
the commands of one loop iteration go out in one write.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections import deque
from collections.abc import Awaitable

import hiredis
import redis
from redis.connection import parse_url


class NotSent(redis.ConnectionError):
    """No connection to Redis: the command was not sent."""


class _Protocol(asyncio.Protocol):
    def __init__(self, timeout: float) -> None:
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future] = deque()
        self.sent_at: deque[float] = deque()  # when each waiting command was sent
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()
        self.lost = self.loop.create_future()
        self.outgoing: list[bytes] = []  # commands of this loop iteration, written together
        self.timeout = timeout
        self.deadline: asyncio.TimerHandle | None = None  # armed while commands wait

    def send(self, packed: bytes) -> asyncio.Future:
        fut = self.loop.create_future()
        now = self.loop.time()
        self.waiting.append(fut)
        self.sent_at.append(now)
        if not self.outgoing:
            self.loop.call_soon(self.flush)
        self.outgoing.append(packed)
        if self.deadline is None:
            self.deadline = self.loop.call_at(now + self.timeout, self.check_deadline)
        return fut

    def check_deadline(self) -> None:
        """Every command waits at most `timeout`: replies come in order, so the oldest one
        waiting tells. After a lost reply the connection cannot be trusted: it is dropped.
        A timer armed only while commands wait: an idle or a busy client is not polled."""
        self.deadline = None
        if not self.sent_at or self.lost.done():
            return
        oldest = self.sent_at[0]
        if self.loop.time() - oldest >= self.timeout:
            self.fail(redis.TimeoutError(f"Redis did not answer within {self.timeout}s"))
            self.transport.abort()
        else:
            self.deadline = self.loop.call_at(oldest + self.timeout, self.check_deadline)

    def flush(self) -> None:
        data, self.outgoing = b"".join(self.outgoing), []
        if data and not self.lost.done():
            self.transport.write(data)

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            fut = self.waiting.popleft()
            self.sent_at.popleft()
            if not fut.done():
                if isinstance(reply, hiredis.ReplyError):
                    fut.set_exception(redis.ResponseError(str(reply)))
                else:
                    fut.set_result(reply)

    def connection_lost(self, exc) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
        self.fail(redis.ConnectionError(f"connection to Redis lost: {exc or 'closed'}"))
        if not self.lost.done():
            self.lost.set_result(None)

    def fail(self, error: Exception) -> None:
        self.sent_at.clear()
        while self.waiting:
            fut = self.waiting.popleft()
            if not fut.done():
                fut.set_exception(error)


class PipelinedRedis:
    def __init__(self, url: str, timeout: float) -> None:
        self.params = parse_url(url)
        self.timeout = timeout
        self._proto: _Protocol | None = None
        self._connecting: asyncio.Future | None = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        protocol = functools.partial(_Protocol, self.timeout)
        try:
            if "path" in self.params:  # unix:///path/redis.sock: Redis on this host
                connecting = loop.create_unix_connection(protocol, self.params["path"])
            else:
                connecting = loop.create_connection(
                    protocol, self.params.get("host", "127.0.0.1"), self.params.get("port", 6379))
            _, proto = await asyncio.wait_for(connecting, self.timeout)
        except (TimeoutError, OSError) as e:
            raise NotSent(f"cannot connect to Redis: {e}") from None
        # AUTH and SELECT answered before any other command may use the connection: a command
        # written in between would run unauthenticated, or in database 0.
        hello = []
        if self.params.get("password"):
            user = self.params.get("username")
            hello.append(("AUTH", *([user] if user else []), self.params["password"]))
        if self.params.get("db"):
            hello.append(("SELECT", self.params["db"]))
        try:
            for command in hello:
                await proto.send(hiredis.pack_command(command))
        except redis.ResponseError as e:  # a wrong password, a database out of range
            proto.transport.close()
            raise NotSent(f"Redis refused the connection ({command[0]}): {e}") from None
        except redis.RedisError as e:
            proto.transport.abort()
            raise NotSent(f"cannot connect to Redis: {e}") from None
        self._proto = proto
        return proto

    async def _connected(self) -> _Protocol:
        proto = self._proto
        if proto is not None and not proto.lost.done():
            return proto
        if self._connecting is None:
            self._proto = None
            self._connecting = asyncio.ensure_future(self._connect())
            self._connecting.add_done_callback(lambda _: setattr(self, "_connecting", None))
        return await asyncio.shield(self._connecting)

    def call(self, *args) -> Awaitable:
        """The reply, awaitable: a future when connected (one coroutine fewer per command)."""
        proto = self._proto
        if proto is not None and not proto.lost.done():
            return proto.send(hiredis.pack_command(args))
        return self._call_connecting(args)

    async def _call_connecting(self, args):
        proto = await self._connected()
        return await proto.send(hiredis.pack_command(args))


class Script:
    """A Lua script run by its SHA1, loaded on first NOSCRIPT (a new or flushed server)."""

    def __init__(self, client: PipelinedRedis, source: str) -> None:
        self.client, self.source = client, source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, *args):
        try:
            return await self.client.call("EVALSHA", self.sha, 0, *args)
        except redis.ResponseError as e:
            if not str(e).startswith("NOSCRIPT"):
                raise
        return await self.client.call("EVAL", self.source, 0, *args)
