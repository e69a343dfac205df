"""The mails the gateway sends a customer about their plan, payments and usage, their words,
and the rules that none goes to a customer whose alerts are off and that a monthly one goes
once (by whichever process gets there first)."""

from __future__ import annotations

from peewee import IntegrityError

from models import Notice, Subscription, User
from models.base import write_transaction

SUBJECTS = {
    "payment_failed": "Your payment failed",
    "downgraded": "Your plan was changed to {detail}",
    "plan_changed": "Your plan is now {detail}",
    "usage_80": "You have used 80% of this month's tokens",
    "usage_100": "You have used all of this month's tokens",
    "credit_added": "${detail} of credit added",
    "credit_low": "Your credit is running low",
    "topup_failed": "Your automatic top-up failed",
}

TEXTS = {
    "payment_failed": "We could not charge your card for your subscription. Update your card "
                      "on the Plan & billing page; if the invoice stays unpaid your account "
                      "moves to the free plan at the end of the grace period.",
    "downgraded": "Your account is now on the {detail} plan. Your API keys keep working "
                  "within its limits. Paying the open invoice or choosing a plan on the Plan "
                  "& billing page restores a paid plan.",
    "plan_changed": "Your account is now on the {detail} plan; its limits apply from now on.",
    "usage_80": "Your account has used {detail}, 80% of this month's quota. "
                "Requests are refused once the quota is used up; a larger plan raises it at "
                "once.",
    "usage_100": "Your account has used {detail}, its whole quota. "
                 "Requests that need tokens are refused until the month ends or you choose a "
                 "larger plan.",
    "credit_added": "${detail} of prepaid credit was added to your account. Calls past your "
                    "plan's allowance are paid from it at your plan's prices, if you chose to "
                    "spend credit on the Plan & billing page.",
    "credit_low": "Your prepaid credit balance is ${detail}. Calls that need credit are "
                  "refused once it runs out; add credit on the Plan & billing page.",
    "topup_failed": "We could not charge your card for the automatic top-up ({detail}). Your "
                    "balance is unchanged; update your card or add credit on the Plan & "
                    "billing page.",
}


def wanted(user: User) -> bool:
    sub = Subscription.get_or_none(Subscription.user == user)
    return sub is None or sub.alerts


def send(mailer, user: User, kind: str, detail=None) -> None:
    if not wanted(user):
        return
    mailer.send(user.email, SUBJECTS[kind].format(detail=detail),
                TEXTS[kind].format(detail=detail))


def once(mailer, user: User, kind: str, period: str, detail=None) -> bool:
    """Send unless sent for this period already (by this or any other process)."""
    try:
        with write_transaction():
            Notice.create(user=user, kind=kind, period=period)
    except IntegrityError:
        return False
    send(mailer, user, kind, detail)
    return True


def mark(user: User, kind: str, period: str) -> None:
    """Note a monthly notice as done without mailing it (a lower level passed over)."""
    Notice.insert(user=user, kind=kind, period=period).on_conflict_ignore().execute()
