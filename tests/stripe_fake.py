"""localstripe, the fake Stripe server the billing tests talk to, on loopback only:
`python -m tests.stripe_fake PORT`. Its own entry point listens on every interface and keeps
its state in a shared file under /tmp; this one binds 127.0.0.1 and starts from scratch every
time, keeping nothing on disk."""

import sys

from aiohttp import web
from localstripe.resources import store
from localstripe.server import app

store.dump_to_disk = lambda: None  # from scratch, nothing shared with another run

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
