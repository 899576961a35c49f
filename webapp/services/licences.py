"""Licence keys: issuing them, the rules for using them, their time, listing and revoking."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, insert, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import clock
from ..audit import record_event
from ..crypto import digest
from ..database import unit_of_work
from ..enums import LabelledEnum, LicenceState, Plan, Role
from ..extensions import db
from ..i18n import N_
from ..i18n import lazy as _l
from ..mail import send_mail
from ..models import (
    LICENCE_ENDING_DAYS,
    Device,
    Licence,
    LicenceReminder,
    User,
    licence_state,
    mask_key,
    utcnow,
)
from ..spreadsheets import csv_bytes
from .refusals import LicenceNotFound, Refused

log = logging.getLogger(__name__)

# Crockford's base32: no I, L, O or U, so a key read aloud or retyped is unambiguous.
KEY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
KEY_LENGTH = 20  # 100 bits

KEY_UNKNOWN = _l("このライセンスキーは登録されていません。入力内容をご確認ください。")
KEY_IN_USE = _l("このライセンスキーは既に使用されています。")
KEY_REVOKED = _l(
    "このライセンスキーは失効しています。機器の削除 (解約) に使われたキーは再利用できません。"
)
KEY_EXPIRED = _l("このライセンスキーは有効期限が切れています。")


def new_licence_key() -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def format_licence_key(key: str) -> str:
    """Show a key in groups of four: ABCD-EFGH-JKMN-PQRS-TVWX."""
    return "-".join(key[i : i + 4] for i in range(0, len(key), 4))


def term_end(starts_on: dt.date, *, years: int = 1, days: int | None = None) -> dt.date:
    """Return the last day of a term: *days* long if given, else *years* calendar years."""
    if days is not None:
        return starts_on + dt.timedelta(days=days - 1)
    try:
        anniversary = starts_on.replace(year=starts_on.year + years)
    except ValueError:  # 29 February into a common year
        anniversary = starts_on.replace(year=starts_on.year + years, day=28)
    return anniversary - dt.timedelta(days=1)


def issue_licences(
    count: int,
    *,
    plan: Plan = Plan.RECORDING_7,
    starts_on: dt.date | None = None,
    years: int = 1,
    days: int | None = None,
    contract_id: int | None = None,
) -> list[str]:
    """Issue *count* new, unused licence keys and return them.

    The term is *years* calendar years from *starts_on* (an annual pack by default), or
    exactly *days* days when given.
    """
    starts_on = starts_on or clock.today()
    ends_on = term_end(starts_on, years=years, days=days)
    keys = [new_licence_key() for _ in range(count)]
    if not keys:
        return keys
    now = utcnow()
    with unit_of_work():
        db.session.execute(
            insert(Licence),
            [
                {
                    "key": key,
                    "contract_id": contract_id,
                    "plan": plan,
                    "starts_on": starts_on,
                    "ends_on": ends_on,
                    "state": LicenceState.UNUSED,
                    "issued_at": now,
                }
                for key in keys
            ],
        )
    return keys


def find_licence(key: str, contract_id: int | None = None) -> Licence | None:
    """Return the licence of a normalised key (looked up by its digest).

    With *contract_id*, only a key this contract may use: one issued to another contract
    is reported exactly like an unknown one.
    """
    licence = db.session.scalar(select(Licence).where(Licence.key_digest == digest(key)))
    if licence is None or contract_id is None:
        return licence
    return licence if licence.contract_id in (None, contract_id) else None


def _unusable(licence: Licence | None, today: dt.date | None = None) -> str | None:
    if licence is None:
        return KEY_UNKNOWN
    state = licence.effective_state(today)
    if state is LicenceState.REVOKED:
        return KEY_REVOKED
    if state is LicenceState.EXPIRED:
        return KEY_EXPIRED
    if state is LicenceState.IN_USE:
        return KEY_IN_USE
    return None


def licence_problem(key: str, contract_id: int) -> str | None:
    """Return why this contract cannot register a device with *key* now, or None."""
    return _unusable(find_licence(key, contract_id))


def usable_licence(key: str, contract_id: int, today: dt.date | None = None) -> Licence:
    """Return the unused licence this contract may register a device with, or refuse."""
    licence = find_licence(key, contract_id)
    problem = _unusable(licence, today)
    if problem or licence is None:
        raise Refused(problem or KEY_UNKNOWN, field="licence_key")
    return licence


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
    today = today or clock.today()
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
            # The mail goes out inside the transaction that claims it: if it fails, the
            # claim rolls back with it and the next run tries again.
            with unit_of_work():
                claimed = [item for item in items if _claim(item[0].id, item[2])]
                if claimed:
                    _send_reminder(contractor_email, locale, today, claimed)
        except Exception:
            log.exception("licence reminder for contract %s not sent", contract_id)
            continue
        mails += bool(claimed)
    return mails


def _send_reminder(
    to: str, locale: str | None, today: dt.date, claimed: list[tuple[Licence, Device | None, int]]
) -> None:
    send_mail(
        to,
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
    today = today or clock.today()
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


def revoke_licence(key: str, *, reason: str = "") -> Licence:
    """Revoke a licence key for good (operator). A device using it stops its service."""
    with unit_of_work():
        licence = find_licence(key)
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


# ライセンス一覧: the contractor's view of the contract's licences.


class LicenceFilter(LabelledEnum):
    """The filters of ライセンス一覧 (the URL's ``filter``)."""

    ENDING_90 = "ending90", N_("90日以内に終了")
    ENDING_30 = "ending30", N_("30日以内に終了")
    UNUSED = "unused", N_("未使用")
    EXPIRED = "expired", N_("期限切れ")


# How many days ahead each "ending within" filter looks (the reminders' stages); 30 is the
# 終了間近 of 機器一覧.
ENDING_WITHIN_DAYS = {LicenceFilter.ENDING_90: 90, LicenceFilter.ENDING_30: LICENCE_ENDING_DAYS}
# The states in which a licence still runs towards its last day.
RUNNING_STATES = (LicenceState.UNUSED, LicenceState.IN_USE)


def days_left(state: LicenceState, ends_on: dt.date, today: dt.date) -> int | None:
    """Return the days from *today* (the service's day) to the last day, 0 on the last day.

    None once the licence no longer runs (revoked, or past its term): nothing is left.
    """
    if state not in RUNNING_STATES:
        return None
    return (ends_on - today).days


def in_filter(
    licence_filter: LicenceFilter | None, state: LicenceState, ends_on: dt.date, today: dt.date
) -> bool:
    """Whether a licence in *state* (as of *today*) ending on *ends_on* is in the filter.

    Ending within N days: a licence that still runs (used or reserved) whose last day is at
    most N days away. Unused: a key not yet registered that can still be. Expired: past its
    term (a revoked key is 失効, not 期限切れ). filter_condition() says the same in SQL.
    """
    if licence_filter is None:
        return True
    if licence_filter is LicenceFilter.UNUSED:
        return state is LicenceState.UNUSED
    if licence_filter is LicenceFilter.EXPIRED:
        return state is LicenceState.EXPIRED
    left = days_left(state, ends_on, today)
    return left is not None and left <= ENDING_WITHIN_DAYS[licence_filter]


def filter_condition(licence_filter: LicenceFilter | None, today: dt.date) -> ColumnElement[bool]:
    """in_filter() as a WHERE clause on Licence (the state rule is models.licence_state)."""
    runs = and_(Licence.state.in_(RUNNING_STATES), Licence.ends_on >= today)
    if licence_filter is None:
        return true()
    if licence_filter is LicenceFilter.UNUSED:
        return and_(Licence.state == LicenceState.UNUSED, Licence.ends_on >= today)
    if licence_filter is LicenceFilter.EXPIRED:
        return and_(Licence.state != LicenceState.REVOKED, Licence.ends_on < today)
    horizon = today + dt.timedelta(days=ENDING_WITHIN_DAYS[licence_filter])
    return and_(runs, Licence.ends_on <= horizon)


@dataclass(frozen=True, slots=True)
class ContractLicence:
    """A licence as ライセンス一覧 shows it: the key already masked, never the whole key."""

    id: int
    masked_key: str
    plan: Plan
    starts_on: dt.date
    ends_on: dt.date
    stored_state: LicenceState
    device_id: int | None  # the device it is registered to, if any
    device_name: str | None

    def state(self, today: dt.date) -> LicenceState:
        return licence_state(self.stored_state, self.ends_on, today)

    def days_left(self, today: dt.date) -> int | None:
        return days_left(self.state(today), self.ends_on, today)

    @property
    def is_reserved(self) -> bool:
        """Issued to the contract and not registered to a device yet."""
        return self.device_id is None and self.stored_state is LicenceState.UNUSED


def contract_licence(
    licence_id: int,
    key: str,
    plan: Plan,
    starts_on: dt.date,
    ends_on: dt.date,
    state: LicenceState,
    device_id: int | None,
    device_name: str | None,
) -> ContractLicence:
    """Build a row of ライセンス一覧 from its columns, masking the key at once."""
    return ContractLicence(
        licence_id, mask_key(key), plan, starts_on, ends_on, state, device_id, device_name
    )


def export_licence_list(
    contract_id: int,
    licences: Sequence[ContractLicence],
    licence_filter: LicenceFilter | None,
    today: dt.date,
) -> bytes:
    """Return ライセンス一覧 (as filtered) as a CSV file, and record the download.

    Keys are masked as on screen: the file is meant to be passed around.
    """
    header = [
        _l("ライセンスキー"),
        _l("加入サービス"),
        _l("開始日"),
        _l("終了日"),
        _l("残り日数"),
        _l("状態"),
        _l("機器名"),
    ]
    rows = (
        [
            licence.masked_key,
            licence.plan.label,
            licence.starts_on.isoformat(),
            licence.ends_on.isoformat(),
            licence.days_left(today),
            licence.state(today).label,
            licence.device_name or "",
        ]
        for licence in licences
    )
    with unit_of_work():
        body = csv_bytes(header, rows)
        record_event(
            "licences.export",
            contract_id=contract_id,
            target_type="contract",
            target_id=contract_id,
            detail={
                "filter": licence_filter.value if licence_filter else "",
                "licences": len(licences),
            },
        )
    return body
