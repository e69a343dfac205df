"""Sign-in's second factor: TOTP secrets (RFC 6238, what authenticator apps use), the QR code
that carries one to a phone, and codes accepted once each."""

from __future__ import annotations

import hmac
import time

import pyotp
import segno
from markupsafe import Markup

from models import User

ISSUER = "llm-gateway"
DRIFT = 1  # time steps either side of now accepted: a phone's clock a little off


def new_secret() -> str:
    return pyotp.random_base32()


def qr_code(secret: str, email: str) -> Markup:
    """The otpauth:// address an authenticator app scans, as an inline SVG image."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=f"{ISSUER}: {email}")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR code for your '
                              'authenticator app" ', 1))


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step `code` is valid at, within DRIFT steps of now, or None."""
    code = "".join((code or "").split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp, now = pyotp.TOTP(secret), time.time() if now is None else now
    for drift in range(-DRIFT, DRIFT + 1):
        at = now + drift * totp.interval
        if hmac.compare_digest(totp.at(at), code):
            return totp.timecode(at)
    return None


def accept(user: User, code: str) -> bool:
    """Whether `code` is the user's, and not taken before: each step's code signs in once,
    even from two sign-ins racing (the database decides)."""
    step = matching_step(user.totp_secret, code) if user.totp_secret else None
    if step is None:
        return False
    taken = User.update(totp_last_step=step).where(
        User.id == user.id, User.totp_last_step < step).execute()
    return taken == 1
