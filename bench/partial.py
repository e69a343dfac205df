"""python -O -m bench.partial --port N --only Router,Auth,...: the gateway with only the named
members of its chain (and its lifecycle), for the benchmark's ablation: what each part costs."""

from __future__ import annotations

import argparse
import dataclasses

import config
from addons.runtime import patches
from addons.runtime.chain import Chain
from addons.runtime.gateway import Lifecycle, build_chain, run_chain
from addons.runtime.lean import run
from models import bind
from models.seed import create_tables


async def main(cfg: config.Config, only: frozenset[str]) -> None:
    bind(cfg.database_url)
    create_tables()
    chain, services = build_chain(cfg)
    kept = [m for m in chain.members if type(m).__name__ in only or isinstance(m, Lifecycle)]
    await run_chain(cfg, Chain(*kept), services)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.partial")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--only", required=True, help="chain member class names, comma separated")
    args = parser.parse_args()
    patches.install()
    run(main(dataclasses.replace(config.get(), port=args.port), frozenset(args.only.split(","))))
