"""Who is signed in and where they work: the person (their own sign-in), the account they
work in now (their own, or one they were invited into and switched to), and their role there.
Pages act on the account; passwords and second factors are the person's."""

from __future__ import annotations

import functools

from flask import abort, g, session
from flask_login import current_user, login_required

from models import User
from models.members import Membership

ACCOUNT = "account"  # the session's current account id
# What each role may open (models/members.py says what each role is for).
KEY_ROLES = ("owner", "admin", "member")  # billing people do not handle keys
MONEY_ROLES = ("owner", "billing")  # who pays: plans, cards, credit
MEMBER_ROLES = ("owner", "admin")  # who invites and removes members
IN_ACCOUNT = ("owner", "admin", "member", "billing")  # any member: usage, prices
NO_ROLE = "none"  # a person with no account of their own, removed from every other


def person() -> User:
    return current_user.user


def _resolve() -> tuple[User, str]:
    me_ = person()
    wanted = session.get(ACCOUNT)
    if wanted is not None and wanted != me_.id:
        found = (Membership.select(Membership, User)
                 .join(User, on=(Membership.account == User.id))
                 .where(Membership.account == wanted, Membership.member == me_).first())
        if found is not None:
            return found.account, found.role
        session.pop(ACCOUNT, None)  # removed from it since: back to their own
    if me_.member_only:  # no account of their own: the first they belong to
        found = (Membership.select(Membership, User)
                 .join(User, on=(Membership.account == User.id))
                 .where(Membership.member == me_).order_by(Membership.id).first())
        if found is not None:
            return found.account, found.role
        return me_, NO_ROLE  # in no account now: nothing to work in
    return me_, "owner"


def me() -> User:
    """The account being worked in (the customer: plan, keys, billing, usage)."""
    if "account" not in g:
        g.account, g.role = _resolve()
    return g.account


def role() -> str:
    me()
    return g.role


def switch_to(account_id: int) -> bool:
    """Work in another of the person's accounts; False if they are not a member of it."""
    if account_id != person().id and not Membership.select().where(
            Membership.account == account_id, Membership.member == person()).exists():
        return False
    session[ACCOUNT] = account_id
    g.pop("account", None)
    return True


def roles_required(*allowed: str):
    """A page for some roles only: the others get 403."""

    def wrap(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if role() not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return wrap
