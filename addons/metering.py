"""Metering: taps each response, settles its usage once, however the call ends.

`responseheaders` picks the parser for the response's format and, for streams, installs a tap
that forwards every chunk as it arrives. Usage is settled in `response` (the body or the
finished stream) or `error` (client gone, upstream cut), and the record goes to the writer.
"""

from __future__ import annotations

import json
import logging
import time

from mitmproxy import http

from models.tables import utcnow

from . import bodies, fields
from .call import CALL, Call
from .guard import fail_closed
from .usage import FORMATS, BodyResult, StreamParser, Usage, settle

log = logging.getLogger(__name__)

ZERO = Usage()
CLIENT_DISCONNECTED = "Client disconnected."  # mitmproxy's error when the client hangs up
NO_RESULT = BodyResult(None, None)


class Tap:
    """The stream callable: notes upstream activity, feeds the parser (if the format has one),
    forwards what the client is owed. Whatever a parser does, the client's bytes are never
    dropped (mitmproxy drops a chunk when its stream callable raises)."""

    __slots__ = ("call", "parser", "passthrough")

    def __init__(self, call: Call, parser: StreamParser | None) -> None:
        self.call = call
        self.parser = parser
        self.passthrough = parser is None  # no parser for this format, or it failed

    def __call__(self, chunk: bytes) -> bytes | list[bytes]:
        self.call.last_activity = time.monotonic()
        if self.passthrough:
            return chunk
        try:
            if not chunk:  # end of the stream
                return self.parser.finish()
            # An empty data chunk would end a chunked body early: send nothing instead.
            return self.parser.feed(chunk) or []
        except Exception:
            log.exception("usage parser failed; passing the rest of the stream through")
            self.passthrough = True
            return chunk


def _is_success(flow: http.HTTPFlow) -> bool:
    return flow.response is not None and 200 <= flow.response.status_code < 300


def _failed_unsent(flow: http.HTTPFlow, call: Call) -> bool:
    """An answer that failed upstream (cut, refused for its size, timed out) while it was being
    read whole: the client got none of it, so there is nothing to charge. A client that hung up
    meanwhile is charged as one leaving a stream is: what was generated, estimated if need be."""
    return (flow.error is not None and not call.streamed
            and flow.error.msg != CLIENT_DISCONNECTED)


class Metering:
    PHASE = "meter"

    def __init__(self, writer, limiter=None, owners=None) -> None:
        self.writer = writer
        self.limiter = limiter
        self.owners = owners  # records who created each object stored upstream
        self.open: dict[int, tuple[http.HTTPFlow, Call]] = {}  # calls sent upstream, unsettled

    @fail_closed
    def request(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or not call.upstream or flow.response or flow.error:
            return
        if call.customer is None:  # last gate before upstream: never unauthenticated
            raise RuntimeError("an API call reached metering without a customer")
        if call.body is not None:
            fmt = FORMATS.get(call.endpoint.usage)
            if fmt and fmt.prepare and fmt.prepare(call.body):
                call.body_changed = call.strip_usage_chunk = True
            if call.body_changed:  # asked for usage, or an output cap set by the limits
                flow.request.content = bodies.dumps(call.body)
        call.body = None  # read by now; an open stream should not hold the parsed prompt
        call.last_activity = time.monotonic()
        self.open[id(call)] = (flow, call)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or id(call) not in self.open:
            return
        call.last_activity = time.monotonic()
        call.ttfb = call.last_activity - call.started
        resp = flow.response
        fmt = FORMATS.get(call.endpoint.usage)
        ok = _is_success(flow)
        if b"text/event-stream" in (fields.first(resp.headers, b"content-type") or b""):
            parser_cls = fmt.sse if fmt else None
        elif call.endpoint.streams_by_path and ok:
            parser_cls = fmt.json_stream if fmt else None
        else:
            return  # buffered; read in `response`
        call.streamed = True
        if parser_cls is None or not ok:
            resp.stream = Tap(call, None)  # pass through, but keep the idle timer fed
            return
        if call.strip_usage_chunk:
            call.parser = parser_cls(strip_usage_chunk=True)
            if "content-length" in resp.headers:  # the body we forward is shorter
                del resp.headers["content-length"]
                resp.headers["transfer-encoding"] = "chunked"
        else:
            call.parser = parser_cls()
        resp.stream = Tap(call, call.parser)

    def response(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or id(call) not in self.open:
            return
        if call.parser is not None:
            self._settle_stream(flow, call)
            return
        result = NO_RESULT
        fmt = FORMATS.get(call.endpoint.usage)
        if fmt and not call.streamed and _is_success(flow):
            try:
                obj = json.loads(fields.body(flow.response) or b"null")
                result = fmt.body(obj) if isinstance(obj, dict) else result
            except (ValueError, UnicodeDecodeError):
                log.warning("%s: unreadable %s response body", call.request_id,
                            call.endpoint.name)
        self.settle(flow, call, result.usage, result.complete and result.usage is not None,
                    0, result.model, result.tools, result.object_id)

    def error(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or id(call) not in self.open:
            return
        if call.parser is not None:
            # A stream whose terminal event passed is complete, even if the client hung up
            # before the body's last bytes (SDKs close soon after [DONE] or message_stop).
            self._settle_stream(flow, call)
        else:
            self.settle(flow, call, None, False, 0)

    def done(self) -> None:
        # Shutting down: whatever is still open is settled with what is known.
        for flow, call in list(self.open.values()):
            if call.parser is not None:
                self._settle_stream(flow, call)
            else:
                self.settle(flow, call, None, False, 0)

    def _settle_stream(self, flow: http.HTTPFlow, call: Call) -> None:
        p = call.parser
        self.settle(flow, call, p.usage, p.complete and not p.failed, p.out_chars, p.model,
                    p.tools, p.object_id)

    def settle(self, flow: http.HTTPFlow, call: Call, usage: Usage | None, complete: bool,
               out_chars: int, model: str | None = None, tools: dict | None = None,
               object_id: str | None = None) -> None:
        if self.open.pop(id(call), None) is None:
            return
        ep = call.endpoint
        status = flow.response.status_code if flow.response else 0
        consumed = ep.usage is not None and not ep.free
        if not consumed or not _is_success(flow) or _failed_unsent(flow, call):
            # Counting, listing, an upstream refusal or no answer at all: nothing generated;
            # or an answer that failed upstream before any of it was sent: nothing delivered.
            s_usage, s_complete, estimated, tools = ZERO, flow.error is None, False, None
        else:
            s = settle(usage, complete, out_chars, call.input_estimate)
            s_usage, s_complete, estimated = s.usage, s.complete, s.estimated
        if object_id and ep.creates and self.owners is not None and _is_success(flow):
            self.owners.claim(call.provider.name, object_id, call.customer.user_id)
        now = time.monotonic()
        record = {
            "created_at": utcnow(),
            "request_id": call.request_id,
            "user": call.customer.user_id,
            "api_key": call.customer.key_id,
            "provider": call.provider.name,
            "endpoint": ep.name,
            "model": model or call.model or "",
            "status": status,
            "streamed": call.streamed,
            "latency_ms": round((now - call.started) * 1000),
            "ttfb_ms": round(call.ttfb * 1000) if call.ttfb is not None else None,
            "input_tokens": s_usage.input_tokens,
            "cache_read_tokens": s_usage.cache_read_tokens,
            "cache_write_tokens": s_usage.cache_write_tokens,
            "output_tokens": s_usage.output_tokens,
            "reasoning_tokens": s_usage.reasoning_tokens,
            "total_tokens": s_usage.total_tokens,
            "tools": tools,
            "complete": s_complete,
            "estimated": estimated,
        }
        if self.limiter is not None:
            self.limiter.settle(call.customer, call.reserved, s_usage.total_tokens)
        self.writer.submit(record)
        flow.metadata["usage"] = {"input_tokens": s_usage.input_tokens,
                                  "output_tokens": s_usage.output_tokens,
                                  "total_tokens": s_usage.total_tokens, "complete": s_complete}
