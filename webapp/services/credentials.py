"""Passwords and e-mail addresses: log in with them, reset by mail, change them."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from ..audit import record_event
from ..database import unit_of_work
from ..enums import TokenPurpose
from ..extensions import db
from ..mail import Delivery, send_after_commit
from ..models import LoginSession, User
from ..passwords import burn_verification_time, hash_password, needs_rehash, verify_password
from .contracts import email_in_use
from .refusals import EmailTaken, InvalidLink
from .tokens import external_url, issue_token, revoke_links, use_token


def find_user(email: str) -> User | None:
    """Return the account that logs in with *email* (any case), if there is one."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """Return the user with these credentials, taking as long whether or not the e-mail exists.

    A password hashed with older parameters is hashed again while it is at hand.
    """
    user = find_user(email)
    if user is None or user.password_hash is None:
        burn_verification_time(password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        with unit_of_work():
            user.password_hash = hash_password(password)
    return user


def record_refused_login(email: str, action: str) -> None:
    """Write a login that did not happen (a wrong password, a smartphone) to the audit log.

    An attempt on an account goes to its contract's 操作履歴. One on an address nobody
    uses is kept without the address and without a contract: the typed text may be a
    password typed in the wrong field, and no contract may learn of it. Both write one
    row, so the time taken says nothing about whether the address exists.
    """
    user = find_user(email) if email else None
    if user is None:
        with unit_of_work():
            record_event(action, contract_id=None, actor_email="")
    else:
        record_attempt_on(user, action)


def record_attempt_on(user: User, action: str) -> None:
    """Write an attempt on *user*'s account (a wrong password or code) to its 操作履歴."""
    with unit_of_work():
        record_event(
            action,
            contract_id=user.contract_id,
            actor_email=user.email,
            target_type="user",
            target_id=user.id,
        )


def end_sessions(user_id: int, *, keep_token_hash: str | None = None) -> None:
    """Log the user out everywhere (except, optionally, the current login)."""
    query = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_token_hash:
        query = query.where(LoginSession.token_hash != keep_token_hash)
    db.session.execute(query)


def request_password_reset(email: str) -> Delivery | None:
    """Mail a reset link if *email* belongs to an account; do nothing visible otherwise."""
    user = find_user(email)
    if user is None or user.password_hash is None:
        return None
    with unit_of_work():
        token = issue_token(user, TokenPurpose.PASSWORD_RESET)
        record_event(
            "password.reset_requested", contract_id=user.contract_id, actor_email=user.email
        )
        return send_after_commit(
            user.email,
            "password_reset",
            locale=user.locale,
            url=external_url("auth.reset_password", token=token),
            minutes=30,
        )


def set_password_through_link(token: str, purpose: TokenPurpose, password: str) -> User:
    """Spend a mailed link, once, and give its account *password*; InvalidLink if it is dead.

    The account's other links die with it. Part of the caller's unit of work.
    """
    used = use_token(token, purpose)
    user = db.session.get(User, used.user_id) if used else None
    if user is None:
        raise InvalidLink()
    user.password_hash = hash_password(password)
    revoke_links(user)
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a reset link, once; every session of the account ends."""
    with unit_of_work():
        user = set_password_through_link(token, TokenPurpose.PASSWORD_RESET, new_password)
        end_sessions(user.id)
        record_event("password.reset", contract_id=user.contract_id, actor_email=user.email)
    return user


def change_password(user: User, new_password: str, *, keep_token_hash: str) -> None:
    """Change the password of a logged-in user; their other sessions and mailed links end.

    The screen has checked the current password first (auth.reauth.reauthenticated).
    """
    with unit_of_work():
        user.password_hash = hash_password(new_password)
        revoke_links(user)
        end_sessions(user.id, keep_token_hash=keep_token_hash)
        record_event("password.change", contract_id=user.contract_id)


def request_email_change(user: User, new_email: str) -> Delivery:
    """Send a confirmation link to the new address, and tell the old one.

    Returns the confirmation mail: without it the change cannot be completed.
    """
    new_email = new_email.strip().lower()
    with unit_of_work():
        if email_in_use(new_email):
            raise EmailTaken()
        token = issue_token(user, TokenPurpose.EMAIL_CHANGE, new_email=new_email)
        record_event(
            "email.change_requested", contract_id=user.contract_id, detail={"to": new_email}
        )
        confirmation = send_after_commit(
            new_email,
            "email_change_confirm",
            locale=user.locale,
            url=external_url("account.confirm_email", token=token),
            old_email=user.email,
        )
        send_after_commit(
            user.email, "email_change_notice", locale=user.locale, new_email=new_email
        )
    return confirmation


def confirm_email_change(token: str) -> User:
    """Make the new address the login e-mail, once, if nobody took it meanwhile.

    Every other link of the account dies: a reset link mailed to the old address no longer
    sets a password.
    """
    with unit_of_work():
        used = use_token(token, TokenPurpose.EMAIL_CHANGE)
        if used is None or used.new_email is None:
            raise InvalidLink()
        user = db.session.get(User, used.user_id)
        if user is None:
            raise InvalidLink()
        if email_in_use(used.new_email):
            raise EmailTaken()
        old = user.email
        user.email = used.new_email
        revoke_links(user)
        record_event(
            "email.change",
            contract_id=user.contract_id,
            actor_email=user.email,
            detail={"from": old},
        )
    return user
