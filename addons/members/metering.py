"""Metering: asks for usage in the answer, taps each response, settles its usage once,
however the call ends.

`request` makes sure the answer will carry usage (some streams must ask for it: a format's
`prepare`).
`responseheaders` picks the parser for the response's format and, for streams, installs a tap
that forwards every chunk as it arrives. Usage is settled in `response` (the body or the
finished stream) or `error` (client gone, upstream cut) for each call in flight: the call
leaves the in-flight registry, its `usage` is set (the limits settle the quota from it, the
access log shows it) and the record goes to the writer.
"""

from __future__ import annotations

import json
import logging
import time

from mitmproxy import http

from addons.call import CALL, Call
from addons.services import memory
from addons.services.inflight import InFlight
from addons.wire import headers as fields
from addons.wire.usage import BodyResult, Settlement, StreamParser, Usage, settle
from models.tables import utcnow

log = logging.getLogger(__name__)

ZERO = Usage()
CLIENT_DISCONNECTED = "Client disconnected."  # mitmproxy's error when the client hangs up
NO_ANSWER = BodyResult(None, None, complete=False)  # no answer, or none that could be read


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


def _generated_unseen(flow: http.HTTPFlow, call: Call) -> bool:
    """A buffered answer the provider was generating when the call was lost on this side: the
    client hung up, or the upstream went quiet past the read timeout before its answer began.
    A non-streamed call runs to its end upstream, and the provider bills the business for it.
    (An answer the provider itself broke, cut mid-body or over the size limit, reached the
    client as an error and nothing else: it is not charged.)"""
    if flow.error is None or call.parser is not None:
        return False
    if flow.server_conn.timestamp_tcp_setup is None:
        return False  # never reached the provider
    if flow.response is None:
        return True
    return _is_success(flow) and flow.error.msg == CLIENT_DISCONNECTED


def unseen_charge(call: Call) -> Usage:
    """What a generated, unseen answer is charged: what was reserved for it (the input
    estimate and the full output cap, times the answers asked for), never less than the
    input estimate; the record is marked estimated and incomplete."""
    return Usage.of(input_tokens=call.input_estimate, output_tokens=call.granted_output)


class Metering:
    PHASE = "meter"

    def __init__(self, writer, inflight: InFlight, owners=None, prices=None) -> None:
        self.writer = writer
        self.inflight = inflight  # the calls sent upstream and not yet settled
        self.owners = owners  # records who created each object stored upstream
        self.prices = prices  # a PriceBook: what the call is charged at the plan's prices

    def request(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or not call.upstream or flow.response or flow.error:
            return
        if call.body is not None:
            fmt = call.endpoint.usage
            if fmt and fmt.prepare and fmt.prepare(call.body):
                call.body_changed = call.strip_usage_chunk = True
            call.hidden_reasoning = call.provider.hides_reasoning(call.body)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or call not in self.inflight:
            return
        call.last_activity = time.monotonic()
        call.ttfb = call.last_activity - call.started
        resp = flow.response
        fmt = call.endpoint.usage
        ok = _is_success(flow)
        if call.translation is not None:  # the client reads only what is translated
            if not (ok and call.translation.stream and b"text/event-stream" in (
                    fields.first(resp.headers, b"content-type") or b"")):
                return  # buffered: translated in `response` (translate.py)
            call.streamed = True
            call.parser = call.translation.stream_parser()
            resp.headers.pop("content-length", None)
            resp.stream = Tap(call, call.parser)
            return
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
        if call is None or call not in self.inflight:
            return
        if call.parser is not None:
            self._settle_stream(flow, call)
            return
        result = NO_ANSWER
        fmt = call.endpoint.usage
        if fmt and not call.streamed and _is_success(flow):
            try:
                obj = json.loads(fields.body(flow.response) or b"null")
                result = fmt.body(obj) if isinstance(obj, dict) else result
                if call.translation is not None and isinstance(obj, dict):
                    call.answer = obj  # read once: the translation takes it from here
            except (ValueError, UnicodeDecodeError):
                log.warning("%s: unreadable %s response body", call.request_id,
                            call.endpoint.name)
        self.settle(flow, call, result._replace(
            complete=result.complete and result.usage is not None))

    def error(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or call not in self.inflight:
            return
        if call.parser is not None:
            # A stream whose terminal event passed is complete, even if the client hung up
            # before the body's last bytes (SDKs close soon after [DONE] or message_stop).
            self._settle_stream(flow, call)
        else:
            self.settle(flow, call, NO_ANSWER)

    def done(self) -> None:
        # Shutting down: whatever is still open is settled with what is known.
        for flow, call in self.inflight:
            if call.parser is not None:
                self._settle_stream(flow, call)
            else:
                self.settle(flow, call, NO_ANSWER)

    def _settle_stream(self, flow: http.HTTPFlow, call: Call) -> None:
        p = call.parser
        self.settle(flow, call, BodyResult(p.usage, p.model, p.complete and not p.failed,
                                           p.tools, p.objects, p.tier, p.stop), p.out_chars)

    def settle(self, flow: http.HTTPFlow, call: Call, answer: BodyResult,
               out_chars: int = 0) -> None:
        """The call is over: what it is charged, the objects it stored claimed for its
        customer, and its usage record handed to the writer."""
        if not self.inflight.remove(call):
            return
        charged, tools = charge(flow, call, answer, out_chars)
        if answer.objects and call.stores and self.owners is not None \
                and _is_success(flow):
            for object_id in answer.objects:
                self.owners.claim(call.provider.name, object_id, call.customer.user_id)
        call.usage = charged
        record = usage_record(flow, call, answer, charged, tools)
        plan = call.customer.plan
        if self.prices is not None and (plan.reference or call.paid_by_credit):
            # What the limits settle now is money or counted tokens: charged here.
            call.charge, call.counted_tokens = self.prices.sale(
                plan, call.provider.name, record["model"], record)
            record["charge_nanousd"] = call.charge
            record["credit_nanousd"] = call.charge if call.paid_by_credit else 0
        else:  # raw tokens: the writer charges it, off the loop
            call.counted_tokens = charged.usage.total_tokens
            record["plan"] = plan
        record["counted_tokens"] = call.counted_tokens
        self.writer.submit(record)
        if call.large_body:
            memory.collect_soon()


def charge(flow: http.HTTPFlow, call: Call, answer: BodyResult,
           out_chars: int) -> tuple[Settlement, dict | None]:
    """What a settled call is charged, and the server-side tools billed with it: what the
    provider reported; a documented estimate where no report came, never below what was
    reserved for an answer generated out of sight; nothing where nothing was generated."""
    ep = call.endpoint
    consumed = ep.usage is not None and not ep.free
    if consumed and _generated_unseen(flow, call):
        return Settlement(unseen_charge(call), False, True), None
    if not consumed or not _is_success(flow) or (flow.error and not call.streamed):
        # Counting, listing, an upstream refusal or no answer at all: nothing generated;
        # or a buffered answer the provider broke: the client got an error, nothing else.
        return Settlement(ZERO, flow.error is None, False), None
    s = settle(answer.usage, answer.complete, out_chars, call.input_estimate)
    if not s.complete and call.hidden_reasoning and \
            s.usage.total_tokens < call.input_estimate + call.granted_output:
        # Cut before its usage came, having reasoned out of sight: its text says nothing of
        # what it generated.
        s = Settlement(unseen_charge(call), False, True)
    return s, answer.tools


def usage_record(flow: http.HTTPFlow, call: Call, answer: BodyResult, charged: Settlement,
                 tools: dict | None) -> dict:
    """The usage record of a settled call, as the writer stores it: the one place its shape
    is made."""
    u = charged.usage
    return {
        "created_at": utcnow(),
        "request_id": call.request_id,
        "user": call.customer.user_id,
        "api_key": call.customer.key_id,
        "provider": call.provider.name,
        "endpoint": call.endpoint.name,
        "api": "unified" if call.unified else "native",
        "model": answer.model or call.model or "",
        "status": flow.response.status_code if flow.response else 0,
        "streamed": call.streamed,
        "latency_ms": round((time.monotonic() - call.started) * 1000),
        "ttfb_ms": round(call.ttfb * 1000) if call.ttfb is not None else None,
        "input_tokens": u.input_tokens,
        "cache_read_tokens": u.cache_read_tokens,
        "cache_write_tokens": u.cache_write_tokens,
        "cache_write_1h_tokens": u.cache_write_1h_tokens,  # priced, not stored
        # The tier the provider served it in, else the one asked for: priced, not stored.
        "service_tier": answer.tier or call.tier,
        "output_tokens": u.output_tokens,
        "reasoning_tokens": u.reasoning_tokens,
        "total_tokens": u.total_tokens,
        "tools": tools,
        "finish_reason": answer.stop or "",
        "complete": charged.complete,
        "estimated": charged.estimated,
    }
