"""Memory the gateway gives back after a large request body: large buffers mapped apart from
the heap, so freeing one returns it to the system, and a collection soon after such a call.

glibc raises its mmap threshold each time a mapped buffer is freed, up to 32 MiB, after which
buffers of a large body come from the heap and stay in the process once freed: one 29 MiB body
kept about 60 MiB for good, eight gzip bodies of 30 MiB each about 400 MiB. Fixing the
threshold keeps large buffers mapped. The flow of a call is freed by the collector (mitmproxy's
objects refer to each other), which the gateway's few allocations between calls seldom run:
after a large body, one collection a second later lets it go at once.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD = 256 * 1024  # buffers at least this large are mapped apart
COLLECT_AFTER = 1.0  # seconds

_pending: list[asyncio.TimerHandle] = []


def map_large_buffers() -> None:
    """Once, at start: a fixed mmap threshold (glibc only; elsewhere nothing to do)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        if not libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD):
            log.debug("mallopt refused the mmap threshold")
    except (OSError, AttributeError, TypeError):
        pass  # not glibc


def collect_soon() -> None:
    """A collection COLLECT_AFTER seconds from now, one however many large bodies ask."""
    if _pending:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return

    def collect() -> None:
        _pending.clear()
        gc.collect()

    _pending.append(loop.call_later(COLLECT_AFTER, collect))
