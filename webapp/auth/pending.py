"""A login half done: the password was right, the second factor is still to come.

Nothing of it is a login session: no page opens until the second step passes. It lives in
this browser's cookie session only, encrypted with the field cipher (which dates it), for
PENDING_MINUTES, and names the browser it began in; a password changed meanwhile ends it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request, session

from ..crypto import digest
from ..extensions import db
from ..models import User

PENDING_MINUTES = 5
_KEY = "second_factor"


@dataclass
class PendingLogin:
    user: User
    remember_email: bool
    next_url: str | None


def _browser() -> str:
    return digest(request.user_agent.string)[:16]


def _password_mark(user: User) -> str:
    return digest(user.password_hash or "")[:16]


def begin_pending_login(user: User, *, remember_email: bool, next_url: str | None) -> None:
    """Remember in this browser that *user* gave the right password, for a few minutes."""
    session.clear()
    payload = {
        "user": user.id,
        "remember": remember_email,
        "next": next_url,
        "browser": _browser(),
        "password": _password_mark(user),
    }
    session[_KEY] = current_app.extensions["field_cipher"].encrypt(json.dumps(payload))


def _held() -> dict[str, Any] | None:
    """The cookie's half-done login, decrypted once per request; None if absent or stale."""
    if "pending_login" not in g:
        token = session.get(_KEY)
        held = (
            current_app.extensions["field_cipher"].decrypt_fresh(token, PENDING_MINUTES * 60)
            if isinstance(token, str)
            else None
        )
        try:
            payload = json.loads(held) if held else None
        except ValueError:
            payload = None
        g.pending_login = payload if isinstance(payload, dict) else None
    held_payload: dict[str, Any] | None = g.pending_login
    return held_payload


def pending_login() -> PendingLogin | None:
    """The half-done login of this browser, if it is still fresh and still the same account."""
    payload = _held()
    if payload is None or payload.get("browser") != _browser():
        return None
    user = db.session.get(User, payload.get("user"))
    if user is None or payload.get("password") != _password_mark(user):
        return None
    return PendingLogin(user, bool(payload.get("remember")), payload.get("next"))


def pending_user_id() -> str:
    """Names the account of the half-done login for the rate limits, without a query."""
    payload = _held()
    return str(payload.get("user", "none")) if payload else "none"


def end_pending_login() -> None:
    session.pop(_KEY, None)
