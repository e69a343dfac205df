"""The provider keys as the operator sees them (the Upstreams page, `python -m admin upstreams`):
each key's name, fingerprint, state and last hour, from the gateway's live pool when the page
is served by it, else from the record; and a disabled key put back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from peewee import fn

from models import keyring
from models.base import write_transaction
from models.upstreams import DISABLING, ENABLED, UpstreamEvent, UpstreamMinute

HOUR = timedelta(hours=1)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def recorded_state(key_id: str, now: datetime) -> tuple[str, datetime | None, str | None]:
    """(state, cooling until, why disabled) from the record's events for one key."""
    E = UpstreamEvent
    last = (E.select().where(E.key_id == key_id, E.kind.in_((*DISABLING, ENABLED)))
            .order_by(E.id.desc()).first())
    if last is not None and last.kind in DISABLING:
        return "disabled", None, last.kind
    until = (E.select(fn.MAX(E.until)).where(E.key_id == key_id, E.kind == "rate_limited",
                                             E.id > (last.id if last else 0)).scalar())
    if until is not None and until > now:
        return "cooling", until, None
    return "serving", None, None


def key_rows(env, live=None, now: datetime | None = None) -> list[dict]:
    """Every configured key, with its state and its last hour. `live(key_id)`: the running
    gateway's (state, cooling until, why disabled), else the record's."""
    now = now or _now()
    specs = [s for keys in keyring.read(env).values() for s in keys]
    M = UpstreamMinute
    hour = {r.key_id: r for r in M.select(
        M.key_id, fn.SUM(M.calls).alias("calls"), fn.SUM(M.rate_limited).alias("limited"),
        fn.SUM(M.errors).alias("errors"), fn.SUM(M.latency_ms).alias("latency")).where(
        M.minute >= now - HOUR, M.key_id.in_([s.id for s in specs])).group_by(M.key_id)}
    totals: dict[str, int] = {}
    for s in specs:
        totals[s.provider] = totals.get(s.provider, 0) + int(
            getattr(hour.get(s.id), "calls", 0) or 0)
    rows = []
    for s in specs:
        state, until, why = (live(s.id) if live else None) or recorded_state(s.id, now)
        h = hour.get(s.id)
        calls = int(h.calls or 0) if h else 0
        rows.append({
            "provider": s.provider, "name": s.name, "fingerprint": s.fingerprint,
            "weight": s.weight, "models": list(s.models), "state": state,
            "cooling_until": until.isoformat(timespec="seconds") + "Z" if until else None,
            "disabled": why, "calls": calls,
            "share": round(100 * calls / totals[s.provider], 1) if totals[s.provider] else 0.0,
            "rate_limited": int(h.limited or 0) if h else 0,
            "errors": int(h.errors or 0) if h else 0,
            "latency_ms": round(int(h.latency or 0) / calls) if calls else None,
        })
    return rows


def find(env, name: str) -> keyring.KeySpec | None:
    """A key by name (`provider:name` where two providers share one)."""
    provider, _, bare = name.rpartition(":")
    found = [s for keys in keyring.read(env).values() for s in keys
             if s.name == bare and provider in ("", s.provider)]
    return found[0] if len(found) == 1 else None


def enable(spec: keyring.KeySpec) -> None:
    """Put a key back: recorded, so every gateway process takes it back within seconds."""
    with write_transaction():
        UpstreamEvent.create(provider=spec.provider, key_id=spec.id, key_name=spec.name,
                             fingerprint=spec.fingerprint, kind=ENABLED)
