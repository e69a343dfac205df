"""The people of an account: who is in it and with what role, invitations by mail (a link that
works once, for a week), roles changed, members removed; and switching between the accounts a
person belongs to."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user
from peewee import fn

from models import User, utcnow
from models.base import write_transaction
from models.members import (
    ROLE_TEXT,
    ROLES,
    Invitation,
    Membership,
    accounts_of,
    new_invitation,
    token_hash,
)
from models.security import hash_password, password_problem

from . import accounts
from .auth import Account, mail_base
from .current import MEMBER_ROLES, me, person, role, roles_required, switch_to

bp = Blueprint("members", __name__)


def _members(account: User) -> list[Membership]:
    return list(Membership.select(Membership, User)
                .join(User, on=(Membership.member == User.id))
                .where(Membership.account == account).order_by(Membership.id))


def _owners(account: User) -> int:
    return Membership.select().where(Membership.account == account,
                                     Membership.role == "owner").count()


@bp.route("/members")
@login_required
def index():
    account = me()
    invitations = [i for i in Invitation.select().where(
        Invitation.account == account, Invitation.accepted_at.is_null(),
        Invitation.revoked_at.is_null()).order_by(Invitation.id.desc()) if i.pending]
    return render_template("members/index.html", account=account, members=_members(account),
                           invitations=invitations, roles=ROLES, role_text=ROLE_TEXT,
                           my_role=role(), manage=role() in MEMBER_ROLES)


def _may_grant(new_role: str) -> bool:
    """Owners grant any role; admins any but owner."""
    return new_role in ROLES and (role() == "owner" or new_role != "owner")


@bp.post("/members/invite")
@roles_required(*MEMBER_ROLES)
def invite():
    account, new_role = me(), request.form.get("role", "member")
    try:
        email = accounts.valid_email(request.form.get("email", ""))
    except accounts.Invalid as e:
        flash(f"Not invited: {e}.", "error")
        return redirect(url_for("members.index"))
    if not _may_grant(new_role):
        abort(403)
    if Membership.select().join(User, on=(Membership.member == User.id)).where(
            Membership.account == account, User.email == email).exists():
        flash(f"{email} is a member already.", "error")
        return redirect(url_for("members.index"))
    with write_transaction():
        token, _ = new_invitation(account, email, new_role, person())
    link = f"{mail_base()}{url_for('members.accept', token=token)}"
    current_app.extensions["mailer"].send(
        email, f"{person().email} invites you to their llm-gateway account",
        f"{person().email} invites you to work in the llm-gateway account {account.email} "
        f"as {new_role} ({ROLE_TEXT[new_role]}). Join here:\n\n{link}\n\nThe link works once, "
        "for a week. If you did not expect it, ignore this mail.")
    flash(f"Invitation mailed to {email}.", "info")
    return redirect(url_for("members.index"))


@bp.post("/members/invitations/<int:inv_id>/revoke")
@roles_required(*MEMBER_ROLES)
def revoke_invitation(inv_id: int):
    inv = Invitation.get_or_none(Invitation.id == inv_id, Invitation.account == me())
    if inv is None:
        abort(404)
    Invitation.update(revoked_at=utcnow()).where(Invitation.id == inv.id).execute()
    flash(f"The invitation to {inv.email} no longer works.", "info")
    return redirect(url_for("members.index"))


def _membership(member_id: int) -> Membership:
    found = Membership.get_or_none(Membership.id == member_id, Membership.account == me())
    if found is None:
        abort(404)
    return found


@bp.post("/members/<int:member_id>/role")
@roles_required(*MEMBER_ROLES)
def set_role(member_id: int):
    m, new_role = _membership(member_id), request.form.get("role", "")
    if not _may_grant(new_role) or (m.role == "owner" and role() != "owner"):
        abort(403)
    if m.role == "owner" and new_role != "owner" and _owners(m.account) == 1:
        flash("An account keeps at least one owner: make someone else owner first.", "error")
    else:
        Membership.update(role=new_role).where(Membership.id == m.id).execute()
        flash(f"{m.member.email} is now {new_role}.", "info")
    return redirect(url_for("members.index"))


@bp.post("/members/<int:member_id>/remove")
@login_required
def remove(member_id: int):
    """Owners and admins remove members (admins no owner); anyone may leave. The keys they
    made stay the account's, for its owners to keep or revoke."""
    m = _membership(member_id)
    leaving = m.member_id == person().id
    if not leaving and (role() not in MEMBER_ROLES or (m.role == "owner" and role() != "owner")):
        abort(403)
    if m.role == "owner" and _owners(m.account) == 1:
        flash("An account keeps at least one owner.", "error")
        return redirect(url_for("members.index"))
    Membership.delete().where(Membership.id == m.id).execute()
    flash("You left the account." if leaving else f"{m.member.email} was removed.", "info")
    return redirect(url_for("dashboard.index") if leaving else url_for("members.index"))


@bp.post("/members/switch")
@login_required
def switch():
    if not switch_to(request.form.get("account", type=int) or 0):
        abort(404)
    return redirect(url_for("dashboard.index"))


def _invitation(token: str) -> Invitation | None:
    inv = Invitation.get_or_none(Invitation.token_hash == token_hash(token))
    return inv if inv is not None and inv.pending else None


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept(token: str):
    inv = _invitation(token)
    if inv is None:
        flash("This invitation is invalid, expired or used already: ask for a new one.",
              "error")
        return redirect(url_for("auth.login"))
    invitee = User.get_or_none(fn.LOWER(User.email) == inv.email)
    if current_user.is_authenticated:
        if person().email != inv.email:
            return render_template("members/accept.html", inv=inv, other=person().email), 409
        _join(inv, person())
        return redirect(url_for("dashboard.index"))
    if invitee is not None:  # a person already: they sign in, then come back here
        flash(f"Sign in as {inv.email} to join {inv.account.email}.", "info")
        return redirect(url_for("auth.login", next=url_for("members.accept", token=token)))
    if request.method == "GET":
        return render_template("members/accept.html", inv=inv)
    password = request.form.get("password", "")
    if problem := password_problem(password):
        flash(f"Choose another password: {problem}.", "error")
        return render_template("members/accept.html", inv=inv), 400
    with write_transaction():  # a person with no account of their own, their address proven
        newcomer = User.create(email=inv.email, plan=inv.account.plan,
                               password_hash=hash_password(password), member_only=True,
                               email_verified_at=utcnow())
        _join(inv, newcomer)
    login_user(Account(newcomer))
    switch_to(inv.account_id)
    return redirect(url_for("dashboard.index"))


def _join(inv: Invitation, who: User) -> None:
    with write_transaction():
        taken = Invitation.update(accepted_at=utcnow()).where(
            Invitation.id == inv.id, Invitation.accepted_at.is_null()).execute()
        if taken:
            Membership.get_or_create(account=inv.account, member=who,
                                     defaults={"role": inv.role})
    if current_user.is_authenticated:
        switch_to(inv.account_id)
    flash(f"You joined {inv.account.email} as {inv.role}.", "info")


@bp.app_context_processor
def workspace():
    """The nav's account switcher and the role's links."""
    if not current_user.is_authenticated:
        return {}
    return {"my_accounts": accounts_of(person()), "current_account": me(),
            "my_role": role()}
