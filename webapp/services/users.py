"""ユーザー管理: general users, invited by mail, limited by the contract's seats."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import delete, exists, func, insert, literal, select

from ..audit import record_event
from ..database import lock_for_update, unit_of_work
from ..enums import Role, TokenPurpose
from ..extensions import db
from ..mail import Delivery, send_after_commit
from ..models import Contract, Device, User, UserDevice
from .contracts import email_in_use
from .credentials import set_password_through_link
from .device_sets import contract_devices, own_devices
from .refusals import ContractGone, EmailTaken, SeatLimitReached, UserGone
from .tokens import external_url, issue_token, revoke_links


class Invitation(NamedTuple):
    user: User
    mail: Delivery


def seats_used(contract_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count(User.id)).where(
                User.contract_id == contract_id, User.role == Role.GENERAL
            )
        )
        or 0
    )


def _invitation_mail(user: User) -> Delivery:
    """Issue the user a fresh invitation link (earlier ones stop working) and mail it."""
    token = issue_token(user, TokenPurpose.INVITATION)
    return send_after_commit(
        user.email, "invitation", url=external_url("auth.accept_invitation", token=token)
    )


def _invite(user: User) -> Delivery:
    record_event(
        "user.invite",
        contract_id=user.contract_id,
        target_type="user",
        target_id=user.id,
        summary=user.email,
    )
    return _invitation_mail(user)


def invite_user(contract: Contract, email: str) -> Invitation:
    """Add a general user and mail them a link to choose their password.

    The contract row is locked first, so that invitations sent at the same moment cannot
    together exceed the seat limit. The mail leaves once the user is saved.
    """
    email = email.strip().lower()
    with unit_of_work():
        if not lock_for_update(db.session, Contract, contract.id):
            raise ContractGone()
        if seats_used(contract.id) >= contract.seat_limit:
            raise SeatLimitReached(contract.seat_limit)
        if email_in_use(email):
            raise EmailTaken()
        user = User(contract_id=contract.id, email=email, password_hash=None, role=Role.GENERAL)
        db.session.add(user)
        db.session.flush()
        mail = _invite(user)
    return Invitation(user, mail)


def resend_invitation(user: User) -> Delivery:
    """Send a fresh invitation link (the earlier one stops working)."""
    with unit_of_work():
        return _invite(user)


def accept_invitation(token: str, password: str) -> User:
    """Set an invited user's password through their link, once."""
    with unit_of_work():
        user = set_password_through_link(token, TokenPurpose.INVITATION, password)
        record_event("user.activate", contract_id=user.contract_id, actor_email=user.email)
    return user


def change_user_email(user: User, new_email: str) -> list[Delivery]:
    """Change a general user's login e-mail; both addresses are told.

    A user who has not yet chosen a password gets a fresh invitation at the new address.
    """
    new_email = new_email.strip().lower()
    if new_email == user.email:
        return []
    with unit_of_work():
        if email_in_use(new_email):
            raise EmailTaken()
        old_email = user.email
        user.email = new_email
        # Links mailed to the old address (a reset, an invitation) die; an invitation is sent
        # anew below.
        revoke_links(user)
        record_event(
            "user.email",
            contract_id=user.contract_id,
            target_type="user",
            target_id=user.id,
            summary=new_email,
            detail={"from": old_email},
        )
        if user.invitation_pending:
            first = _invitation_mail(user)
        else:
            first = send_after_commit(
                new_email, "user_email_changed", locale=user.locale, email=new_email
            )
        notice = send_after_commit(
            old_email, "user_email_changed_old", locale=user.locale, email=new_email
        )
    return [first, notice]


def delete_user(user: User) -> None:
    """Delete a general user; their sessions and links end with them.

    Raises UserGone, changing nothing, when another request deleted them first.
    """
    user_id, contract_id, email = user.id, user.contract_id, user.email
    with unit_of_work():
        deleted = db.session.execute(
            delete(User).where(User.id == user_id, User.role == Role.GENERAL).returning(User.id)
        ).first()
        if deleted is None:
            raise UserGone(email)
        record_event(
            "user.delete",
            contract_id=contract_id,
            target_type="user",
            target_id=user_id,
            summary=email,
        )


def set_device_access(
    user: User, *, all_devices: bool, shown: set[int] | None = None, allowed: set[int] | None = None
) -> None:
    """Choose what a general user sees: every device, or the ticked ones.

    *shown* is the page of devices the contractor was looking at; only those change, so a
    paged list can be saved page by page. Every shown id must be the contract's device
    (404 otherwise, nothing saved).
    """
    with unit_of_work():
        if not lock_for_update(db.session, User, user.id):
            raise UserGone(user.email)
        shown = own_devices(user.contract_id, shown or set())
        user.all_devices = all_devices
        if shown:
            db.session.execute(
                delete(UserDevice).where(
                    UserDevice.user_id == user.id, UserDevice.device_id.in_(shown)
                )
            )
            granted = shown & (allowed or set())
            if granted:
                db.session.execute(
                    insert(UserDevice),
                    [{"user_id": user.id, "device_id": device_id} for device_id in granted],
                )
        record_event(
            "user.devices",
            contract_id=user.contract_id,
            target_type="user",
            target_id=user.id,
            summary=user.email,
            detail={"all": all_devices},
        )


def set_access_to_every_device(user: User, *, allowed: bool) -> int:
    """Tick (or untick) every device of the contract for *user*; return how many devices.

    Set-based: one INSERT … SELECT of the devices not yet ticked, or one DELETE. The user's
    row is locked first, so two such requests at once cannot insert the same rows.
    """
    with unit_of_work():
        if not lock_for_update(db.session, User, user.id):
            raise UserGone(user.email)
        devices = contract_devices(user.contract_id)
        if allowed:
            ticked = exists().where(
                UserDevice.user_id == user.id, UserDevice.device_id == Device.id
            )
            db.session.execute(
                insert(UserDevice).from_select(
                    ["user_id", "device_id"],
                    # FOR KEY SHARE: a device being deleted now is waited for and left
                    # out, not a foreign-key failure once its deletion commits.
                    select(literal(user.id), Device.id)
                    .where(Device.contract_id == user.contract_id, ~ticked)
                    .with_for_update(read=True, key_share=True),
                )
            )
        else:
            db.session.execute(delete(UserDevice).where(UserDevice.user_id == user.id))
        record_event(
            "user.devices_all",
            contract_id=user.contract_id,
            target_type="user",
            target_id=user.id,
            summary=user.email,
            detail={"allowed": allowed, "devices": devices},
        )
    return devices


def set_language(user: User, language: str) -> None:
    """Remember the language the user chose: mails sent later by commands follow it."""
    if user.locale == language:
        return
    with unit_of_work():
        user.locale = language
        record_event("user.language", contract_id=user.contract_id, detail={"to": language})
