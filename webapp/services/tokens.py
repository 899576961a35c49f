"""Single-use links sent by mail: issue them, check them, use them once."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select, update

from ..crypto import digest
from ..enums import TokenPurpose
from ..extensions import db
from ..models import User, UserToken, utcnow

LIFETIMES = {
    TokenPurpose.PASSWORD_RESET: dt.timedelta(minutes=30),
    TokenPurpose.INVITATION: dt.timedelta(days=3),
    TokenPurpose.EMAIL_CHANGE: dt.timedelta(hours=24),
}


def issue_token(user: User, purpose: TokenPurpose, *, new_email: str | None = None) -> str:
    """Add a token for *user* to the transaction and return it (it is stored only hashed).

    Earlier unused tokens of the same purpose stop working: only the newest link counts.
    """
    now = utcnow()
    db.session.execute(
        update(UserToken)
        .where(
            UserToken.user_id == user.id,
            UserToken.purpose == purpose,
            UserToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=digest(token),
            new_email=new_email,
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    return token


def revoke_links(user: User) -> None:
    """Every link mailed to *user* that still works stops working, in the current transaction.

    A change of password or of login e-mail calls it: a reset link mailed before must not
    set a password afterwards, nor a link mailed to an address the account has left.
    """
    db.session.execute(
        update(UserToken)
        .where(UserToken.user_id == user.id, UserToken.used_at.is_(None))
        .values(used_at=utcnow()),
        execution_options={"synchronize_session": False},
    )


def find_token(token: str, purpose: TokenPurpose) -> UserToken | None:
    """Return the live (unused, unexpired) token row, or None."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(
        select(UserToken).where(
            UserToken.token_hash == digest(token),
            UserToken.purpose == purpose,
            UserToken.used_at.is_(None),
            UserToken.expires_at > utcnow(),
        )
    )


def use_token(token: str, purpose: TokenPurpose) -> UserToken | None:
    """Mark the token used, in the current transaction; None if it was not live.

    Two requests using one link at once: only one of them gets the row.
    """
    if not token or len(token) > 100:
        return None
    used = db.session.execute(
        update(UserToken)
        .where(
            UserToken.token_hash == digest(token),
            UserToken.purpose == purpose,
            UserToken.used_at.is_(None),
            UserToken.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
        .returning(UserToken.id),
        execution_options={"synchronize_session": False},
    ).first()
    return db.session.get(UserToken, used[0]) if used else None


def external_url(endpoint: str, **values: Any) -> str:
    """Build a link for a mail from PORTAL_BASE_URL, never from the request's Host header."""
    path = url_for(endpoint, _external=False, **values)
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + path
