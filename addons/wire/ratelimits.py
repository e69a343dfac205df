"""The providers' own rate-limit signals, read: how long to wait (retry-after, the reset
headers, Gemini's RetryInfo) and how much room a key has left (the remaining headers)."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime

# Go-style durations as OpenAI writes its resets: "12ms", "1s", "6m0s", "1h2m3.5s".
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def go_duration(text: str) -> float | None:
    """Seconds in a Go duration string, or None if it is not one."""
    text = text.strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT[u] for n, u in parts)


def _seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def retry_after(headers, now: float) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    if (ms := headers.get("retry-after-ms")) and (s := _seconds(ms)) is not None:
        return max(0.0, s / 1000)
    value = headers.get("retry-after")
    if not value:
        return None
    if (s := _seconds(value)) is not None:
        return max(0.0, s)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


def _rfc3339(value: str, now: float) -> float | None:
    try:
        return max(0.0, datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() - now)
    except ValueError:
        return None


def _limits(headers):
    """(kind, limit, remaining, reset text) for each limit the answer reports: Anthropic's
    `anthropic-ratelimit-<kind>-*` and OpenAI's `x-ratelimit-*-<kind>`. `headers`: a
    mapping, or raw (name, value) byte fields."""
    seen: dict[str, dict[str, str]] = {}
    pairs = headers.items() if hasattr(headers, "items") else (
        (k.decode("latin-1"), v.decode("latin-1")) for k, v in headers)
    for name, value in pairs:
        name = name.lower()
        if name.startswith("anthropic-ratelimit-"):
            kind, _, part = name[len("anthropic-ratelimit-"):].rpartition("-")
        elif name.startswith("x-ratelimit-"):
            part, _, kind = name[len("x-ratelimit-"):].partition("-")
        else:
            continue
        if kind and part in ("limit", "remaining", "reset"):
            seen.setdefault(kind, {})[part] = value
    for kind, parts in seen.items():
        try:
            limit = int(parts["limit"]) if "limit" in parts else None
            remaining = int(parts["remaining"]) if "remaining" in parts else None
        except ValueError:
            continue
        yield kind, limit, remaining, parts.get("reset")


def _reset(text: str | None, now: float) -> float | None:
    if not text:
        return None
    return go_duration(text) if not text[:4].isdigit() else _rfc3339(text, now)


def reset_after(headers, now: float) -> float | None:
    """Seconds until the exhausted limit resets (the latest of those at zero; else the latest
    of all), from the reset headers."""
    exhausted, every = [], []
    for _, _, remaining, reset in _limits(headers):
        s = _reset(reset, now)
        if s is None:
            continue
        every.append(s)
        if remaining == 0:
            exhausted.append(s)
    return max(exhausted or every) if (exhausted or every) else None


def room(headers) -> float | None:
    """The smallest share left of any limit the answer reports (0.0 to 1.0), or None."""
    shares = [remaining / limit for _, limit, remaining, _ in _limits(headers)
              if limit and remaining is not None]
    return max(0.0, min(1.0, min(shares))) if shares else None


def retry_delay(error: dict) -> float | None:
    """Gemini's wait, in its error body: `google.rpc.RetryInfo` `retryDelay` ("37s")."""
    for d in error.get("details") or ():
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("RetryInfo"):
            delay = d.get("retryDelay")
            if isinstance(delay, str) and delay.endswith("s"):
                return _seconds(delay[:-1])
    return None
