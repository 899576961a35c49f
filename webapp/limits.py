"""Rate limits that count failures only: whoever gets it right is never slowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.wrappers import Response

from .extensions import limiter


def failures_limited(
    limit: str, *, failed: Callable[[Response], bool], key: Callable[[], str] | None = None
) -> Callable[[Any], Any]:
    """Limit the POSTs to a view to *limit*, counting only those that *failed* says failed.

    *key* names what is counted (an account, a contract); the client's address by default.
    """
    return limiter.limit(
        limit, key_func=key or get_remote_address, methods=["POST"], deduct_when=failed
    )


def _wrong_password(response: Response) -> bool:
    return bool(g.get("wrong_password"))


def wrong_password() -> None:
    """Count this request against password_guesses_limited: the current password was wrong."""
    g.wrong_password = True


def password_guesses_limited(view: Any) -> Any:
    """Limit wrong current passwords on a screen that asks for it before a change.

    A stolen session must not become a way to guess the account's password: a handful of
    wrong answers per account, and per client, in 15 minutes, as for logins. The counts
    are shared by every screen that asks (退会, a new e-mail, a new password): moving to
    another screen does not start them anew.
    """
    by_account = limiter.shared_limit(
        "5 per 15 minutes",
        scope="current-password-account",
        key_func=lambda: f"current-password:{current_user.get_id()}",
        methods=["POST"],
        deduct_when=_wrong_password,
    )
    by_client = limiter.shared_limit(
        "30 per 15 minutes",
        scope="current-password-client",
        key_func=get_remote_address,
        methods=["POST"],
        deduct_when=_wrong_password,
    )
    return by_account(by_client(view))
