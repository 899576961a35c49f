"""Passwords and e-mail addresses: reset by mail, change with the current password."""

from __future__ import annotations

import logging

from sqlalchemy import delete, func, select

from ..audit import record_event
from ..enums import TokenPurpose
from ..extensions import db
from ..mail import send_mail
from ..models import LoginSession, User
from ..passwords import hash_password, verify_password
from .contracts import email_in_use
from .tokens import external_url, issue_token, use_token

log = logging.getLogger(__name__)


class InvalidLink(Exception):
    """The link is unknown, expired or already used."""


class EmailTaken(Exception):
    """Another account uses the address."""


class WrongPassword(Exception):
    """The current password does not match."""


def end_sessions(user_id: int, *, keep_token_hash: str | None = None) -> None:
    """Log the user out everywhere (except, optionally, the current login)."""
    query = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_token_hash:
        query = query.where(LoginSession.token_hash != keep_token_hash)
    db.session.execute(query)


def request_password_reset(email: str) -> None:
    """Mail a reset link if *email* belongs to an account; do nothing visible otherwise."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or user.password_hash is None:
        return
    token = issue_token(user, TokenPurpose.PASSWORD_RESET)
    record_event("password.reset_requested", contract_id=user.contract_id, actor_email=user.email)
    send_mail(
        user.email,
        "password_reset",
        locale=user.locale,
        url=external_url("auth.reset_password", token=token),
        minutes=30,
    )
    db.session.commit()


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a reset link, once; every session of the account ends."""
    try:
        used = use_token(token, TokenPurpose.PASSWORD_RESET)
        if used is None:
            raise InvalidLink()
        user = db.session.get(User, used.user_id)
        assert user is not None
        user.password_hash = hash_password(new_password)
        end_sessions(user.id)
        record_event("password.reset", contract_id=user.contract_id, actor_email=user.email)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return user


def change_password(user: User, current: str, new_password: str, *, keep_token_hash: str) -> None:
    """Change the password of a logged-in user; their other sessions end."""
    if not user.password_hash or not verify_password(user.password_hash, current):
        raise WrongPassword()
    try:
        user.password_hash = hash_password(new_password)
        end_sessions(user.id, keep_token_hash=keep_token_hash)
        record_event("password.change", contract_id=user.contract_id)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def request_email_change(user: User, new_email: str) -> None:
    """Send a confirmation link to the new address, and tell the old one."""
    new_email = new_email.strip().lower()
    if email_in_use(new_email):
        raise EmailTaken()
    token = issue_token(user, TokenPurpose.EMAIL_CHANGE, new_email=new_email)
    record_event("email.change_requested", contract_id=user.contract_id, detail={"to": new_email})
    send_mail(
        new_email,
        "email_change_confirm",
        locale=user.locale,
        url=external_url("account.confirm_email", token=token),
        old_email=user.email,
    )
    send_mail(user.email, "email_change_notice", locale=user.locale, new_email=new_email)
    db.session.commit()


def confirm_email_change(token: str) -> User:
    """Make the new address the login e-mail, once, if nobody took it meanwhile."""
    try:
        used = use_token(token, TokenPurpose.EMAIL_CHANGE)
        if used is None or used.new_email is None:
            raise InvalidLink()
        user = db.session.get(User, used.user_id)
        assert user is not None
        if email_in_use(used.new_email):
            raise EmailTaken()
        old = user.email
        user.email = used.new_email
        record_event(
            "email.change",
            contract_id=user.contract_id,
            actor_email=user.email,
            detail={"from": old},
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return user
