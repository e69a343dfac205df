"""Gateway errors in the caller's own provider shape, never mitmproxy's HTML page.

When an upstream cannot be reached, or a request body is over the limit, mitmproxy runs the
`error` hook and then answers the client with an HTML page built deep in its HTTP/1 layer; a
response set in the hook is ignored (mitmproxy PR #7999, not in 12.3.1, adds exactly this).
`install()` wraps the few `HttpStream` methods that send that protocol error to the client
(a failed or cut upstream, a body over the limit, an invalid upstream response) so that a
response our `error` hook left in `flow.metadata` goes instead. Only those: a wrapper on every
stream event cost about 12 us per request. It relies on mitmproxy internals, which is why
mitmproxy is pinned and tests cover every path.
"""

from __future__ import annotations

import functools
import logging

from mitmproxy import http
from mitmproxy.proxy.layers import http as http_layer
from mitmproxy.proxy.layers.http import _events as ev

from .call import CALL, Call

log = logging.getLogger(__name__)

ERROR_RESPONSE = "gateway.error_response"


def _replacement(stream, command) -> list | None:
    if not (isinstance(command, http_layer.SendHttp)
            and isinstance(command.event, ev.ResponseProtocolError)
            and command.connection is stream.context.client):
        return None
    response: http.Response | None = stream.flow.metadata.pop(ERROR_RESPONSE, None)
    if response is None:
        return None
    sid, client = stream.stream_id, command.connection
    return [
        http_layer.SendHttp(ev.ResponseHeaders(sid, response, end_stream=False), client),
        http_layer.SendHttp(ev.ResponseData(sid, response.raw_content), client),
        http_layer.SendHttp(ev.ResponseEndOfMessage(sid), client),
    ]


# The HttpStream methods that end a flow with ResponseProtocolError for the client and run the
# error hook first (check_killed aside: nothing of ours kills a flow, and a client gone needs
# no answer).
_SENDERS = ("handle_protocol_error", "check_body_size", "check_invalid")


def _replacing(method):
    @functools.wraps(method, updated=())  # not its marks
    def wrapper(self, *args):
        gen = iter(method(self, *args))  # iter: a quick check may answer with ()
        try:
            command = next(gen)
            while True:
                replacement = _replacement(self, command)
                if replacement is not None:
                    yield from replacement
                    command = next(gen)  # SendHttp is not blocking: nothing to send back
                else:
                    command = gen.send((yield command))
        except StopIteration as stop:
            return stop.value

    wrapper.replacing = True
    return wrapper


def install() -> None:
    for name in _SENDERS:
        method = getattr(http_layer.HttpStream, name)
        if not getattr(method, "replacing", False):
            setattr(http_layer.HttpStream, name, _replacing(method))


def classify(message: str) -> tuple[str, str]:
    """A refusal kind and a message for the client, from mitmproxy's error text."""
    low = message.lower()
    if low.startswith("response body exceeds"):
        return "bad_gateway", "The upstream response was larger than this gateway accepts."
    if "body exceeds" in low or "body_size_limit" in low:
        return "too_large", "The request body is larger than this gateway accepts."
    if "timed out" in low or "timeout" in low:
        return "timeout", "The upstream provider did not answer in time."
    return "bad_gateway", "The upstream provider could not be reached. Please retry."


class ErrorResponses:
    """Leaves a provider-shaped response for a call that failed before any response started."""

    PHASE = "answer"

    def error(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or flow.error is None:
            return
        if flow.response is not None and call.streamed:
            # The client has the stream's start: it can only be cut short. A response that is
            # not streamed goes out whole once read, so one failing on the way (over the size
            # limit, cut mid-body) has sent nothing yet.
            return
        kind, message = classify("timeout" if call.timed_out else flow.error.msg)
        log.warning("%s %s: %s", call.request_id, kind, flow.error.msg)
        response = call.provider.error_response(kind, message, request_id=call.request_id)
        response.headers["x-request-id"] = call.request_id
        if flow.request.http_version.startswith("HTTP/1"):
            # The client may have more body on the wire; start afresh on a new connection.
            response.headers["connection"] = "close"
        flow.metadata[ERROR_RESPONSE] = response
