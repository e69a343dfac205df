"""Tenancy of objects stored upstream: the provider keeps them (stored responses, containers)
under the business's one account, so the gateway records which customer created each and lets
only that customer read, delete, cancel or continue it.

`Owners` is the record: claims are held in memory at once (a customer may name a response the
moment it is answered) and written to the database with the next usage batch; an id not in
memory is looked up off the loop. `Ownership` is the chain member that refuses, with the
provider's own 404 and nothing forwarded, a request naming an object the caller does not own;
that notes a request which stores objects (metering claims them from the answer); and, where
the provider lists stored objects to anyone of the account (OpenAI's stored chat
completions), that writes the caller's tag in what is stored, filters lists by it and takes it
out of the answers (the endpoint's `Tagged`).
"""

from __future__ import annotations

import asyncio
import logging

from cachetools import LRUCache
from mitmproxy import http

from addons.call import CALL, Call
from addons.providers.openai.chat import Refused
from addons.wire import headers as fields
from addons.wire.bodies import LARGE
from models import OwnedObject

log = logging.getLogger(__name__)

UNKNOWN = -1  # no customer owns it: never created through this gateway


def load_owner(object_id: str) -> int:
    if len(object_id) > 255 or not object_id.isascii() or not object_id.isprintable():
        return UNKNOWN  # no id the provider made looks like this: nobody's, not a query
    row = OwnedObject.get_or_none(OwnedObject.object_id == object_id)
    return row.user_id if row is not None else UNKNOWN


class Owners:
    def __init__(self, writer, lookup=load_owner, maxsize: int = 100_000) -> None:
        self.writer = writer
        self._lookup = lookup
        self._known: LRUCache = LRUCache(maxsize=maxsize)  # object id -> user id

    def claim(self, provider: str, object_id: str, user_id: int) -> None:
        if self._known.get(object_id) == user_id:
            return
        self._known[object_id] = user_id
        self.writer.claim({"object_id": object_id, "provider": provider, "user": user_id})

    def cached(self, object_id: str) -> int | None:
        return self._known.get(object_id)

    async def owner(self, object_id: str) -> int:
        found = self._known.get(object_id)
        if found is None:
            found = await asyncio.to_thread(self._lookup, object_id)
            if found != UNKNOWN:
                self._known[object_id] = found
        return found


class Ownership:
    PHASE = "own"

    def __init__(self, owners: Owners) -> None:
        self.owners = owners

    def request(self, flow: http.HTTPFlow):
        call: Call | None = flow.metadata.get(CALL)
        if call is None or not call.upstream or flow.response or flow.error:
            return None
        ep = call.endpoint
        if ep.creates is not None and ep.creates(call.body):
            call.stores = True
        # Tagged: what it stores (a create that stores nothing is left as it is), or reads.
        if ep.tagged is not None and (ep.creates is None or call.stores) \
                and not self._tag(flow, call):
            return None
        refers = ep.refers
        ids = refers(call.path, call.body) if refers is not None else ()
        if not ids:
            return None
        uid = call.customer.user_id
        unknown = [i for i in ids if self.owners.cached(i) != uid]
        if unknown:
            return self._check(flow, call, unknown)
        return None

    @staticmethod
    def _tag(flow: http.HTTPFlow, call: Call) -> bool:
        """The caller's tag written in the body and the list's filter; False: refused."""
        tagged, tag = call.endpoint.tagged, str(call.customer.user_id)
        if tagged.body is not None and isinstance(call.body, dict):
            try:
                if tagged.body(call.body, tag):
                    call.body_changed = True
            except Refused as e:
                flow.response = call.answers_as.error_response(
                    "invalid_request", str(e), param=e.param, code=e.code,
                    request_id=call.request_id)
                return False
        if tagged.query is not None:
            path, _, query = flow.request.path.partition("?")
            flow.request.path = f"{path}?{tagged.query(query, tag)}"
        return True

    def response(self, flow: http.HTTPFlow):
        call: Call | None = flow.metadata.get(CALL)
        tagged = call.endpoint.tagged if call is not None and call.upstream else None
        if tagged is None or tagged.answer is None or call.streamed or flow.response is None:
            return None
        content = fields.body(flow.response)
        if not content:
            return None
        if len(content) > LARGE:  # a long list: parsed off the loop
            return self._untag_aside(flow, tagged, content)
        out = tagged.answer(content)
        if out is not None:
            fields.set_body(flow.response, out)
        return None

    @staticmethod
    async def _untag_aside(flow: http.HTTPFlow, tagged, content: bytes) -> None:
        out = await asyncio.to_thread(tagged.answer, content)
        if out is not None:
            fields.set_body(flow.response, out)

    async def _check(self, flow: http.HTTPFlow, call: Call, ids: list[str]) -> None:
        for object_id in ids:
            if await self.owners.owner(object_id) != call.customer.user_id:
                # Another customer's, or none's: the same answer, so ids cannot be probed.
                kind = ("conversation" if object_id.startswith("conv") else
                        "container" if object_id.startswith("cntr") else
                        "chat completion" if call.endpoint.name.startswith("chat.") else
                        "response")
                shown = object_id.encode("ascii", "backslashreplace").decode()[:100]
                flow.response = call.answers_as.error_response(
                    "not_found", f"No {kind} found with id '{shown}'.",
                    code=None, request_id=call.request_id)
                return
