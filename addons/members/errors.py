"""Gateway errors in the caller's own provider shape, never mitmproxy's HTML page.

When an upstream cannot be reached, or a request body is over the limit, mitmproxy runs the
`error` hook and then answers the client with an HTML page built deep in its HTTP/1 layer; a
response set in the hook is ignored. `ErrorResponses` leaves the provider-shaped answer on the
call (`call.error_response`); the patch in patches.py sends it instead of that page.
"""

from __future__ import annotations

import logging

from mitmproxy import http

from addons.call import CALL, Call

log = logging.getLogger(__name__)


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
        response = call.answers_as.error_response(kind, message, request_id=call.request_id)
        response.headers["x-request-id"] = call.request_id
        if flow.request.http_version.startswith("HTTP/1"):
            # The client may have more body on the wire; start afresh on a new connection.
            response.headers["connection"] = "close"
        call.error_response = response
