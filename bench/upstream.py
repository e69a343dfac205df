"""A fast fake OpenAI upstream for the benchmark (asyncio, HTTP/1.1 keep-alive).

POST with "stream": true answers SSE chat chunks; each chunk carries "ts" (the send time, so a
client on the same machine measures the delay every hop added). Headers choose the shape:
x-bench-events (default 20) and x-bench-interval-ms (default 20). Anything else: a small chat
completion with usage. A key with "limited" in it is answered OpenAI's 429 (its limit resets in
60 s), as a rate-limited key of a pool (bench/keys.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

BODY = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1741569952,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
}).encode()
LIMITED_BODY = json.dumps({"error": {
    "message": "Rate limit reached for gpt-4o-mini on requests per min (RPM).",
    "type": "requests", "param": None, "code": "rate_limit_exceeded"}}).encode()
LIMITED = (b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n"
           b"retry-after: 60\r\nx-ratelimit-remaining-requests: 0\r\n"
           b"x-ratelimit-reset-requests: 60s\r\ncontent-length: %d\r\n\r\n"
           % len(LIMITED_BODY)) + LIMITED_BODY
JSON_RESPONSE = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
                 % len(BODY)) + BODY
SSE_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n")
USAGE = {"prompt_tokens": 9, "completion_tokens": 20, "total_tokens": 29}


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def event(i: int, usage=None) -> bytes:
    obj = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
           "ts": time.time(), "i": i,
           "choices": [] if usage else [{"index": 0, "delta": {"content": "tok "},
                                         "finish_reason": None}],
           "usage": usage}
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


async def stream(writer: asyncio.StreamWriter, events: int, interval: float,
                 include_usage: bool) -> None:
    writer.write(SSE_HEAD)
    for i in range(events):
        writer.write(chunk(event(i)))
        await writer.drain()
        if interval and i < events - 1:
            await asyncio.sleep(interval)
    if include_usage:
        writer.write(chunk(event(events, USAGE)))
    writer.write(chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
    await writer.drain()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = {}
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get(b"content-length", 0)))
            if b"limited" in headers.get(b"authorization", b""):
                writer.write(LIMITED)
                await writer.drain()
            elif b'"stream": true' in body or b'"stream":true' in body:
                await stream(writer, int(headers.get(b"x-bench-events", 20)),
                             int(headers.get(b"x-bench-interval-ms", 20)) / 1000,
                             b'"include_usage": true' in body or b'"include_usage":true' in body)
            else:
                writer.write(JSON_RESPONSE)
                await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
