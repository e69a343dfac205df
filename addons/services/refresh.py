"""What the operator and the billing side change, brought to the hot path without it waiting:
on a change notice the key cache is dropped and the price book (the catalog, the operator's
sell prices) and the credit balances are read again off the event loop; and every `every`
seconds too, since a change made by another process (the CLI, a webhook) sends no notice
without Redis."""

from __future__ import annotations

import asyncio
import logging

from models import db
from models.selling import credits_added

log = logging.getLogger(__name__)

EVERY = 5.0  # seconds between readings, at most


class Refresh:
    def __init__(self, keys, prices, limiter, every: float = EVERY) -> None:
        self.keys, self.prices, self.limiter, self.every = keys, prices, limiter, every
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._pending: set[asyncio.Task] = set()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._every())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def changed(self) -> None:
        """A change notice (from any thread of this process, or Redis)."""
        self.keys.clear()
        if self._loop is None:
            return
        try:
            running = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            running = False
        if running:
            self._soon()
        else:
            self._loop.call_soon_threadsafe(self._soon)

    def _soon(self) -> None:
        task = self._loop.create_task(self._read())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await self._read()

    async def _read(self) -> None:
        try:
            added = await asyncio.to_thread(_read, self.prices)
        except Exception as e:
            log.warning("prices and credit balances not read (%s); read again in %.0fs", e,
                        self.every)
            return
        self.limiter.credits(added)


def _read(prices) -> dict[int, int]:
    try:
        prices.reload()
        return credits_added()
    finally:
        if not db.is_closed():
            db.close()  # a worker thread's connection
