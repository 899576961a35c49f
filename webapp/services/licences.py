"""Licence time: expiry reminders, and the operator's list and revocation."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..audit import record_event
from ..database import unit_of_work
from ..enums import LicenceState, Role
from ..extensions import db
from ..mail import send_mail
from ..models import Device, Licence, LicenceReminder, User, utcnow

log = logging.getLogger(__name__)

# Reminders go out 90, 30 and 0 days before a licence's last day.
REMINDER_DAYS = (90, 30, 0)
# A run that was missed still sends the latest reminder due, for up to this many days.
LATE_GRACE_DAYS = 7


def due_reminders(today: dt.date) -> dict[int, list[tuple[Licence, Device | None, int]]]:
    """Return, per contract, the licences whose next reminder is due and not yet claimed."""
    horizon = today + dt.timedelta(days=max(REMINDER_DAYS))
    rows = db.session.execute(
        select(Licence, Device)
        .outerjoin(Device, Device.licence_id == Licence.id)
        .where(
            Licence.contract_id.is_not(None),
            Licence.state.in_([LicenceState.IN_USE, LicenceState.UNUSED]),
            Licence.ends_on <= horizon,
            Licence.ends_on >= today - dt.timedelta(days=LATE_GRACE_DAYS),
        )
        .order_by(Licence.ends_on, Licence.id)
    ).all()
    sent = {
        (licence_id, days)
        for licence_id, days in db.session.execute(
            select(LicenceReminder.licence_id, LicenceReminder.days_before).where(
                LicenceReminder.licence_id.in_([licence.id for licence, _ in rows])
            )
        )
    }
    due: dict[int, list[tuple[Licence, Device | None, int]]] = defaultdict(list)
    for licence, device in rows:
        days_left = (licence.ends_on - today).days
        thresholds = [days for days in REMINDER_DAYS if days_left <= days]
        if not thresholds:
            continue
        latest = min(thresholds)
        # A reminder already sent for this or a later stage means nothing new is due.
        if any((licence.id, days) in sent for days in REMINDER_DAYS if days <= latest):
            continue
        assert licence.contract_id is not None
        due[licence.contract_id].append((licence, device, latest))
    return due


def _claim(licence_id: int, days_before: int) -> bool:
    """Record that this reminder is being sent; False when another run already has."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = db.session.execute(
        insert(LicenceReminder)
        .values(licence_id=licence_id, days_before=days_before, sent_at=utcnow())
        .on_conflict_do_nothing(index_elements=["licence_id", "days_before"])
        .returning(LicenceReminder.id)
    )
    return result.first() is not None


def send_reminders(today: dt.date | None = None) -> int:
    """Mail each contractor about licences reaching 90, 30 and 0 days before expiry.

    Idempotent and safe to overlap: each reminder is claimed in the database before its
    mail goes out, in the same transaction, so a second run (or a rerun) skips it, and a
    failed mail leaves it unclaimed for the next run. Returns the number of mails sent.
    """
    today = today or dt.date.today()
    mails = 0
    for contract_id, items in due_reminders(today).items():
        contractor = db.session.execute(
            select(User.email, User.locale).where(
                User.contract_id == contract_id, User.role == Role.CONTRACTOR
            )
        ).first()
        if contractor is None:
            continue
        contractor_email, locale = contractor
        try:
            claimed = [item for item in items if _claim(item[0].id, item[2])]
            if not claimed:
                db.session.rollback()
                continue
            send_mail(
                contractor_email,
                "licence_reminder",
                locale=locale,
                today=today,
                items=[
                    {
                        "key": licence.masked_key,
                        "device": device.name if device else None,
                        "ends_on": licence.ends_on,
                        "days_left": (licence.ends_on - today).days,
                    }
                    for licence, device, _ in claimed
                ],
            )
            db.session.commit()
            mails += 1
        except Exception:
            db.session.rollback()
            log.exception("licence reminder for contract %s not sent", contract_id)
    return mails


@dataclass(frozen=True)
class ListedLicence:
    """A licence as the operator's list shows it."""

    licence: Licence
    state: LicenceState  # as of the day of the list: 期限切れ is judged by the date
    device_name: str | None  # the device using it, if any


def list_licences(
    *,
    state: LicenceState | None = None,
    contract_id: int | None = None,
    expiring_within: int | None = None,
    today: dt.date | None = None,
) -> list[ListedLicence]:
    """Return the licences by last day (then by id), each with its state and its device.

    *state* keeps the licences in that state as of *today* (a key past its term is
    期限切れ whatever is stored); *expiring_within* those whose last day is at most that
    many days after *today*, including those already past.
    """
    today = today or dt.date.today()
    query = (
        select(Licence, Device.name)
        .outerjoin(Device, Device.licence_id == Licence.id)
        .order_by(Licence.ends_on, Licence.id)
    )
    if contract_id is not None:
        query = query.where(Licence.contract_id == contract_id)
    if expiring_within is not None:
        query = query.where(Licence.ends_on <= today + dt.timedelta(days=expiring_within))
    listed = (
        ListedLicence(licence, licence.effective_state(today), device_name)
        for licence, device_name in db.session.execute(query)
    )
    return [item for item in listed if state is None or item.state is state]


class LicenceNotFound(LookupError):
    """No licence has this key."""


def revoke_licence(key: str, *, reason: str = "") -> Licence:
    """Revoke a licence key for good (operator). A device using it stops its service."""
    from ..models import key_digest

    with unit_of_work():
        licence = db.session.scalar(select(Licence).where(Licence.key_digest == key_digest(key)))
        if licence is None:
            raise LicenceNotFound(key)
        if licence.state is LicenceState.REVOKED:
            return licence
        db.session.execute(
            update(Licence)
            .where(and_(Licence.id == licence.id, Licence.state != LicenceState.REVOKED))
            .values(state=LicenceState.REVOKED, revoked_at=utcnow())
        )
        record_event(
            "licence.revoke",
            contract_id=licence.contract_id,
            target_type="licence",
            target_id=licence.id,
            summary=licence.masked_key,
            detail={"reason": reason[:200]},
            actor_email="operator",
        )
    # The UPDATE went around the ORM: read back the state it wrote.
    db.session.refresh(licence)
    return licence
