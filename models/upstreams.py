"""What the operator sees of the provider keys: each key's failed attempts and changes of state
(events), and its calls counted by the minute. A key is named by the operator's name, its
fingerprint (last 4 characters) and a one-way id (a hash): the key itself is never stored."""

from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, IntegerField

from .base import BaseModel
from .tables import utcnow

# Event kinds: the faults (as the providers' descriptions name them) and the operator's acts.
ENABLED = "enabled"  # the operator put a disabled key back
DROPPED = "dropped"  # no answer: the connection failed or closed before the response began
DISABLING = ("revoked", "no_credit")


class UpstreamEvent(BaseModel):
    at = DateTimeField(default=utcnow, index=True)
    provider = CharField()
    key_id = CharField(index=True)
    key_name = CharField()
    fingerprint = CharField()
    kind = CharField()  # rate_limited, revoked, no_credit, transient, dropped, enabled
    status = IntegerField(default=0)  # the provider's HTTP status; 0: no answer
    until = DateTimeField(null=True)  # a cool-down's end
    model = CharField(null=True)  # what the call asked for (a cool-down is per model)
    request_id = CharField(null=True)


class UpstreamMinute(BaseModel):
    """A key's attempts in one minute, summed by every process (upserts add)."""

    key_id = CharField()
    minute = DateTimeField()
    provider = CharField()
    key_name = CharField()
    fingerprint = CharField()
    calls = BigIntegerField(default=0)  # attempts sent with the key
    rate_limited = BigIntegerField(default=0)
    errors = BigIntegerField(default=0)  # any other failed attempt
    latency_ms = BigIntegerField(default=0)  # summed, to the response's head

    class Meta:
        indexes = ((("key_id", "minute"), True), (("minute",), False))


UPSTREAM_TABLES = [UpstreamEvent, UpstreamMinute]
