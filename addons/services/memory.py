"""Memory the gateway gives back after a large request body: large buffers taken from the
heap while calls come, and the freed pages given back to the system soon after.

glibc maps a large buffer apart from the heap and raises the size it does that from each time
a mapped one is freed (up to 32 MiB); buffers then come from the heap and stay in the process
once freed: one 29 MiB body kept about 60 MiB for good, eight gzip bodies of 30 MiB each about
400 MiB. Mapping every buffer over 256 KiB apart gave that back, but then every socket read
and every copy of a body touched freshly mapped memory, which a virtual machine may back
lazily: one 30 MB body's copy took 0.3 s. So buffers up to MMAP_THRESHOLD come from the heap,
reused while warm, and a second after a large body one collection (mitmproxy's objects refer
to each other, so a flow is freed by the collector) and `malloc_trim` give the pages back.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP_THRESHOLD = 64 * 1024 * 1024  # buffers at least this large are mapped apart
# Free memory at the heap's top kept for the next calls (fixing the mmap threshold fixes this
# one at 128 KiB, which shrank and regrew the heap on every call): given back by the trim.
TRIM_THRESHOLD = 64 * 1024 * 1024
COLLECT_AFTER = 1.0  # seconds

_pending: list[asyncio.TimerHandle] = []
_libc = None  # glibc, once fix_mmap_threshold found it


def fix_mmap_threshold() -> None:
    """Once, at start: a fixed mmap threshold, and `malloc_trim` found (glibc only;
    elsewhere nothing to do)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        if not (libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
            log.debug("mallopt refused a threshold")
        global _libc
        _libc = libc
    except (OSError, AttributeError, TypeError):
        pass  # not glibc


def _trim() -> None:
    if _libc is not None:
        _libc.malloc_trim(0)  # freed pages back to the system, in every arena


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
        _trim()

    _pending.append(loop.call_later(COLLECT_AFTER, collect))
