"""The calls in flight upstream, and whether the gateway is draining: one registry that the
send step fills, metering empties, and the router, the timeouts and the graceful stop read."""

from __future__ import annotations

from collections.abc import Iterator

from mitmproxy import http

from addons.call import Call


class InFlight:
    __slots__ = ("_calls", "draining")

    def __init__(self) -> None:
        self._calls: dict[int, tuple[http.HTTPFlow, Call]] = {}
        self.draining = False  # stopping: new API calls are refused, open ones finish

    def add(self, flow: http.HTTPFlow, call: Call) -> None:
        self._calls[id(call)] = (flow, call)

    def remove(self, call: Call) -> bool:
        """Take a call out once it is settled; False when it was not (or no longer) in flight,
        so a call is settled once however many hooks end it."""
        return self._calls.pop(id(call), None) is not None

    def __contains__(self, call: Call) -> bool:
        return id(call) in self._calls

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[tuple[http.HTTPFlow, Call]]:
        """A snapshot: the caller may settle calls while iterating."""
        return iter(list(self._calls.values()))
