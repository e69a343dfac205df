"""python -m bench.patches [--rounds N] [--duration S] [--streams N]: does each of the patches
made for speed or memory (addons/runtime/patches.py) still pay?

Runs the bare runtime (bench/bare.py) with every patch and without one, A/B: the quick
body-size check by the proxy's CPU per request at concurrency 16 (wrk), the slim layer queues by
memory per open stream (slow streams). The other patches are there for correctness, and tests
hold them.
"""

from __future__ import annotations

import argparse
import statistics

from .__main__ import Bench, Target, free_port

PAID_BY = {"quick body-size check": "cpu", "slim layer queues": "memory"}


def measure(bench: Bench, upstream: str, without: str | None, what: str, args) -> float:
    port = free_port()
    argv = ["-O", "-m", "bench.bare", "--port", str(port), "--upstream", upstream]
    if without:
        argv += ["--without", without]
    t = Target("bare" + ("-" + without.replace(" ", "-") if without else ""), port,
               "/v1/chat/completions", {})
    t.start_fn = lambda: bench.spawn(*argv, log="patches")
    t.restart()
    try:
        if what == "cpu":
            bench.wrk(t, 16, max(1, args.duration // 2))  # warm
            return bench.wrk(t, 16, args.duration)["cpu_us_per_request"]
        return bench.slow_streams(t, args.streams, 8)["kib_per_stream"]
    finally:
        t.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.patches")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--streams", type=int, default=1000)
    args = parser.parse_args()
    bench = Bench(args)
    try:
        direct = bench.setup()[0]
        upstream = f"http://127.0.0.1:{direct.port}"
        for name, what in PAID_BY.items():
            runs: dict[str, list[float]] = {"with": [], "without": []}
            for r in range(args.rounds):
                order = ["with", "without"] if r % 2 == 0 else ["without", "with"]
                for variant in order:
                    runs[variant].append(measure(bench, upstream,
                                                 name if variant == "without" else None,
                                                 what, args))
            w, wo = (statistics.median(runs[v]) for v in ("with", "without"))
            unit = "CPU us per request" if what == "cpu" else "KiB per open stream"
            print(f"{name}: {w:.1f} with, {wo:.1f} without ({unit}; medians of "
                  f"{args.rounds}: {runs})", flush=True)
    finally:
        bench.teardown()


if __name__ == "__main__":
    main()
