"""Password hashing with argon2."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import gettext as _

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return True when *password* matches; never raises for a wrong one."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password anyone has")


def burn_verification_time(password: str) -> None:
    """Spend as long as a real verification, so an unknown e-mail is not told apart by time."""
    verify_password(_dummy_hash(), password)


MIN_LENGTH = 10
MAX_LENGTH = 128
_COMMON = frozenset(
    {
        "password12",
        "password123",
        "1234567890",
        "0123456789",
        "qwertyuiop",
        "1q2w3e4r5t",
        "abcdefghij",
        "iloveyou12",
        "passw0rd12",
    }
)


def password_problem(password: str, email: str = "") -> str | None:
    """Return why *password* is not acceptable (a message for the contractor), or None."""
    if len(password) < MIN_LENGTH:
        return _("パスワードは%(count)s文字以上で入力してください。", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("パスワードは%(count)s文字以内で入力してください。", count=MAX_LENGTH)
    if len(set(password)) < 4 or password.lower() in _COMMON:
        return _("推測されやすいパスワードは使えません。")
    local = email.partition("@")[0].lower()
    if len(local) >= 4 and local in password.lower():
        return _("Eメールアドレスを含むパスワードは使えません。")
    return None
