"""Fail closed: mitmproxy logs an addon's exception and carries on with the flow, which for
a gateway could mean a request going upstream unauthenticated or unmetered. Every hook of ours
that runs before the request goes upstream is wrapped so an exception becomes a refusal."""

from __future__ import annotations

import functools
import inspect
import logging

from mitmproxy import http

from .call import CALL

log = logging.getLogger(__name__)


def _refuse(flow: http.HTTPFlow, hook: str) -> None:
    log.exception("%s failed; refusing the request", hook)
    call = flow.metadata.get(CALL)
    if flow.response is None and flow.live:
        if call is not None:
            flow.response = call.provider.error_response(
                "bad_gateway", "The gateway failed to handle this request; it was not sent "
                "upstream. Please retry.", request_id=call.request_id)
        else:
            flow.response = http.Response.make(
                502, b'{"error": {"message": "gateway error", "type": "server_error", '
                     b'"param": null, "code": null}}', {"content-type": "application/json"})


def fail_closed(hook):
    name = hook.__qualname__
    if inspect.iscoroutinefunction(hook):
        @functools.wraps(hook)
        async def async_wrapper(self, flow, *args):
            try:
                await hook(self, flow, *args)
            except Exception:
                _refuse(flow, name)
        return async_wrapper

    @functools.wraps(hook)
    def wrapper(self, flow, *args):
        try:
            return hook(self, flow, *args)  # may be an awaitable for the chain to finish
        except Exception:
            _refuse(flow, name)
            return None
    return wrapper
