"""Every change this project makes to mitmproxy's private classes, in one place.

Each patch says why it exists, what upstream change would retire it, and the source it was
written against (a fingerprint of the function it wraps: `tests/test_patches_unit.py` fails
when mitmproxy changes under a patch, so a new mitmproxy is read before it is trusted).
`install()`, called once by the entry points, refuses to start on a mitmproxy version the
patches were not tested on. Besides the patches, two places rely on mitmproxy internals
without changing them; they are listed in RELIED_ON and fingerprinted the same way.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

from mitmproxy import version
from mitmproxy.proxy import commands, events, layer
from mitmproxy.proxy.layers import http as http_layer
from mitmproxy.proxy.layers.http import _events as ev
from mitmproxy.proxy.layers.http._http1 import Http1Server
from mitmproxy.proxy.mode_servers import AsyncioServerInstance

from addons.call import CALL
from addons.providers import UNROUTED
from addons.wire import headers as fields
from addons.wire.bodies import LARGE
from addons.wire.headers import MAX_HEAD_BYTES

TESTED_VERSIONS = ("12.3.1",)


class UntestedMitmproxy(RuntimeError):
    pass


@dataclass(frozen=True)
class Patch:
    name: str
    owner: object  # the class patched
    attribute: str
    wrap: Callable  # original -> replacement
    why: str
    retire: str  # the upstream change that would make it unnecessary
    fingerprint: str  # sha256 of the original's source, first 16 hex digits


# --- Layers' event queues: allocated on first use --------------------------------------------


class EventQueue:
    """The deque API mitmproxy's Layer uses (append, popleft, truth, iteration), allocated when
    an event waits and let go once the queue drains."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: collections.deque | None = None

    def append(self, event) -> None:
        if self._items is None:
            self._items = collections.deque()
        self._items.append(event)

    def popleft(self):
        if not self._items:
            raise IndexError("pop from an empty queue")
        event = self._items.popleft()
        if not self._items:
            self._items = None
        return event

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items) if self._items else 0

    def __iter__(self):
        return iter(self._items or ())


def _slim_layer_init(init):
    @functools.wraps(init)
    def __init__(self, context) -> None:
        init(self, context)
        self._paused_event_queue = EventQueue()

    return __init__


# --- The body-size check: the common case answered without mitmproxy's generator ----------


class BodySizeLimit:
    """The limit as the lean master's BodySizeCheck addon parsed it from the options; until it
    has (mitmweb), every check is mitmproxy's own."""

    limit: int | None = None
    full_check = True


def _quick_body_check(full):
    @functools.wraps(full, updated=())  # not its marks
    def check_body_size(self, request: bool):
        limit = BodySizeLimit.limit
        if BodySizeLimit.full_check:
            return full(self, request)
        if limit is None:
            return ()  # `yield from ()` is None: not over the limit, as mitmproxy's False
        buf = self.request_body_buf if request else self.response_body_buf
        if buf:
            return () if len(buf) <= limit else full(self, request)
        message = self.flow.request if request else self.flow.response
        size = fields.first(message.headers, b"content-length")
        if size is None:
            return ()  # chunked or read to the end: checked as it is buffered
        try:
            if int(size) <= limit:
                return ()
        except ValueError:
            pass
        return full(self, request)

    return check_body_size


# --- Error pages: the provider-shaped answer instead of mitmproxy's HTML ---------------------


def _error_replacement(stream, command) -> list | None:
    if not (isinstance(command, http_layer.SendHttp)
            and isinstance(command.event, ev.ResponseProtocolError)
            and command.connection is stream.context.client):
        return None
    call = stream.flow.metadata.get(CALL)
    response = call.error_response if call is not None else None
    if response is None:
        return None
    call.error_response = None
    sid, client = stream.stream_id, command.connection
    return [
        http_layer.SendHttp(ev.ResponseHeaders(sid, response, end_stream=False), client),
        http_layer.SendHttp(ev.ResponseData(sid, response.raw_content), client),
        http_layer.SendHttp(ev.ResponseEndOfMessage(sid), client),
    ]


def _replacing_error_page(method):
    @functools.wraps(method, updated=())  # not its marks
    def wrapper(self, *args):
        gen = iter(method(self, *args))  # iter: a quick check may answer with ()
        try:
            command = next(gen)
            while True:
                replacement = _error_replacement(self, command)
                if replacement is not None:
                    yield from replacement
                    command = next(gen)  # SendHttp is not blocking: nothing to send back
                else:
                    command = gen.send((yield command))
        except StopIteration as stop:
            return stop.value

    return wrapper


# --- Large request bodies: joined off the loop ------------------------------------------------


JOIN_ASIDE = LARGE  # bytes of body from which the chunks are joined on a thread


@dataclass
class LargeBody:
    flow: object  # the HTTPFlow
    buffer: object  # mitmproxy's ReceiveBuffer: bytes() of it joins the chunks
    content: bytes | None = None


@dataclass
class JoinBodyHook(commands.StartHook):
    """A large request body has been read: an addon joins its buffer's chunks off the loop
    (`body.content = bytes(body.buffer)` on a thread); if none does, mitmproxy joins it.
    One argument: mitmproxy's connection handler takes single-argument hooks only."""

    body: LargeBody


def _joined_aside(consume):
    @functools.wraps(consume, updated=())  # not its marks
    def state_consume_request_body(self, event):
        if type(event) is ev.RequestEndOfMessage and len(self.request_body_buf) >= JOIN_ASIDE:
            return _join_then_consume(consume, self, event)
        return consume(self, event)

    return state_consume_request_body


def _join_then_consume(consume, stream, event):
    body = LargeBody(stream.flow, stream.request_body_buf)
    yield JoinBodyHook(body)
    if body.content is not None:  # one chunk now: mitmproxy's own join hands it back as is
        stream.request_body_buf.clear()
        stream.request_body_buf += body.content
    return (yield from consume(stream, event))


# --- Upstream attempts: a failed answer held back, the request sent again --------------------


@dataclass
class Attempt:
    """An upstream attempt failed before a byte of it reached the client: `flow.response` is
    the provider's whole error answer (small), or None when none came (`error` says why). An
    addon that has put another credential on `flow.request` sets `resend`."""

    flow: object
    error: str | None = None
    resend: bool = False


@dataclass
class UpstreamFailedHook(commands.StartHook):
    """A held failed attempt, to judge (upstreams.py). One argument, as JoinBodyHook."""

    attempt: Attempt


# The statuses that may be the key's fault rather than the request's (a key limited, refused,
# out of credit) or the provider's (5xx): read whole before the client sees anything.
HELD = frozenset({400, 401, 402, 403, 429})


def _resendable(flow) -> bool:
    call = flow.metadata.get(CALL)
    return (call is not None and call.upstream_key is not None and flow.live
            and not flow.request.stream)


def _holding_failures(wait):
    @functools.wraps(wait)
    def state_wait_for_response_headers(self, event):
        status = event.response.status_code
        if (status >= 500 or status in HELD) and _resendable(self.flow):
            self.flow.response = event.response
            if event.end_stream:
                return (yield from _judge(self))
            self.server_state = _reading_failure(self)
            return None
        return (yield from wait(self, event))

    return state_wait_for_response_headers


def _reading_failure(stream):
    def reading_failed_answer(event):
        if isinstance(event, ev.ResponseData):
            stream.response_body_buf += event.data
        elif isinstance(event, ev.ResponseTrailers):
            stream.flow.response.trailers = event.trailers
        elif isinstance(event, ev.ResponseEndOfMessage):
            stream.flow.response.data.content = bytes(stream.response_body_buf)
            stream.response_body_buf.clear()
            yield from _judge(stream)

    reading_failed_answer.held = True
    return reading_failed_answer


def _judge(stream):
    """The held answer judged: sent again, or passed on as mitmproxy would have."""
    attempt = Attempt(stream.flow)
    yield UpstreamFailedHook(attempt)
    if attempt.resend and stream.flow.live:
        return (yield from _resend(stream))
    flow = stream.flow
    yield http_layer.HttpResponseHeadersHook(flow)
    if (yield from stream.check_killed(True)):
        return None
    if callable(flow.response.stream):  # a tap set on its head: it sees the body too
        out = []
        for data in (flow.response.content, b""):
            chunks = flow.response.stream(data)
            out += [chunks] if isinstance(chunks, bytes) else chunks
        flow.response.content = b"".join(out)
    flow.response.stream = False
    return (yield from stream.send_response())


def _resend(stream):
    """The request sent again, exactly as it went, on a connection that works."""
    flow = stream.flow
    flow.response = None
    stream.response_body_buf.clear()
    stream.server_state = stream.state_wait_for_response_headers
    if not (yield from stream.make_server_connection()):
        return None
    content = flow.request.raw_content
    yield http_layer.SendHttp(ev.RequestHeaders(stream.stream_id, flow.request, not content),
                              stream.context.server)
    if content:
        yield http_layer.SendHttp(ev.RequestData(stream.stream_id, content),
                                  stream.context.server)
    yield http_layer.SendHttp(ev.RequestEndOfMessage(stream.stream_id), stream.context.server)
    return None


def _judging_drops(handle):
    @functools.wraps(handle)
    def handle_protocol_error(self, event):
        if (isinstance(event, ev.ResponseProtocolError) and self.flow.response is None
                and (self.server_state == self.state_wait_for_response_headers
                     or getattr(self.server_state, "held", False))
                and _resendable(self.flow)):
            attempt = Attempt(self.flow, event.message)
            yield UpstreamFailedHook(attempt)
            if attempt.resend and self.flow.live:
                return (yield from _resend(self))
        return (yield from handle(self, event))

    return handle_protocol_error


# --- Request heads: bounded while they are read -----------------------------------------------


# Before the head is read the provider is unknown: the shape of what names none.
_, _HEAD_REFUSAL = UNROUTED.errors.body(
    "head_too_large", f"Request header fields too large: the head must be under "
    f"{MAX_HEAD_BYTES // 1024} KiB.")
HEAD_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: "
                  b"application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
                  % (len(_HEAD_REFUSAL), _HEAD_REFUSAL))


def _bounded_head(read_headers):
    @functools.wraps(read_headers)
    def read_headers_bounded(self, event):
        yield from read_headers(self, event)
        if (isinstance(event, events.DataReceived) and self.state == self.read_headers
                and len(self.buf) > MAX_HEAD_BYTES):
            yield commands.SendData(self.conn, HEAD_TOO_LARGE)
            yield commands.CloseConnection(self.conn)
            self.buf = type(self.buf)()  # let the head go now, not with the connection
            self.state = self.done

    return read_headers_bounded


# --- Listening sockets shared by worker processes (SO_REUSEPORT) ----------------------------


class Listen:
    """Set by a worker process (workers.py) before the proxy starts: its TCP listener binds
    with SO_REUSEPORT, so N workers share one port and the kernel spreads connections."""

    reuse_port = False


def _listen_reusing_port(listen):
    @functools.wraps(listen)
    async def listen_reusing_port(self, host: str, port: int):
        if not Listen.reuse_port or self.mode.transport_protocol != "tcp":
            return await listen(self, host, port)
        return [await asyncio.start_server(self.handle_stream, host or None, port,
                                           reuse_port=True)]

    return listen_reusing_port


# --- The list -------------------------------------------------------------------------------

_ERROR_PAGE_WHY = (
    "On a failed upstream, a body over the limit or an invalid upstream response, mitmproxy "
    "runs the error hook, then sends the client an HTML page from deep in its HTTP layer; a "
    "response set in the hook is ignored. The wrapper sends the provider-shaped answer that "
    "ErrorResponses left on the call instead. Only the three methods that send that page are "
    "wrapped (check_killed aside: nothing of ours kills a flow): a wrapper on every stream "
    "event cost about 12 us a request.")
_ERROR_PAGE_RETIRE = "mitmproxy PR #7999 (a response set in the error hook is sent)"

# In the order they are applied: the quick body-size check goes over the error-page wrapper.
PATCHES = (
    Patch("slim layer queues", layer.Layer, "__init__", _slim_layer_init,
          why="Each of the ~7 layers of a connection allocates a 64-slot deque for events "
              "that arrive while it waits, almost always empty: ~4 KiB per open connection.",
          retire="none filed: mitmproxy allocating Layer._paused_event_queue on first use",
          fingerprint="fd5121f4df9d0eba"),
    *(Patch(f"error page ({name})", http_layer.HttpStream, name, _replacing_error_page,
            why=_ERROR_PAGE_WHY, retire=_ERROR_PAGE_RETIRE, fingerprint=fp)
      for name, fp in (("handle_protocol_error", "59fc3b2eeeabf63a"),
                       ("check_body_size", "236ca0a7b9fd4f69"),
                       ("check_invalid", "ef0a126eef45d903"))),
    Patch("quick body-size check", http_layer.HttpStream, "check_body_size", _quick_body_check,
          why="With body_size_limit set, mitmproxy checks every head and buffered chunk with "
              "two option reads, a header parse and a generator; the limit parsed once answers "
              "the common case (within it) without them.",
          retire="none filed: mitmproxy caching the parsed limit in configure()",
          fingerprint="236ca0a7b9fd4f69"),
    Patch("shared listening port", AsyncioServerInstance, "listen", _listen_reusing_port,
          why="mitmproxy binds its listener without SO_REUSEPORT; gateway workers (--workers N) "
              "each bind the same port with it, and the kernel balances connections between "
              "them. Only in worker processes; otherwise mitmproxy's own listen runs.",
          retire="none filed: a reuse_port option for mitmproxy's servers",
          fingerprint="7670a9038b44170d"),
    Patch("large bodies joined aside", http_layer.HttpStream, "state_consume_request_body",
          _joined_aside,
          why="mitmproxy joins a request body's chunks on the event loop once it is read; on "
              "a virtual machine that backs fresh memory lazily a 30 MB join took 0.3 s, every "
              "other call on the loop waiting. A large body is joined on a thread instead "
              "(the copy runs without the GIL), a small one as before.",
          retire="none filed: mitmproxy handing large bodies over without the join on its loop",
          fingerprint="45459c1bbd8bdb1a"),
    Patch("failed attempts held back", http_layer.HttpStream,
          "state_wait_for_response_headers", _holding_failures,
          why="mitmproxy sends an upstream answer on as it comes and cannot send a request "
              "twice. A failed answer that may be the key's fault or the provider's (400-403, "
              "429, 5xx) is read whole first and judged (UpstreamFailedHook): the request goes "
              "again with another key, or the answer goes on as mitmproxy would have sent it.",
          retire="none filed: a retry hook in mitmproxy's HttpStream",
          fingerprint="10e32e91b2948164"),
    Patch("dropped attempts judged", http_layer.HttpStream, "handle_protocol_error",
          _judging_drops,
          why="A connection that fails or closes before the answer began is an attempt the "
              "client never saw: judged like a failed answer, and sent again instead of ending "
              "the flow with an error.",
          retire="none filed: a retry hook in mitmproxy's HttpStream",
          fingerprint="59fc3b2eeeabf63a"),
    Patch("bounded request head", Http1Server, "read_headers", _bounded_head,
          why="mitmproxy buffers an HTTP/1 head until its blank line however long it grows "
              "('FIXME: protect against header size DoS' in _http1.py): one endless header "
              "could take the process to gigabytes. Answers 431 past MAX_HEAD_BYTES, as nginx.",
          retire="none filed: mitmproxy bounding the head (the FIXME in _http1.py)",
          fingerprint="3fe0945216bcf7bc"),
)

# Internals used without being changed.
RELIED_ON = {
    # lean.py's LeanAddons finds each event's handlers among the core addons once, as the
    # stock manager does on every event.
    "AddonManager._iter_hooks": (
        "mitmproxy.addonmanager", "AddonManager._iter_hooks", "350b419ab7284091"),
    # timeouts.py cancels the task that runs `server_connect` to abandon an upstream
    # connection: mitmproxy opens and reads a server connection in that one task
    # (a flow cannot be killed in transit, mitmproxy #4711).
    "ConnectionHandler.open_connection": (
        "mitmproxy.proxy.server", "ConnectionHandler.open_connection", "5e0b3cbaf7a4030a"),
}

ORIGINALS: dict[tuple[type, str], Callable] = {}  # what each patch wrapped, first wrap only
_installed: list[Patch] = []


def fingerprint(fn) -> str:
    return hashlib.sha256(inspect.getsource(fn).encode()).hexdigest()[:16]


def check_version(found: str = version.VERSION) -> None:
    if found not in TESTED_VERSIONS:
        raise UntestedMitmproxy(
            f"mitmproxy {found} is installed, but llm-gateway's patches to mitmproxy "
            f"(addons/runtime/patches.py) were tested on {', '.join(TESTED_VERSIONS)} only; "
            f"install the version requirements.txt pins")


def apply(patch: Patch) -> None:
    original = getattr(patch.owner, patch.attribute)
    ORIGINALS.setdefault((patch.owner, patch.attribute), original)
    setattr(patch.owner, patch.attribute, patch.wrap(original))
    _installed.append(patch)


def install() -> None:
    """Apply every patch once (idempotent), after checking mitmproxy's version."""
    check_version()
    if not _installed:
        for patch in PATCHES:
            apply(patch)
