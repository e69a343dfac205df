"""Router, the chain's first member: a call's provider and endpoint (resolved by routes.py)
and its request pointed at that provider's origin; its JSON body read (large ones off the
loop). `/healthz`, `/v1/models` (wire/modellist.py) and `/v1/usage` (models/statement.py) are
answered here; every other path is left to the admin app.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import NamedTuple
from urllib.parse import urlsplit

from mitmproxy import http
from mitmproxy.net.http.url import hostport

from addons.call import CALL, Call
from addons.members import cors, routes, unified
from addons.providers import UNROUTED, Provider
from addons.services import memory
from addons.services.inflight import InFlight
from addons.wire import bodies
from addons.wire import headers as fields
from addons.wire.headers import MAX_HEAD_BYTES
from addons.wire.inflate import TooLarge, Undecodable, inflate
from addons.wire.modellist import model_list
from models import User, db
from models.statement import parse_month, statement

log = logging.getLogger(__name__)


def customer_statement(user_id: int, month: str | None) -> dict:
    """GET /v1/usage's answer, in a worker thread (its connection closed after)."""
    try:
        return statement(User.get_by_id(user_id), month)
    finally:
        if not db.is_closed():
            db.close()

def head_facts(raw: tuple) -> tuple[int, bool, bool]:
    """One pass over the request's header fields: their size, and whether they ask for a
    protocol upgrade or come from a browser (an Origin)."""
    size, upgrade, browser = 0, False, False
    for k, v in raw:
        size += len(k) + len(v)
        name = k.lower()
        if name == b"origin":
            browser = True
        elif name == b"upgrade":
            upgrade = True
    return size, upgrade, browser


def json_response(status: int, obj, headers: dict | None = None) -> http.Response:
    return http.Response.make(status, json.dumps(obj).encode(),
                              {"content-type": "application/json", **(headers or {})})




class Target(NamedTuple):
    """A provider's origin, parsed once (urlsplit's properties parse again on every read)."""

    scheme: bytes
    host: str
    port: int
    hostport: bytes  # the Host header's value
    prefix: str  # path prefix, without a trailing slash

    @classmethod
    def of(cls, url: str) -> Target:
        u = urlsplit(url)
        port = u.port or (443 if u.scheme == "https" else 80)
        return cls(u.scheme.encode(), u.hostname, port,
                   hostport(u.scheme, u.hostname, port).encode("idna"), u.path.rstrip("/"))

    def apply(self, request: http.Request) -> None:
        """Point the request at this origin: what setting scheme, port and host does, with
        one pass over the header fields instead of a MultiDict look-up and write per setter."""
        data = request.data
        data.scheme, data.host, data.port = self.scheme, self.host, self.port
        if request.is_http2 or request.is_http3:
            data.authority = self.hostport
        else:
            data.authority = b""  # origin-form upstream, whatever form the client used
        raw = data.headers.fields
        if any(k.lower() == b"host" for k, _ in raw):
            data.headers.fields = tuple((k, self.hostport) if k.lower() == b"host" else (k, v)
                                        for k, v in raw)


class Router:
    PHASE = "route"

    def __init__(self, providers: dict[str, Provider], inflight: InFlight | None = None,
                 prices=None, body_limit: int = 32 * 1024 * 1024, limits=None,
                 body_workers: int = 1, unserved=frozenset()) -> None:
        self.providers = providers
        self.unserved = unserved  # providers without a key (a live set): refused, nothing sent
        self.limits = limits  # the limiter, whose `available` /healthz reports
        self.inflight = inflight if inflight is not None else InFlight()  # read: draining
        self.prices = prices  # a PriceBook, for /v1/models
        self.body_limit = body_limit  # what a compressed body may inflate to
        self.reader = bodies.Reader(body_workers)  # large bodies
        self.started = time.time()
        self._targets = {name: Target.of(p.upstream) for name, p in providers.items()}

    def done(self) -> None:
        self.reader.close()

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error:
            return
        path, _, query = flow.request.path.partition("?")
        if path == "/healthz":
            # 200 while the process serves calls. The shared limits gone, REDIS_OUTAGE decides
            # what that means: with `closed` every call is refused (503, so a balancer knows);
            # otherwise calls are served by the policy and `limits` tells monitoring.
            limits_ok = self.limits is None or self.limits.healthy()
            down = not limits_ok and self.limits.refuses_all
            flow.response = json_response(
                503 if self.inflight.draining or down else 200,
                {"status": "stopping" if self.inflight.draining else
                 "unavailable" if down else "ok",
                 "limits": "ok" if limits_ok else "unavailable",
                 "uptime_s": round(time.time() - self.started)})
            return
        named = routes.name(self.providers, flow.request.method, path)
        if named is None:
            return  # the admin app's
        request_id = "req_" + flow.id.replace("-", "")[:24]  # the flow's random uuid4
        if named is routes.MODELS or named is routes.USAGE:
            # Served here, once auth has found the caller; errors in the unrouted shape.
            flow.metadata[CALL] = Call(self.providers[UNROUTED.name], None, named, request_id)
            return
        if isinstance(named, routes.Refusal):
            self._refuse(flow, named, None)
            return
        request = flow.request
        if request.method == "OPTIONS":  # a browser's CORS preflight: no key, nothing sent
            flow.response = cors.preflight(request)
            return
        if self.inflight.draining:
            flow.response = named.provider.error_response(
                "unavailable", "The gateway is restarting; please retry in a moment.",
                headers={"retry-after": "2"}, request_id=request_id)
            return
        found = routes.route(named, request.method, path, query)
        if isinstance(found, routes.Refusal):
            self._refuse(flow, found, request_id)
            return
        provider = found.provider
        if provider.name in self.unserved and not named.unified:
            flow.response = self._unserved(provider, provider, request_id)
            return
        size, upgrade, browser = head_facts(request.headers.fields)
        if size > MAX_HEAD_BYTES:
            flow.response = provider.error_response(
                "head_too_large", f"The request's headers are larger than "
                f"{MAX_HEAD_BYTES // 1024} KiB.", request_id=request_id)
            return
        if upgrade:
            flow.response = provider.error_response(
                "invalid_request", "Protocol upgrades (WebSocket) are not available on API "
                "routes; send plain HTTP requests.", request_id=request_id)
            return
        target = self._targets[provider.name]
        if not named.unified:  # a unified call is pointed once the body names who serves it
            target.apply(request)
        request.path = f"{target.prefix}/{found.upstream}"
        flow.metadata[CALL] = Call(provider, found.endpoint, found.path, request_id,
                                   browser=browser, unified=named.unified)

    async def _usage(self, flow: http.HTTPFlow, call: Call) -> None:
        """The caller's month, read off the loop."""
        month = flow.request.query.get("month") or None
        try:
            parse_month(month)
        except ValueError:
            self._refuse(flow, routes.Refusal(
                call.provider, "invalid_request", f"month must be YYYY-MM, not {month!r}.",
                "invalid_month"), call.request_id)
            return
        report = await asyncio.to_thread(customer_statement, call.customer.user_id, month)
        flow.response = json_response(200, report)

    @staticmethod
    def _unserved(provider: Provider, shape: Provider, request_id: str) -> http.Response:
        """A provider without a key, in the caller's shape: the SDKs read 503 as the
        service's, not as their own key being wrong (which the provider's 401 would say)."""
        return shape.error_response(
            "unavailable", f"{provider.name} is not configured on this gateway (no provider "
            "key): its models are not served here.", request_id=request_id)

    @staticmethod
    def _refuse(flow: http.HTTPFlow, refusal: routes.Refusal, request_id: str | None) -> None:
        extra = {"code": refusal.code} if refusal.code else {}
        if request_id is not None:
            extra["request_id"] = request_id
        flow.response = refusal.provider.error_response(refusal.kind, refusal.message, **extra)

    def request(self, flow: http.HTTPFlow) -> None:
        call: Call | None = flow.metadata.get(CALL)
        if call is None or flow.response or flow.error:
            return
        if not call.upstream:
            if call.path == routes.USAGE:
                return self._usage(flow, call)
            key = call.customer.key
            flow.response = json_response(200, model_list(
                self.prices, call.customer.plan, self.unserved,
                key.models if key is not None else frozenset()))
            return
        if not (call.endpoint.json_body and flow.request.method == "POST"):
            call.model = call.provider.model_of(call.path, None)
            if call.unified:
                self._point(flow, call)
            return None
        request = flow.request
        encoding = fields.first(request.headers, b"content-encoding")
        try:
            content = (request.raw_content if encoding is None else
                       inflate(request.raw_content or b"", encoding.decode("latin-1"),
                               self.body_limit)) or b""
        except TooLarge as e:
            flow.response = call.answers_as.error_response(
                "too_large", f"Request too large: {e}.", request_id=call.request_id)
            return None
        except (Undecodable, UnicodeDecodeError) as e:
            flow.response = call.answers_as.error_response(
                "invalid_request", f"The request body could not be read: {e}.",
                request_id=call.request_id)
            return None
        if encoding is not None:  # sent on decoded: the providers need not take compression
            del request.headers["content-encoding"]
            request.content = content
        if len(content) > bodies.LARGE:  # read by the worker while other calls go on
            call.large_body = True
            memory.collect_soon()  # for a call refused before it goes: settled ones ask again
            return self._read_aside(flow, call, content)
        self._take_body(flow, call, *bodies.read(content))
        if call.unified and flow.response is None:
            self._dispatch(flow, call)
        return None

    @staticmethod
    async def join_body(body) -> None:
        """A large body's chunks joined on a thread (patches.py's JoinBodyHook): the copy
        runs without the GIL, so the loop serves other calls meanwhile."""
        body.content = await asyncio.to_thread(bytes, body.buffer)

    async def _read_aside(self, flow: http.HTTPFlow, call: Call, content: bytes) -> None:
        self._take_body(flow, call, *await self.reader.read(content))
        if call.unified and flow.response is None:
            self._dispatch(flow, call)

    def _dispatch(self, flow: http.HTTPFlow, call: Call) -> None:
        """A unified call pointed at the provider that serves its model (unified.py), once.
        One that names none, or below the unified paths, stays OpenAI's, refused or served
        as on /v1/openai/ (counting input tokens needs no model)."""
        model = call.body.get("model")
        if call.path not in routes.BY_MODEL or not isinstance(model, str) or not model:
            self._point(flow, call)
            return
        found = unified.model_entry(self.prices, self.providers, model)
        if found is None:
            flow.response = call.answers_as.error_response(
                "model_not_found", f"The model `{model}` does not exist or you do not have "
                "access to it.", param="model", request_id=call.request_id)
            return
        name, entry = found
        if entry["provider"] in self.unserved:
            flow.response = self._unserved(self.providers[entry["provider"]],
                                           call.answers_as, call.request_id)
            return
        try:
            upstream = unified.dispatch(call, self.providers, name, entry, str(
                call.customer.user_id) if call.customer else "")
        except unified.Refused as e:
            flow.response = call.answers_as.error_response(
                "invalid_request", str(e), param=e.param, code=e.code,
                request_id=call.request_id)
            return
        except unified.Unserved as e:
            flow.response = call.answers_as.error_response(
                "invalid_request", str(e), param="model", code="model_not_supported",
                request_id=call.request_id)
            return
        self._point(flow, call, upstream)

    def _point(self, flow: http.HTTPFlow, call: Call, upstream: str | None = None) -> None:
        """A unified call pointed, once, at the provider that serves it (at `upstream`, the
        path after its version, where it was translated); refused if that one has no key."""
        if call.provider.name in self.unserved:
            flow.response = self._unserved(call.provider, call.answers_as, call.request_id)
            return
        target = self._targets[call.provider.name]
        target.apply(flow.request)
        if upstream is not None:
            flow.request.path = f"{target.prefix}/{call.provider.default_version}/{upstream}"

    @staticmethod
    def _take_body(flow: http.HTTPFlow, call: Call, body, estimate: int) -> None:
        if isinstance(body, bodies.Refused):
            flow.response = call.answers_as.error_response(
                "invalid_request", str(body), request_id=call.request_id)
            return
        if not isinstance(body, dict):
            flow.response = call.answers_as.error_response(
                "invalid_request", "The request body must be a JSON object.",
                request_id=call.request_id)
            return
        refused = call.provider.refuse(call.path, body)
        if refused is not None:
            message, param = refused
            flow.response = call.answers_as.error_response(
                "invalid_request", message, param=param, request_id=call.request_id)
            return
        call.body = body
        call.input_estimate = estimate
        call.model = call.provider.model_of(call.path, body)
        call.tier = call.provider.tier_of(body)
