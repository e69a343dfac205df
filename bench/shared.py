"""python -m bench.shared [--rounds N] [--duration S]: what scale-out costs and what it gives.

Starts a fast fake upstream and a private redis-server, then measures, A/B in alternated rounds
with wrk at concurrency 16, and prints the medians (the README shows them):
  - scaling: one gateway process against `--workers 2` on one port (both with Redis limits),
    flat out: requests per second, and requests per gateway CPU-second (the load generator and
    the fake upstream share the cores, so req/s alone cannot show whether anything serialises
    the workers);
  - the shared limits' cost: one process with in-memory limits against one with Redis limits
    (REDIS_URL), in CPU per request. Each gateway has core 0 to itself while wrk, the upstream
    and Redis share the others (as other machines would), and the load is paced to the same
    rate for both (each connection pauses between requests): flat out on shared cores, Redis's
    own CPU would slow the load and the gateway would batch less, which costs it CPU per
    request that is not the shared limits' own. The flat-out figures are printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .__main__ import BODY, Bench, Target, cpu_seconds, free_port, provision, wait_port


@contextmanager
def private_redis():
    """A redis-server of the benchmark's own on a free loopback port: yields its URL."""
    folder, port = tempfile.mkdtemp(prefix="llm-gateway-bench-redis-"), free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port),
                             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", folder], stdout=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (the workers of a supervisor)."""
    return cpu_seconds(pid) + sum(cpu_seconds(c) for c in children(pid))


def wrk(t: Target, tmp: Path, conc: int, duration: int, pause_ms: float = 0) -> dict:
    """wrk against a target; with `pause_ms`, each connection waits that long between
    requests, which paces the load at about conc / pause whatever the target's latency."""
    script = tmp / f"{t.name}.lua"
    headers = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in t.headers.items())
    pause = f"function delay() return {pause_ms:.3f} end\n" if pause_ms else ""
    script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(BODY))}\n'
                      f'wrk.headers["Content-Type"] = "application/json"\n{headers}{pause}')
    cpu0 = tree_cpu(t.proc.pid)
    out = subprocess.run(["wrk", "-t1", f"-c{conc}", f"-d{duration}s", "-s", str(script),
                          t.url], capture_output=True, text=True, check=True).stdout
    cpu = tree_cpu(t.proc.pid) - cpu0
    rps = float(out.split("Requests/sec:")[1].split()[0])
    non2xx = int(out.split("Non-2xx or 3xx responses:")[1].split()[0]) \
        if "Non-2xx" in out else 0
    return {"rps": rps, "cpu_us_per_request": cpu * 1e6 / (rps * duration),
            "requests_per_cpu_s": rps * duration / cpu if cpu else 0.0, "non2xx": non2xx}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.shared")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    bench = Bench(args)
    with private_redis() as redis_url:
        try:
            run(bench, args, redis_url)
        finally:
            bench.teardown()


def run(bench: Bench, args, redis_url: str) -> None:
    up_port = free_port()
    bench.spawn("-m", "bench.upstream", "--port", str(up_port), log="upstream")
    wait_port(up_port)
    env = {**os.environ, "DATA_DIR": str(bench.tmp / "data"), "OPENAI_API_KEY": "sk-bench",
           "UPSTREAM_OPENAI_URL": f"http://127.0.0.1:{up_port}", "ACCESS_LOG": "off",
           "ADMIN_PASSWORD": "bench-admin-password"}
    key = provision(env)
    shared_env = {**env, "REDIS_URL": redis_url}
    variants = {
        "memory": (env, []),
        "redis": (shared_env, []),
        "redis, 2 workers": (shared_env, ["--workers", "2"]),
    }
    targets = {}
    for name, (e, extra) in variants.items():
        port = free_port()
        t = Target(name, port, "/v1/openai/chat/completions",
                   {"Authorization": f"Bearer {key}"})
        t.start_fn = (lambda port=port, e=e, extra=extra: bench.spawn(
            "-O", "-m", "addons", "--port", str(port), *extra, env=e, log="shared"))
        t.restart()
        wrk(t, bench.tmp, 16, 2)  # warm
        targets[name] = t
    scaling = rounds(bench, args, {n: targets[n] for n in ("redis", "redis, 2 workers")})
    targets.pop("redis, 2 workers").stop()
    cost = pinned_rounds(bench, args, {n: targets[n] for n in ("memory", "redis")})
    print(json.dumps({"scaling": scaling, "cost": cost}, indent=1))
    r1, r2 = scaling["redis"], scaling["redis, 2 workers"]
    print(f"2 workers: {r2['rps']:,.0f} vs {r1['rps']:,.0f} req/s; "
          f"{r2['requests_per_cpu_s']:,.0f} vs {r1['requests_per_cpu_s']:,.0f} requests "
          f"per gateway CPU-second ({r2['requests_per_cpu_s'] / r1['requests_per_cpu_s']:.2f})")
    for pace in ("paced", "flat out"):
        m, r = cost[pace]["memory"], cost[pace]["redis"]
        print(f"shared limits, {pace}: +{r['cpu_us_per_request'] - m['cpu_us_per_request']:.0f} "
              f"us CPU per request ({m['cpu_us_per_request']:.0f} in memory at "
              f"{m['rps']:,.0f} req/s, {r['cpu_us_per_request']:.0f} with Redis at "
              f"{r['rps']:,.0f} req/s)")


PACE_MS = 16  # each connection's pause between requests: about 640 req/s at concurrency 16


def rounds(bench: Bench, args, targets: dict, pause_ms: float = 0) -> dict:
    """Alternated rounds; the median of each figure per target."""
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    for r in range(args.rounds):
        order = list(targets) if r % 2 == 0 else list(reversed(targets))
        for name in order:
            runs[name].append(wrk(targets[name], bench.tmp, 16, args.duration, pause_ms))
            print(f"round {r} {name}{' paced' if pause_ms else ''}: {runs[name][-1]}",
                  flush=True)
    return {name: {f: statistics.median(w[f] for w in ws)
                   for f in ("rps", "cpu_us_per_request", "requests_per_cpu_s")}
            for name, ws in runs.items()}


def pinned_rounds(bench: Bench, args, targets: dict) -> dict:
    """The gateways on core 0, everything else (this process, so wrk; the upstream; Redis)
    on the other cores."""
    others = set(range(1, os.cpu_count() or 1)) or {0}
    os.sched_setaffinity(0, others)
    for pid in children(os.getpid()):
        os.sched_setaffinity(pid, others)
    for t in targets.values():
        os.sched_setaffinity(t.proc.pid, {0})
    return {"paced": rounds(bench, args, targets, PACE_MS),
            "flat out": rounds(bench, args, targets)}


if __name__ == "__main__":
    main()
