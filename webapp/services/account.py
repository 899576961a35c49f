"""The contract itself: the contractor's details (契約者情報) and withdrawing (退会)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import delete, func, select, update

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

from .. import clock, storage
from ..audit import record_event
from ..database import checkpoint_wal, lock_for_update, unit_of_work
from ..enums import LicenceState
from ..extensions import db
from ..mail import Delivery, send_after_commit
from ..models import AuditEvent, Contract, Device, Licence, NotificationRecipient, User, utcnow
from .contracts import contractor_of
from .credentials import change_password, request_email_change
from .refusals import AlreadyWithdrawn, DevicesRemain

log = logging.getLogger(__name__)


def may_withdraw(contract_id: int) -> bool:
    """Return True when nothing stands in the way of withdrawal: no device remains."""
    return _device_count(contract_id) == 0


def _device_count(contract_id: int) -> int:
    return (
        db.session.scalar(select(func.count(Device.id)).where(Device.contract_id == contract_id))
        or 0
    )


class WithdrawnData(NamedTuple):
    """What the mail after withdrawal says was deleted."""

    users: int  # accounts, the contractor's own included
    recipients: int  # addresses of 通知メール設定
    events: int  # entries of 操作履歴
    licences: int  # licence keys revoked for good


def withdraw_contract(contract: Contract) -> Delivery | None:
    """Delete everything of the contract, irreversibly, in one transaction.

    Users, login sessions, contractor details, notification settings and history
    all go (the database cascades from the contract row); its licences are kept
    revoked and detached so that no key of it can be used again. Only an anonymised
    audit record of the withdrawal remains. A mail tells the contractor what was
    deleted and when: their address and language are read first, since the account
    goes with the rest; it leaves after the commit, and a mail server that fails
    never undoes the withdrawal (the Delivery returned says how it went; None without
    a contractor). Raises DevicesRemain while any device is registered, and
    AlreadyWithdrawn when another request got there first.
    """
    contract_id = contract.id
    contractor = contractor_of(contract_id)
    now = utcnow()
    mail = None
    with unit_of_work():
        # Locked before the devices are counted, so that a device registered at the same
        # moment is either counted here or refused by its own transaction, never lost.
        if not lock_for_update(db.session, Contract, contract_id):
            raise AlreadyWithdrawn()
        remaining = _device_count(contract_id)
        if remaining:
            raise DevicesRemain(remaining)
        users = _count(User, User.contract_id == contract_id)
        recipients = _count(NotificationRecipient, NotificationRecipient.contract_id == contract_id)
        db.session.execute(
            update(Licence)
            .where(Licence.contract_id == contract_id, Licence.state != LicenceState.REVOKED)
            .values(state=LicenceState.REVOKED, revoked_at=now)
        )
        licences = _rowcount(
            update(Licence).where(Licence.contract_id == contract_id).values(contract_id=None)
        )
        events = _rowcount(delete(AuditEvent).where(AuditEvent.contract_id == contract_id))
        db.session.execute(delete(Contract).where(Contract.id == contract_id))
        record_event("contract.withdraw", contract_id=None, anonymous=True)
        if contractor is not None:
            mail = send_after_commit(
                contractor.email,
                "contract_withdrawn",
                locale=contractor.locale,
                name=contractor.name,
                deleted=WithdrawnData(users, recipients, events, licences),
                withdrawn_at=now,
                zone=clock.service_zone().key,
            )
    db.session.expunge_all()
    storage.remove_tree(storage.contract_prefix(contract_id))
    try:
        checkpoint_wal(db.session)
    except Exception:  # the data is gone either way; the log is folded in at the next checkpoint
        log.exception("WAL checkpoint after withdrawal failed")
    return mail


def _count(model: Any, condition: Any) -> int:
    """How many rows of *model* match *condition*."""
    return db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0


def _rowcount(statement: Any) -> int:
    """Run an UPDATE or DELETE and return how many rows it touched."""
    return int(cast("CursorResult[Any]", db.session.execute(statement)).rowcount)


PROFILE_FIELDS = (
    "company_name",
    "name",
    "furigana",
    "postal_code",
    "address",
    "phone_work",
    "phone_mobile",
    "phone_home",
    "wants_news",
)


def update_profile(contract: Contract, values: dict[str, object]) -> list[str]:
    """Change the contractor's details (契約者情報); return the names of what changed."""
    changed = [
        name
        for name in PROFILE_FIELDS
        if name in values and getattr(contract, name) != values[name]
    ]
    if not changed:
        return []
    with unit_of_work():
        for name in changed:
            setattr(contract, name, values[name])
        record_event("contract.update", contract_id=contract.id, detail={"fields": changed})
    return changed


class ContractorChange(NamedTuple):
    """What 契約者情報の変更 did."""

    changed: list[str]  # the details that changed
    confirmation: Delivery | None  # the mail that confirms a new e-mail address
    password_changed: bool


def update_contractor(
    contract: Contract,
    user: User,
    values: dict[str, object],
    *,
    email: str,
    new_password: str = "",
    keep_token_hash: str = "",
) -> ContractorChange:
    """Change the contractor's details, login e-mail and password together, or nothing.

    A new e-mail address takes effect when the link mailed to it is followed; the mails
    leave after the commit, and one that fails never undoes what was saved. The screen has
    asked for the password again before a new e-mail or password (auth.reauth).
    """
    with unit_of_work():
        changed = update_profile(contract, values)
        confirmation = request_email_change(user, email) if email != user.email else None
        if new_password:
            change_password(user, new_password, keep_token_hash=keep_token_hash)
    return ContractorChange(changed, confirmation, bool(new_password))
