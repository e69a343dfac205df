"""Changes to keys, customers and plans, told to every gateway process at once: published on
one Redis channel by whoever made them (the admin UI, the CLI), and each gateway process drops
what its key cache holds when a message comes. Without Redis, the process that serves the admin
UI is told directly and others see a change when their cache entries expire (KEY_CACHE_TTL)."""

from __future__ import annotations

import asyncio
import logging

import redis
import redis.asyncio as aioredis

log = logging.getLogger(__name__)

PREFIX = "llm-gateway:"  # every key the gateway keeps in Redis
CHANNEL = PREFIX + "changes"


def held_credit(url: str | None, user_id: int, month: str) -> int:
    """Credit (nano-dollars) the calls in flight hold this month (YYYY-MM), as the shared limits
    keep it; 0 without Redis (then only the gateway process knows) or when it does not
    answer."""
    if not url:
        return 0
    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        held = client.hget(f"{PREFIX}q:{month}:{user_id}", "cheld")
        client.close()
        return max(0, int(held or 0))
    except redis.RedisError as e:
        log.warning("could not read the credit held in Redis: %s", e)
        return 0


def publish(url: str | None) -> None:
    """Tell every gateway (a blocking call, from the admin side)."""
    if not url:
        return
    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        client.publish(CHANNEL, b"changed")
        client.close()
    except redis.RedisError as e:  # the caches' TTL still bounds how long a change waits
        log.warning("could not announce a change to the gateways: %s", e)


class Subscriber:
    """Listens on the channel from the gateway's event loop and calls `on_change` for each
    message, and once more after every (re)subscription, for what was missed meanwhile.

    A subscription can die silently (a network partition, a Redis frozen or failed over: no
    packet says so), so a quiet channel is checked: a PING after `ping_every` seconds of
    silence, and a new connection if that goes unanswered as long."""

    def __init__(self, url: str, on_change, ping_every: float = 5.0, channel: str = CHANNEL,
                 on_message=None) -> None:
        """`on_message(data)`, if given, for each message instead of `on_change()` (which
        still follows each (re)subscription)."""
        self.url, self.on_change, self.ping_every = url, on_change, ping_every
        self.channel, self.on_message = channel, on_message
        self.task: asyncio.Task | None = None
        self.subscribed = asyncio.Event()
        self.interruptions = 0

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._listen_forever())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _listen_forever(self) -> None:
        while True:
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2)
            try:
                async with client.pubsub() as pubsub:
                    await self._listen(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.subscribed.clear()
                self.interruptions += 1
                log.warning("change notices from Redis interrupted (%s); retrying", e)
                await asyncio.sleep(1)
            finally:
                await client.aclose()

    async def _listen(self, pubsub) -> None:
        await pubsub.subscribe(self.channel)
        confirmed = await pubsub.get_message(timeout=self.ping_every)
        if confirmed is None or confirmed["type"] != "subscribe":
            raise redis.ConnectionError("Redis did not confirm the subscription")
        self.on_change()  # subscribed: anything changed before now is dropped
        self.subscribed.set()
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=self.ping_every)
            if message is None:
                if pinged:
                    raise redis.ConnectionError(
                        f"no answer to PING within {self.ping_every}s")
                await pubsub.ping()
                pinged = True
                continue
            pinged = False
            if message["type"] == "message":
                if self.on_message is not None:
                    self.on_message(message["data"])
                else:
                    self.on_change()
