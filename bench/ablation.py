"""python -m bench.ablation [--rounds N] [--duration S] [--into DIR]: what each part of the
gateway costs, on its own (the full benchmark runs it too).

Builds the gateway up member by member (`ABLATION` in bench/__main__.py) and runs each step
A/B against the bare proxy at concurrency 16. With --into, the steps replace the ablation in
DIR/results.json (an earlier full run) and its results.md is written again.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .__main__ import RESULTS, Bench
from .report import markdown

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.ablation")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--into", type=Path, help=f"a results directory, e.g. {RESULTS}")
    args = parser.parse_args()
    bench = Bench(args)
    try:
        steps = bench.ablation(bench.setup()[2], args.rounds, args.duration)
    finally:
        bench.teardown()
    if args.into:
        results = json.loads((args.into / "results.json").read_text())
        results["ablation"] = steps
        (args.into / "results.json").write_text(json.dumps(results, indent=1, default=str))
        (args.into / "results.md").write_text(markdown(results))
    for st in steps:
        print(f"{st['step']}: {st['rps']:,.0f} / {st['bare_rps']:,.0f} req/s = {st['ratio']}, "
              f"+{st['added_us']:.0f} us per request")
