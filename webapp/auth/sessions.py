"""Server-side login sessions.

The cookie session holds only a random token; the database holds its hash. Logging
out, withdrawing or an idle or absolute timeout deletes the row, so a copy of the
cookie taken earlier no longer logs anyone in.
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import LoginManager
from sqlalchemy import bindparam, delete, select

from ..audit import record_event
from ..crypto import digest
from ..database import unit_of_work
from ..extensions import db
from ..htmx import is_self_refresh
from ..models import LoginSession, User, utcnow

# Refresh last_seen_at at most this often, so that browsing does not write on every request.
_TOUCH_INTERVAL = dt.timedelta(minutes=1)


def log_in(user: User, *, language: str) -> str:
    """Open a login session for *user* who has just proved who they are; return its token.

    Until the language switch is used, the account speaks the *language* it first logged
    in with: mails sent later by commands (reminders, notifications) follow it.
    """
    with unit_of_work():
        token = start_login_session(user)
        user.last_login_at = utcnow()
        if user.locale is None:
            user.locale = language
        record_event("login", contract_id=user.contract_id, actor_email=user.email)
    return token


def log_out(user: User) -> None:
    """End the login session *user* was loaded through (the cookie is dead from now on)."""
    with unit_of_work():
        end_login_session(user.session_token)
        record_event("logout", contract_id=user.contract_id)


def start_login_session(user: User) -> str:
    """Open a login session for *user* in the current transaction and return its token."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            user_id=user.id,
            token_hash=digest(token),
            ip=(request.remote_addr or "")[:45],
            user_agent=request.user_agent.string[:300],
        )
    )
    user.session_token = token
    return token


def end_login_session(token: str | None) -> None:
    """Delete the login session named by *token*, if it still exists."""
    if token:
        db.session.execute(delete(LoginSession).where(LoginSession.token_hash == digest(token)))


# Run on every request: built once, so that each request only binds the token's digest
# (building and hashing the statement again cost more than running it).
_SESSION_AND_USER = (
    select(LoginSession, User)
    .join(User, LoginSession.user_id == User.id)
    .where(LoginSession.token_hash == bindparam("token_hash"))
)


def load_session_user(token: str) -> User | None:
    """Return the user whose live login session *token* names, or None."""
    if not token or len(token) > 100:
        return None
    row = db.session.execute(_SESSION_AND_USER, {"token_hash": digest(token)}).first()
    if row is None:
        return None
    login_session, user = row
    now = utcnow()
    idle = dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    longest = dt.timedelta(hours=current_app.config["SESSION_MAX_HOURS"])
    if now - login_session.last_seen_at > idle or now - login_session.created_at > longest:
        with unit_of_work():
            db.session.delete(login_session)
        return None
    if now - login_session.last_seen_at > _TOUCH_INTERVAL and not is_self_refresh():
        with unit_of_work():
            login_session.last_seen_at = now
    user.session_token = token
    user.login_session_id = login_session.id
    return user


def init_login_manager(login_manager: LoginManager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _("ログインしてください。")
    login_manager.login_message_category = "info"
    # Sessions are tracked server-side; Flask-Login's own checks would only log people
    # out when their address changes.
    login_manager.session_protection = None
    login_manager.user_loader(load_session_user)
