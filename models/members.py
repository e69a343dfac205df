"""Accounts with members: the people who work in a customer account, with a role each, and
the invitations that bring them in.

The account is the customer (a `User` row: plan, keys, billing, credit and usage are its); a
person signs in with their own `User` row and may be a member of several accounts. Every
account's first person is its owner, a member of itself. Someone invited who had no account is
`member_only`: a person with no account of their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from peewee import CharField, DateTimeField, ForeignKeyField

from .base import BaseModel
from .tables import User, utcnow

ROLES = ("owner", "admin", "member", "billing")
ROLE_TEXT = {"owner": "everything, the members and billing included",
             "admin": "keys, members and usage",
             "member": "their own keys, and the account's usage",
             "billing": "billing, credit and usage"}
INVITE_DAYS = 7


class Membership(BaseModel):
    account = ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    member = ForeignKeyField(User, backref="accounts_joined", on_delete="CASCADE")
    role = CharField(default="member")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("account", "member"), True), (("member",), False))


class Invitation(BaseModel):
    account = ForeignKeyField(User, backref="invitations", on_delete="CASCADE")
    email = CharField()
    role = CharField(default="member")
    token_hash = CharField(unique=True)  # sha-256 of the link's secret: the link works once
    invited_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    accepted_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    @property
    def pending(self) -> bool:
        return (self.accepted_at is None and self.revoked_at is None
                and self.expires_at > utcnow())


def open_account(user: User) -> None:
    """A new customer's account: its owner is the customer."""
    Membership.get_or_create(account=user, member=user, defaults={"role": "owner"})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_invitation(account: User, email: str, role: str, by: User) -> tuple[str, Invitation]:
    """An invitation and the secret of its link (in clear only here)."""
    token = secrets.token_urlsafe(32)
    inv = Invitation.create(account=account, email=email, role=role, invited_by=by,
                            token_hash=token_hash(token),
                            expires_at=utcnow() + dt.timedelta(days=INVITE_DAYS))
    return token, inv


def accounts_of(person: User) -> list[Membership]:
    """The accounts a person works in, their own first."""
    rows = list(Membership.select(Membership, User).join(
        User, on=(Membership.account == User.id)).where(Membership.member == person))
    return sorted(rows, key=lambda m: (m.account_id != person.id, m.account.email))


MEMBER_TABLES = [Membership, Invitation]
