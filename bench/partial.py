"""python -O -m bench.partial --port N --only Router,Auth,...: the gateway with only the named
members of its chain (and its lifecycle), for the benchmark's ablation: what each part costs."""

from __future__ import annotations

import argparse
import dataclasses

import config
from addons import patches
from addons.gateway import serve
from addons.lean import run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.partial")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--only", required=True, help="chain member class names, comma separated")
    args = parser.parse_args()
    cfg = dataclasses.replace(config.get(), port=args.port)
    patches.install()
    run(serve(cfg, only=frozenset(args.only.split(","))))
