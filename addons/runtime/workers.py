"""`--workers N`: N gateway processes on one port, each a whole gateway with its own event loop,
usage writer and admin app, sharing the port with SO_REUSEPORT (the kernel spreads the
connections). This parent only supervises: it starts them, forwards SIGTERM and SIGINT (each
worker drains as one gateway does) and SIGHUP (each reads the provider keys again), and starts
again a worker that died. Nothing in one
worker's memory is needed by another: limits and change notices go through Redis, which is why
several workers need REDIS_URL."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time

log = logging.getLogger("gateway")

RESTART_AFTER = 1.0  # seconds before a worker that died is started again


def command(port: int, host: str, index: int) -> list[str]:
    optimize = ["-O"] if sys.flags.optimize else []
    return [sys.executable, *optimize, "-m", "addons", "--port", str(port), "--host", host,
            "--worker", str(index)]


def supervise(n: int, port: int, host: str) -> int:
    """Run `n` workers until a signal stops them; the exit status of the last to stop."""
    workers: list[subprocess.Popen] = [subprocess.Popen(command(port, host, i))
                                       for i in range(n)]
    stopping: list[int] = []

    def forward(sig, _frame) -> None:
        stopping.append(sig)
        for w in workers:
            if w.poll() is None:
                w.send_signal(sig)

    def reload(sig, _frame) -> None:
        for w in workers:
            if w.poll() is None:
                w.send_signal(sig)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, reload)
    log.warning("llm-gateway: %d workers on http://%s:%d", n, host, port)
    status = 0
    while True:
        alive = False
        for i, w in enumerate(workers):
            code = w.poll()
            if code is None:
                alive = True
            elif not stopping:
                log.error("worker %d exited with %s; starting it again", w.pid, code)
                time.sleep(RESTART_AFTER)
                workers[i] = subprocess.Popen(command(port, host, i))
                alive = True
            else:
                status = status or code
        if not alive:
            return status
        time.sleep(0.1)
