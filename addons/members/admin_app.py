"""Serves the admin Flask app on the gateway's own port, for every path the router left alone.

mitmproxy's WSGIApp runs a WSGI app through asgiref, on one shared thread: a burst of sign-ins
(each an argon2 hash, ~0.1 s of a core and 64 MiB) held every other page behind it. Here the
app runs on threads of its own, never on the event loop that carries streams, in two lanes:
the posts that hash a password queue among themselves on a few threads, every other page has a
pool of its own. Matching on "no API call here" rather than host or path keeps a routed API
call from ever being captured by the app.
"""

import os
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync
from asgiref.wsgi import WsgiToAsgi, WsgiToAsgiInstance
from mitmproxy import http
from mitmproxy.addons.asgiapp import WSGIApp, serve

from addons.call import CALL

HASHING_POSTS = frozenset({"/login", "/signup", "/verify"})
_run = WsgiToAsgiInstance.__dict__["run_wsgi_app"].func  # asgiref's, undecorated
_pages = SyncToAsync(_run, thread_sensitive=False,
                     executor=ThreadPoolExecutor(16, thread_name_prefix="admin"))
_hashing = SyncToAsync(_run, thread_sensitive=False,
                       executor=ThreadPoolExecutor(os.cpu_count() or 1,
                                                   thread_name_prefix="admin-sign-in"))


class _PooledInstance(WsgiToAsgiInstance):
    async def run_wsgi_app(self, body):
        hashing = self.scope["method"] == "POST" and self.scope["path"] in HASHING_POSTS
        return await (_hashing if hashing else _pages)(self, body)


class PooledWsgiToAsgi(WsgiToAsgi):
    async def __call__(self, scope, receive, send):
        await _PooledInstance(self.wsgi_application)(scope, receive, send)


class AdminApp(WSGIApp):
    PHASE = "serve"

    def __init__(self, flask_app) -> None:
        super().__init__(flask_app, host="admin", port=None)
        self.asgi_app = PooledWsgiToAsgi(flask_app)

    def should_serve(self, flow: http.HTTPFlow) -> bool:
        return bool(flow.live and not flow.error and not flow.response
                    and CALL not in flow.metadata)

    def request(self, flow: http.HTTPFlow):
        # Not `async def` like the base class: an API call pays nothing for the admin app.
        if self.should_serve(flow):
            return serve(self.asgi_app, flow)
        return None
