"""python -m addons [--port N] [--host H] [--web] [--workers N]: run the gateway in the
foreground."""

import argparse
import dataclasses
import logging
import sys

import config
from addons.runtime import patches, workers
from addons.runtime.gateway import serve
from addons.runtime.lean import run
from addons.services import memory


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m addons", description=__doc__)
    parser.add_argument("--port", type=int, help="listen port (default GATEWAY_PORT or 8080)")
    parser.add_argument("--host", help="listen address (default GATEWAY_HOST or 127.0.0.1)")
    parser.add_argument("--web", action="store_true", help="run under mitmweb to watch traffic")
    parser.add_argument("--workers", type=int, default=1,
                        help="gateway processes sharing the port (default 1; more need REDIS_URL)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # its index, from workers.py
    args = parser.parse_args()
    try:
        patches.install()
    except patches.UntestedMitmproxy as e:
        sys.exit(f"llm-gateway: {e}")
    memory.fix_mmap_threshold()
    cfg = config.get()
    cfg = dataclasses.replace(cfg, port=args.port or cfg.port, host=args.host or cfg.host)
    if args.workers < 1:
        sys.exit("llm-gateway: --workers must be at least 1")
    if args.workers > 1:
        if not cfg.redis_url:
            sys.exit("llm-gateway: --workers above 1 needs REDIS_URL: each worker keeps "
                     "in-memory limits of its own, so together they would admit the plans "
                     "several times over. Set REDIS_URL (see the README) or run one worker.")
        if args.web:
            sys.exit("llm-gateway: --web watches one process; run it with one worker")
        sys.exit(workers.supervise(args.workers, cfg.port, cfg.host))
    if args.worker is not None:
        patches.Listen.reuse_port = True
    if not sys.flags.optimize:
        logging.getLogger("gateway").warning(
            "running without python -O (start.sh uses it): mitmproxy type-checks every message, "
            "about a sixth of the proxy's time per request")
    run(serve(cfg, with_web=args.web, worker=args.worker or 0))


if __name__ == "__main__":
    main()
