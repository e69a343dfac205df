"""Translate: a unified call's buffered answer in the shape the customer speaks. A native
answer (metering has read its usage by now) becomes a chat completion; a native error,
OpenAI's error with the status the SDKs act on (`retry-after` kept). Streams are translated
as they pass, by the provider's stream translator that metering installs."""

from __future__ import annotations

import json
import logging

from mitmproxy import http
from mitmproxy.net.http import status_codes

from addons.call import CALL, Call
from addons.wire import headers as fields
from addons.wire.bodies import compact

log = logging.getLogger(__name__)

_BODY = frozenset({b"content-type", b"content-length", b"content-encoding",
                   b"transfer-encoding"})  # the native body's, replaced


class Translate:
    PHASE = "answer"  # first of the phase: the others see what the client gets

    def response(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or call.translation is None or call.streamed or flow.response is None \
                or call.ttfb is None:  # not the upstream's answer: the gateway's own, in shape
            return
        resp = flow.response
        obj, call.answer = call.answer, None
        if obj is None:  # not read by metering: an error, or not JSON
            try:
                obj = json.loads(fields.body(resp) or b"null")
            except (ValueError, UnicodeDecodeError):
                obj = None
        if 200 <= resp.status_code < 300 and isinstance(obj, dict):
            metered = call.usage.usage.total_tokens if call.usage is not None else 0
            status, out = 200, call.translation.answer(obj, metered)
        else:
            status, out = call.translation.error(resp.status_code, obj)
            wait = call.translation.retry_after(obj)
            if wait is not None and "retry-after" not in resp.headers:  # the SDKs wait this
                resp.headers["retry-after"] = str(wait)
            log.info("%s: upstream %s answered %s", call.request_id, call.provider.name,
                     resp.status_code)
        # The same response, its headers kept (the gateway's rate-limit and request-id
        # headers, retry-after), its status and body OpenAI's, set in one pass.
        content = compact(out)
        data = resp.data
        data.headers.fields = (*[f for f in data.headers.fields if f[0].lower() not in _BODY],
                               (b"content-type", b"application/json"),
                               (b"content-length", b"%d" % len(content)))
        data.content = content
        if status != data.status_code:
            data.status_code = status
            data.reason = status_codes.RESPONSES.get(status, "").encode()
