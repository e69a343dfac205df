"""Serves the admin Flask app on the gateway's own port, for every path the router left alone.

mitmproxy's WSGIApp runs the app on a worker thread, so admin work never blocks the event loop
that carries streams. Matching on "no API call here" rather than host or path keeps a routed
API call from ever being captured by the app.
"""

from mitmproxy import http
from mitmproxy.addons.asgiapp import WSGIApp, serve

from .call import CALL


class AdminApp(WSGIApp):
    def __init__(self, flask_app) -> None:
        super().__init__(flask_app, host="admin", port=None)

    def should_serve(self, flow: http.HTTPFlow) -> bool:
        return bool(flow.live and not flow.error and not flow.response
                    and CALL not in flow.metadata)

    def request(self, flow: http.HTTPFlow):
        # Not `async def` like the base class: an API call pays nothing for the admin app.
        if self.should_serve(flow):
            return serve(self.asgi_app, flow)
        return None
