"""Access log: one JSON line per API request, refused or proxied, on stdout (or a file).

Fields: time, request id, customer, key prefix (never the key), provider, endpoint, model,
status, tokens, latency. Settled usage comes from metering, on the call.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time

from mitmproxy import http

from addons.call import CALL, Call

BATCH_WINDOW = 0.1
# Built once: json.dumps with `separators` builds a new encoder on every call.
_encode = json.JSONEncoder(separators=(",", ":")).encode


class LineWriter:
    """Writes lines from a queue on a thread, flushing once per batch: the loop only enqueues."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self.thread.start()

    def write(self, line: str) -> None:
        self.queue.put(line)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(10)

    def _run(self) -> None:
        while True:
            lines = [self.queue.get()]
            time.sleep(BATCH_WINDOW)  # let a batch gather: one write, not a wake-up per line
            while True:
                try:
                    lines.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            done = None in lines
            text = "".join(f"{line}\n" for line in lines if line is not None)
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):
                pass  # a closed stdout must not stop the gateway
            if done:
                return


def make_writer(target: str) -> LineWriter | None:
    """`stdout` (default), `off`, or a file path."""
    if target == "off":
        return None
    return LineWriter(sys.stdout if target == "stdout" else open(target, "a", buffering=1 << 16))


_second: list = [0, ""]  # the last second formatted, and its text


def _timestamp() -> str:
    now = int(time.time())
    if now != _second[0]:
        _second[:] = [now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))]
    return _second[1]


class AccessLog:
    PHASE = "answer"

    def __init__(self, writer: LineWriter | None) -> None:
        self.writer = writer

    def done(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def response(self, flow: http.HTTPFlow) -> None:
        self._log(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._log(flow)

    def _log(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or self.writer is None or call.logged:
            return
        call.logged = True
        settled = call.usage
        usage = settled.usage if settled is not None else None
        entry = {
            "ts": _timestamp(),
            "request_id": call.request_id,
            "customer": call.customer.email if call.customer else None,
            "key": call.customer.key_prefix if call.customer else None,
            "provider": call.provider.name,
            "endpoint": call.endpoint.name if call.endpoint else "models",
            "model": call.model,
            "method": flow.request.method,
            "status": flow.response.status_code if flow.response else 0,
            "streamed": call.streamed,
            "input_tokens": usage.input_tokens if usage else None,
            "output_tokens": usage.output_tokens if usage else None,
            "total_tokens": usage.total_tokens if usage else None,
            "complete": settled.complete if settled else None,
            "latency_ms": round((time.monotonic() - call.started) * 1000),
            "error": flow.error.msg if flow.error else None,
        }
        self.writer.write(_encode(entry))
