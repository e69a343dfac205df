"""The mails the gateway sends a customer about their plan and payments, their words, and the
rule that none goes to a customer whose alerts are off."""

from __future__ import annotations

from models import Subscription, User

SUBJECTS = {
    "payment_failed": "Your payment failed",
    "downgraded": "Your plan was changed to {detail}",
    "plan_changed": "Your plan is now {detail}",
}

TEXTS = {
    "payment_failed": "We could not charge your card for your subscription. Update your card "
                      "on the Plan & billing page; if the invoice stays unpaid your account "
                      "moves to the free plan at the end of the grace period.",
    "downgraded": "Your account is now on the {detail} plan. Your API keys keep working "
                  "within its limits. Paying the open invoice or choosing a plan on the Plan "
                  "& billing page restores a paid plan.",
    "plan_changed": "Your account is now on the {detail} plan; its limits apply from now on.",
}


def wanted(user: User) -> bool:
    sub = Subscription.get_or_none(Subscription.user == user)
    return sub is None or sub.alerts


def send(mailer, user: User, kind: str, detail=None) -> None:
    if not wanted(user):
        return
    mailer.send(user.email, SUBJECTS[kind].format(detail=detail),
                TEXTS[kind].format(detail=detail))
