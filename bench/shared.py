"""python -m bench.shared [--rounds N] [--duration S] [--pairs N]: what scale-out costs and gives.

Starts a fast fake upstream and a private redis-server, then measures with wrk at concurrency 16
and prints the medians (the README shows them):
  - scaling: one gateway process against `--workers 2` on one port (both with Redis limits),
    flat out, in alternated rounds: requests per second, and requests per gateway CPU-second
    (the load generator and the fake upstream share the cores, so req/s alone cannot show
    whether anything serialises the workers);
  - the shared limits' cost: one process with in-memory limits against one with Redis limits
    (REDIS_URL), in CPU per request. Both gateways share core 0 while wrk, the upstream and
    Redis share the others (as other machines would), and both are loaded at the same time,
    one wrk each, `--pairs` times for 5 s (or `--duration` if shorter): the machine's own load
    drifts by more than the difference measured, and this way it weighs on both alike. Paced
    (each connection pauses between requests, about 400 req/s each: each request mostly meets
    an idle loop) and flat out (the replies of several admissions come in one read). Printed:
    the median of the pairs' differences, and the middle half of them to show the spread.
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

from .__main__ import (
    Bench,
    Target,
    cpu_seconds,
    free_port,
    provision,
    wait_port,
    wrk_counts,
    wrk_script,
)


@contextmanager
def private_redis(socket: bool = False):
    """A redis-server of the benchmark's own on a free loopback port: yields its URL (that of
    its unix socket with `socket`)."""
    folder, port = tempfile.mkdtemp(prefix="llm-gateway-bench-redis-"), free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port),
                             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", folder, "--unixsocket", f"{folder}/redis.sock"],
                            stdout=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield f"unix://{folder}/redis.sock" if socket else f"redis://127.0.0.1:{port}/0"
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
    return wrk_together([t], tmp, conc, duration, pause_ms)[t.name]


def wrk_together(targets: list[Target], tmp: Path, conc: int, duration: int,
                 pause_ms: float = 0) -> dict[str, dict]:
    """One wrk per target, all at once: each target's figures over the same seconds."""
    started = []
    for t in targets:
        script = wrk_script(tmp, t, pause_ms)
        started.append((t, tree_cpu(t.proc.pid), subprocess.Popen(
            ["wrk", "-t1", f"-c{conc}", f"-d{duration}s", "-s", str(script), t.url],
            stdout=subprocess.PIPE, text=True)))
    found = {}
    for t, cpu0, proc in started:
        out = proc.communicate()[0]
        cpu = tree_cpu(t.proc.pid) - cpu0
        if proc.returncode:
            raise RuntimeError(f"wrk failed against {t.name}: {out}")
        rps, non2xx = wrk_counts(out)
        found[t.name] = {"rps": rps, "cpu_us_per_request": cpu * 1e6 / (rps * duration),
                         "requests_per_cpu_s": rps * duration / cpu if cpu else 0.0,
                         "non2xx": non2xx}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.shared")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=12, help="pairs for the cost, each "
                        f"{PAIR_SECONDS} s a side")
    parser.add_argument("--socket", action="store_true",
                        help="the gateways reach Redis over its unix socket (one host)")
    args = parser.parse_args()
    bench = Bench(args)
    with private_redis(args.socket) as redis_url:
        try:
            run(bench, args, redis_url)
        finally:
            bench.teardown()


def upstream_and_customer(bench: Bench) -> tuple[dict, str]:
    """The fake upstream started, and a gateway's environment and customer key for it."""
    up_port = free_port()
    bench.spawn("-m", "bench.upstream", "--port", str(up_port), log="upstream")
    wait_port(up_port)
    env = {**os.environ, "DATA_DIR": str(bench.tmp / "data"), "OPENAI_API_KEY": "sk-bench",
           "UPSTREAM_OPENAI_URL": f"http://127.0.0.1:{up_port}", "ACCESS_LOG": "off",
           "ADMIN_PASSWORD": "bench-admin-password"}
    return env, provision(env)


def run(bench: Bench, args, redis_url: str) -> None:
    env, key = upstream_and_customer(bench)
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
        m, r, d = cost[pace]["memory"], cost[pace]["redis"], cost[pace]["difference"]
        print(f"shared limits, {pace}: {d['median']:+.0f} us CPU per request, the median of "
              f"{args.pairs} pairs (middle half {d['q1']:+.0f} to {d['q3']:+.0f}); medians "
              f"{m['cpu_us_per_request']:.0f} in memory at {m['rps']:,.0f} req/s, "
              f"{r['cpu_us_per_request']:.0f} with Redis at {r['rps']:,.0f} req/s")


PACE_MS = 30  # each connection's pause between requests: about 400 req/s at concurrency 16
PAIR_SECONDS = 5


def rounds(bench: Bench, args, targets: dict, pause_ms: float = 0) -> dict:
    """Alternated rounds; the median of each figure per target."""
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    for r in range(args.rounds):
        order = list(targets) if r % 2 == 0 else list(reversed(targets))
        for name in order:
            runs[name].append(wrk(targets[name], bench.tmp, 16, args.duration, pause_ms))
            print(f"round {r} {name}{' paced' if pause_ms else ''}: {runs[name][-1]}",
                  flush=True)
    return summary(runs)


def summary(runs: dict[str, list[dict]]) -> dict:
    """Per target: the median of each figure, and every answer that was not a success."""
    return {name: {**{f: statistics.median(w[f] for w in ws)
                      for f in ("rps", "cpu_us_per_request", "requests_per_cpu_s")},
                   "non2xx": sum(w["non2xx"] for w in ws)}
            for name, ws in runs.items()}


def side_by_side(bench: Bench, args, targets: dict, pause_ms: float) -> dict:
    """Both targets loaded at once, `args.pairs` times: the machine's own load, which drifts
    by more than the difference measured, weighs on both alike. The median of each figure per
    target, and the median and quartiles of the difference in CPU per request, pair by pair."""
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    for r in range(args.pairs):
        found = wrk_together(list(targets.values()), bench.tmp, 16,
                             min(PAIR_SECONDS, args.duration), pause_ms)
        for name, figures in found.items():
            runs[name].append(figures)
        print(f"pair {r}{' paced' if pause_ms else ''}: {found}", flush=True)
    result = summary(runs)
    a, b = targets
    diffs = [y["cpu_us_per_request"] - x["cpu_us_per_request"] for x, y in zip(runs[a], runs[b])]
    q1, median, q3 = statistics.quantiles(diffs, n=4)
    result["difference"] = {"median": median, "q1": q1, "q3": q3, "pairs": diffs}
    return result


def pinned_rounds(bench: Bench, args, targets: dict) -> dict:
    """The gateways on core 0, everything else (this process, so wrk; the upstream; Redis)
    on the other cores."""
    others = set(range(1, os.cpu_count() or 1)) or {0}
    os.sched_setaffinity(0, others)
    for pid in children(os.getpid()):
        os.sched_setaffinity(pid, others)
    for t in targets.values():
        os.sched_setaffinity(t.proc.pid, {0})
    return {pace: side_by_side(bench, args, targets, pause)
            for pace, pause in (("paced", PACE_MS), ("flat out", 0))}


if __name__ == "__main__":
    main()
