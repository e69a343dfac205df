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

CHANNEL = "llm-gateway:changes"


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
    message, and once more after every (re)subscription, for what was missed meanwhile."""

    def __init__(self, url: str, on_change) -> None:
        self.url, self.on_change = url, on_change
        self.task: asyncio.Task | None = None
        self.subscribed = asyncio.Event()

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
                    await pubsub.subscribe(CHANNEL)
                    self.on_change()
                    self.subscribed.set()
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self.on_change()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.subscribed.clear()
                log.warning("change notices from Redis interrupted (%s); retrying", e)
                await asyncio.sleep(1)
            finally:
                await client.aclose()
