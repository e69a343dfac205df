"""Each provider's keys and their state: which key a call goes out with (spread by weight,
keys with room preferred), and which are cooling until the provider's reset or disabled until
the operator acts. The hot path reads only this process's memory; a change is told to the
listeners (metrics, the record, the fleet over Redis, the operator's mail) and arrives from the
fleet through `apply`."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass

from models.keyring import KeySpec

log = logging.getLogger(__name__)

ROOMY = 0.2  # a key with less than this share of a limit left is chosen less, in proportion
LEAST = 0.02  # ... but still sometimes: its next answer tells how much room it has again
ROOM_EVERY = 0.25  # seconds: a key's room is read from its answers this often, at most


class Key:
    """One key's live state. `outbound` caches its prepared header edits by provider object."""

    __slots__ = ("spec", "id", "cooling", "disabled", "room", "room_read", "outbound", "totals")

    def __init__(self, spec: KeySpec) -> None:
        self.spec = spec
        self.id = spec.id
        # Cooling, by model (the providers limit each model apart), until a wall-clock time:
        # shared with other processes. Empty while nothing cools (the common case, checked
        # first).
        self.cooling: dict[str | None, float] = {}
        self.disabled: str | None = None  # why it is out: "revoked", "no_credit"
        self.room = 1.0  # the smallest share left of the provider's limits, as last read
        self.room_read = 0.0  # when (monotonic): read again ROOM_EVERY seconds later at most
        self.outbound: dict = {}
        self.totals: dict[str, int] = {}  # attempts by outcome, since start (the metrics)

    @property
    def name(self) -> str:
        return self.spec.name

    def cools(self, model: str | None, now: float) -> bool:
        return bool(self.cooling) and self.cooling.get(model, 0.0) > now

    def cooling_until(self, now: float) -> float:
        """The last cool-down's end, over its models (0.0: none)."""
        return max((t for t in self.cooling.values() if t > now), default=0.0)

    def state(self, now: float) -> str:
        if self.disabled:
            return "disabled"
        return "cooling" if self.cooling_until(now) else "serving"

    def __repr__(self) -> str:  # never the key
        return f"Key({self.spec.provider}:{self.spec.name} …{self.spec.fingerprint})"


@dataclass(frozen=True)
class Change:
    """A key's new state, as told to listeners and the fleet."""

    provider: str
    key_id: str
    kind: str  # a fault kind ("rate_limited", "revoked", ...), or "enabled"
    until: float = 0.0  # cooling until (wall clock)
    status: int = 0
    request_id: str | None = None
    model: str | None = None  # the model it cools for


class Pool:
    def __init__(self, specs: dict[str, list[KeySpec]]) -> None:
        self.keys: dict[str, list[Key]] = {}
        self.listeners: list = []  # fn(key, change), on the event loop
        # The providers without a key, kept current in place: the router reads this set.
        self.unserved: set[str] = set()
        # Per provider, while every key serves with room for every model: (total weight,
        # [(cumulative weight, key)]); dropped at any change of a key's state.
        self._whole: dict[str, tuple[float, list]] = {}
        self.load(specs)

    def load(self, specs: dict[str, list[KeySpec]]) -> None:
        """The keys as now configured; a key kept keeps its state (a reload loses nothing)."""
        old = {k.id: k for keys in self.keys.values() for k in keys}
        keys = {}
        for provider, listed in specs.items():
            keys[provider] = []
            for spec in listed:
                key = old.get(spec.id) or Key(spec)
                key.spec = spec  # its name, weight or models may have changed
                keys[provider].append(key)
        self.keys = keys
        self._whole.clear()
        unkeyed = {p for p, ks in keys.items() if not ks}
        self.unserved.difference_update(self.unserved - unkeyed)
        self.unserved.update(unkeyed)

    def by_id(self, key_id: str) -> Key | None:
        return next((k for keys in self.keys.values() for k in keys if k.id == key_id), None)

    def choose(self, provider: str, model: str | None, tried=()) -> Key | None:
        """A serving key for the model, by weight (less when near its limit); None if none."""
        keys = self.keys.get(provider) or ()
        if len(keys) == 1:  # the common case, quickly
            k = keys[0]
            if (k.disabled or (k.cooling and k.cools(model, time.time())) or k in tried
                    or (k.spec.models and not k.spec.serves(model))):
                return None
            return k
        whole = self._whole.get(provider) if not tried else None
        if whole is not None:  # every key serving, roomy, for every model: by weight alone
            pick = random.random() * whole[0]
            for bound, k in whole[1]:
                if pick < bound:
                    return k
            return whole[1][-1][1]
        now = time.time()
        total, bounds = 0.0, []
        for k in keys:
            if k.disabled or k.cools(model, now) or k in tried or not k.spec.serves(model):
                continue
            total += k.spec.weight * (1.0 if k.room >= ROOMY else max(k.room / ROOMY, LEAST))
            bounds.append((total, k))
        if not bounds:
            return None
        if (not tried and len(bounds) == len(keys)
                and all(k.room >= ROOMY and not k.spec.models and not k.cooling_until(now)
                        for k in keys)):
            self._whole[provider] = (total, bounds)  # until a key's state changes
        pick = random.random() * total
        for bound, k in bounds:
            if pick < bound:
                return k
        return bounds[-1][1]

    def set_room(self, key: Key, room: float) -> None:
        """The provider's latest word on a key's room; a key short of it is chosen less."""
        if (room < ROOMY) != (key.room < ROOMY):
            self._whole.pop(key.spec.provider, None)
        key.room = room

    def soonest(self, provider: str, model: str | None) -> float | None:
        """Seconds until the first cooling key for the model serves again; None when no key
        for it is cooling (all disabled, or none serves the model)."""
        now = time.time()
        ends = [k.cooling[model] for k in self.keys.get(provider) or ()
                if not k.disabled and k.spec.serves(model) and k.cools(model, now)]
        return max(0.0, min(ends) - now) if ends else None

    def configured_for(self, provider: str, model: str | None) -> bool:
        """Whether any key is configured for the model, in service or not."""
        return any(k.spec.serves(model) for k in self.keys.get(provider) or ())

    def others(self, key: Key, model: str | None) -> bool:
        """Whether another key may serve the model (cooling or not): only then is there
        something to step to, and a key is rested (one key alone passes the 429 on)."""
        return any(k is not key and not k.disabled and k.spec.serves(model)
                   for k in self.keys.get(key.spec.provider) or ())

    def cool(self, key: Key, model: str | None, seconds: float, status: int = 0,
             request_id: str | None = None) -> None:
        now = time.time()
        until = now + seconds
        if until <= key.cooling.get(model, 0.0):
            return  # already cooling as long: nothing new to tell
        key.cooling = {m: t for m, t in key.cooling.items() if t > now}  # the past dropped
        key.cooling[model] = until
        self._whole.pop(key.spec.provider, None)
        self._tell(key, Change(key.spec.provider, key.id, "rate_limited", until, status,
                               request_id, model))

    def disable(self, key: Key, reason: str, status: int, request_id: str | None) -> None:
        if key.disabled:
            return
        key.disabled = reason
        self._whole.pop(key.spec.provider, None)
        self._tell(key, Change(key.spec.provider, key.id, reason, 0.0, status, request_id))

    def enable(self, key: Key) -> None:
        key.disabled, key.cooling, key.room = None, {}, 1.0
        self._whole.pop(key.spec.provider, None)
        self._tell(key, Change(key.spec.provider, key.id, "enabled"))

    def apply(self, change: Change) -> None:
        """A change made by another process (over Redis) or by the operator (the record)."""
        key = self.by_id(change.key_id)
        if key is None:
            return
        self._whole.pop(key.spec.provider, None)
        if change.kind == "enabled":
            key.disabled, key.cooling = None, {}
        elif change.kind == "rate_limited" and change.until > time.time():
            key.cooling[change.model] = max(key.cooling.get(change.model, 0.0), change.until)
        elif change.kind in ("revoked", "no_credit"):
            key.disabled = change.kind

    def _tell(self, key: Key, change: Change) -> None:
        for fn in self.listeners:
            try:
                fn(key, change)
            except Exception:
                log.exception("upstream key listener %s failed", fn)
