"""python -m bench.keys: a pool of provider keys under load, with wrk.

Starts the bench's fake upstream and two gateways, each with three OpenAI keys: one with all
three healthy, one whose first key the upstream answers 429 (resetting in 60 s, so it cools
once and rests). wrk loads them in alternated rounds (concurrency 16); the figures are the
median requests per second and gateway CPU per request of each, and the ratio.
"""

from __future__ import annotations

import argparse
import json

from bench.__main__ import Bench, Target, free_port
from bench.shared import rounds, upstream_and_customer, wrk

POOLS = {"3 healthy": "sk-bench-1,sk-bench-2,sk-bench-3",
         "1 limited, 2 healthy": "sk-bench-limited,sk-bench-2,sk-bench-3"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.keys", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    args = parser.parse_args()
    bench = Bench(args)
    try:
        env, key = upstream_and_customer(bench)
        targets = {}
        for name, keys in POOLS.items():
            port = free_port()
            t = Target(name, port, "/v1/openai/chat/completions",
                       {"Authorization": f"Bearer {key}"})
            t.start_fn = (lambda port=port, keys=keys: bench.spawn(
                "-O", "-m", "addons", "--port", str(port),
                env={**env, "OPENAI_API_KEY": keys}, log="gateway"))
            t.restart()
            wrk(t, bench.tmp, 16, 2)  # warm (the limited key meets its 429 here)
            targets[name] = t
        result = rounds(bench, args, targets)
        healthy, limited = result["3 healthy"], result["1 limited, 2 healthy"]
        print(json.dumps(result, indent=1))
        print(f"key pools: {limited['rps']:,.0f} req/s with one key limited against "
              f"{healthy['rps']:,.0f} with three healthy "
              f"({limited['rps'] / healthy['rps']:.2f}); CPU per request "
              f"{limited['cpu_us_per_request']:.0f} against {healthy['cpu_us_per_request']:.0f} "
              f"us; answers not a success: {limited['non2xx']} and {healthy['non2xx']}")
    finally:
        bench.teardown()


if __name__ == "__main__":
    main()
