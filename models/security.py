"""Secrets at rest: API keys (random, stored as a hash) and passwords (argon2)."""

import hashlib
import os
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

KEY_PREFIX = "gw-"
# "gw-" plus 8 characters identifies a key in lists and logs without revealing it.
DISPLAY_LEN = len(KEY_PREFIX) + 8

_hasher = PasswordHasher()


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is as strong as a slow one here.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def display_prefix(key: str) -> str:
    return key[:DISPLAY_LEN]


MIN_PASSWORD = 10


def password_problem(password: str) -> str | None:
    """Why a new password is refused (the UI and the command line alike), or None."""
    if len(password.strip()) < MIN_PASSWORD:
        return f"the password must have at least {MIN_PASSWORD} characters besides spaces"
    if len(password) > 1024:
        return "the password must have at most 1,024 characters"
    return None


# argon2 takes 64 MiB and a core for ~0.1 s per hash: at most one per core at a time, so a
# burst of sign-ins queues behind itself instead of taking the memory and every core.
_HASHING = threading.BoundedSemaphore(os.cpu_count() or 1)


def hash_password(password: str) -> str:
    with _HASHING:
        return _hasher.hash(password)


# Verified when no account matches, so that an unknown email takes as long as a known one.
_NOBODY = _hasher.hash(secrets.token_urlsafe(16))


def verify_password(stored: str | None, password: str) -> bool:
    try:
        with _HASHING:
            return _hasher.verify(stored or _NOBODY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    return secrets.token_urlsafe(12)
