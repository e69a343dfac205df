"""localstripe, the fake Stripe server the billing tests talk to, on loopback only:
`python -m tests.stripe_fake PORT`. Its own entry point listens on every interface and keeps
its state in a shared file under /tmp; this one binds 127.0.0.1 and starts from scratch every
time, keeping nothing on disk.

One addition makes it answer as Stripe does: a subscription update takes
`proration_behavior` (Stripe's parameter since 2019; localstripe knows only the older
`prorate`, and answers 500 to the newer one)."""

import sys

from aiohttp import web
from localstripe.resources import Subscription, store
from localstripe.server import app

store.dump_to_disk = lambda: None  # from scratch, nothing shared with another run
_update = Subscription._update


def _update_with_proration_behavior(self, proration_behavior=None, **kwargs):
    if proration_behavior is not None:
        kwargs.setdefault("prorate", proration_behavior != "none")
    return _update(self, **kwargs)


Subscription._update = _update_with_proration_behavior

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
