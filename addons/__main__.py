"""python -m addons [--port N] [--host H] [--web]: run the gateway in the foreground."""

import argparse
import dataclasses
import logging
import sys

import config

from . import patches
from .gateway import serve
from .lean import run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m addons", description=__doc__)
    parser.add_argument("--port", type=int, help="listen port (default GATEWAY_PORT or 8080)")
    parser.add_argument("--host", help="listen address (default GATEWAY_HOST or 127.0.0.1)")
    parser.add_argument("--web", action="store_true", help="run under mitmweb to watch traffic")
    args = parser.parse_args()
    try:
        patches.install()
    except patches.UntestedMitmproxy as e:
        sys.exit(f"llm-gateway: {e}")
    if not sys.flags.optimize:
        logging.getLogger("gateway").warning(
            "running without python -O (start.sh uses it): mitmproxy type-checks every message, "
            "about a sixth of the proxy's time per request")
    cfg = config.get()
    cfg = dataclasses.replace(cfg, port=args.port or cfg.port, host=args.host or cfg.host)
    run(serve(cfg, with_web=args.web))


if __name__ == "__main__":
    main()
