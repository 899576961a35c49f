"""Re-authentication before a sensitive step: 退会, a new login e-mail, a new password.

A live session is not enough for a step that cannot be undone or that hands the account
to someone else: the password must have been given in this login within the last
REAUTH_MINUTES (5 by default). The login itself gives it; so does each right answer here.
The time is kept on the server, on the login session (LoginSession.authenticated_at).

One convention for every such form: a 「現在のパスワード」 field named ``current_password``,
shown while the password is due (``password_due()``), checked by ``reauthenticated()``.
A right answer renews the window; a wrong one changes nothing, is written to 操作履歴
like a failed login, and counts against the screen's limit: guard the view with
``sensitive_step`` (limits.password_guesses_limited).

Another proof of identity (a second factor) answers by calling ``renew_authentication()``
once it has been checked; a screen of its own settings is guarded the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from flask_login import current_user
from wtforms import Field, PasswordField
from wtforms.validators import Length, Optional

from .. import clock
from ..access import signed_in_user
from ..database import unit_of_work
from ..extensions import db
from ..i18n import lazy as _l
from ..limits import password_guesses_limited, wrong_password
from ..models import LoginSession, User
from ..passwords import burn_verification_time, verify_password
from ..services.credentials import record_attempt_on
from ..services.refusals import WrongPassword

# The field every sensitive step's form carries, and what it says when left empty.
PASSWORD_FIELD = "current_password"
PASSWORD_NEEDED = _l("続けるには、現在のパスワードを入力してください。")

# What a wrong answer is called in 操作履歴 (audit.ACTION_LABELS).
REFUSED_ACTION = "reauth.failed"


def window() -> dt.timedelta:
    """How long a given password stands for the steps that ask for it."""
    return dt.timedelta(minutes=current_app.config["REAUTH_MINUTES"])


def _login_session() -> LoginSession | None:
    """The login session the current user was loaded through (already read this request)."""
    session_id = getattr(current_user, "login_session_id", None)
    if not current_user.is_authenticated or session_id is None:
        return None
    return db.session.get(LoginSession, session_id)


def authenticated_at(login_session: LoginSession) -> dt.datetime:
    """When the password was last given in *login_session* (a row older than the column:
    when it began)."""
    return login_session.authenticated_at or login_session.created_at


def recently_authenticated() -> bool:
    """Whether the current user gave their password (or another proof) in this login
    within the window."""
    login_session = _login_session()
    if login_session is None:
        return False
    return clock.utcnow() - authenticated_at(login_session) < window()


def password_due() -> bool:
    """Whether a sensitive step asks for the password now (for the templates)."""
    return not recently_authenticated()


def renew_authentication() -> None:
    """The current user has just proved who they are again: the window starts anew."""
    login_session = _login_session()
    if login_session is not None:
        with unit_of_work():
            login_session.authenticated_at = clock.utcnow()


def refuse_wrong_password(user: User) -> None:
    """A wrong current password: counted by the screen's limit and written to 操作履歴."""
    wrong_password()
    record_attempt_on(user, REFUSED_ACTION)


def check_password(user: User, password: str) -> bool:
    """Whether *password* is *user*'s: a right one renews the window, a wrong one is refused
    (refuse_wrong_password)."""
    if not user.password_hash:
        burn_verification_time(password)
        right = False
    else:
        right = verify_password(user.password_hash, password)
    if right:
        renew_authentication()
    else:
        refuse_wrong_password(user)
    return right


def reauthenticated(field: Field, *, always: bool = False, needed: str | None = None) -> bool:
    """Whether the step whose form carries *field* (「現在のパスワード」) may go ahead.

    A password typed is always checked, even when none was due. Left empty, it is due
    outside the window, or *always* (a new password needs the current one, ASVS V2.1.6);
    the message next to the field says so (*needed*, or PASSWORD_NEEDED).
    """
    user = signed_in_user()
    given = field.data or ""
    if given:
        if check_password(user, given):
            return True
        field.errors = [WrongPassword().message]
        return False
    if not always and recently_authenticated():
        return True
    field.errors = [needed or str(PASSWORD_NEEDED)]
    return False


def sensitive_step(view: Any) -> Any:
    """Guard a view that asks for the password again: wrong answers are limited per account
    and per client, as for logins (limits.password_guesses_limited)."""
    return password_guesses_limited(view)


def current_password_field(field_id: str | None = None) -> PasswordField:
    """The 「現在のパスワード」 field of a sensitive step's form (checked by reauthenticated).

    *field_id* keeps it apart from another such field on the same page; the name stays.
    """
    return PasswordField(
        _l("現在のパスワード"),
        [Optional(), Length(max=128, message=_l("パスワードは128文字以内で入力してください。"))],
        id=field_id,
    )
