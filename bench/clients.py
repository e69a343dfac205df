"""asyncio stream clients: time to first byte and the delay each event picked up on the way.

Each event carries the upstream's send time ("ts"); on one machine, arrival minus ts is the
delay the hops in between added.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field


@dataclass
class StreamResult:
    ok: bool = False
    ttfb: float | None = None
    delays: list[float] = field(default_factory=list)  # (arrival, delay) pairs, seconds
    arrivals: list[float] = field(default_factory=list)
    error: str = ""


def request_bytes(path: str, headers: dict[str, str], body: dict) -> bytes:
    data = json.dumps(body).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{head}"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data


async def one_stream(port: int, payload: bytes, timeout: float) -> StreamResult:
    """One streamed request; decodes the chunked body and times every SSE event."""
    res = StreamResult()
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        sent = time.time()
        writer.write(payload)
        await writer.drain()
        deadline = time.monotonic() + timeout

        async def line() -> bytes:
            return await asyncio.wait_for(reader.readline(),
                                          max(0.1, deadline - time.monotonic()))

        status = await line()
        res.ttfb = time.time() - sent
        if b" 200 " not in status:
            res.error = status.decode(errors="replace").strip()
            return res
        while (await line()) not in (b"\r\n", b""):  # headers
            pass
        body = b""
        while True:
            size = int((await line()).split(b";")[0], 16)
            if size == 0:
                break
            data = await asyncio.wait_for(reader.readexactly(size + 2),
                                          max(0.1, deadline - time.monotonic()))
            now = time.time()
            body += data[:-2]
            *events, body = body.split(b"\n\n")
            for ev in events:
                if ev.startswith(b"data: {"):
                    res.delays.append(now - json.loads(ev[6:])["ts"])
                    res.arrivals.append(now)
                elif ev == b"data: [DONE]":
                    res.ok = True
        if not res.ok:
            res.error = "ended without [DONE]"
        return res
    except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError) as e:
        res.error = type(e).__name__
        return res
    finally:
        if writer is not None:
            writer.close()


async def many_streams(port: int, payload: bytes, n: int, ramp_per_s: float,
                       timeout: float) -> list[StreamResult]:
    """n concurrent streams, opened at ramp_per_s."""
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(one_stream(port, payload, timeout)))
        if ramp_per_s and i % 50 == 49:
            await asyncio.sleep(50 / ramp_per_s)
    return await asyncio.gather(*tasks)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]
