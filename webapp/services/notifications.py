"""通知メール設定: where notification mails go, and which events of each device send them.

The mails themselves go out when a device's status changes (services.device_reports) and
when a licence nears its end (services.licences).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, exists, insert, literal, select, update
from werkzeug.exceptions import NotFound

from ..audit import record_event
from ..database import lock_for_update, unit_of_work
from ..extensions import db
from ..i18n import lazy as _l
from ..models import Contract, Device, NotificationRecipient, NotificationSetting
from .device_sets import contract_devices, own_devices

MAX_RECIPIENTS = 5
EVENTS = {
    "on_comm_change": _l("通信状態の変化"),
    "on_recording_stop": _l("録画停止"),
    "on_licence_expiry": _l("ライセンス期限"),
}


def recipients_of(contract_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(NotificationRecipient.email)
            .where(NotificationRecipient.contract_id == contract_id)
            .order_by(NotificationRecipient.id)
        )
    )


def set_recipients(contract_id: int, emails: list[str]) -> list[str]:
    """Replace the contract's notification addresses (deduplicated, at most five)."""
    unique = list(dict.fromkeys(email.strip().lower() for email in emails if email.strip()))
    if len(unique) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} addresses")
    with unit_of_work():
        db.session.execute(
            delete(NotificationRecipient).where(NotificationRecipient.contract_id == contract_id)
        )
        if unique:
            db.session.execute(
                insert(NotificationRecipient),
                [{"contract_id": contract_id, "email": email} for email in unique],
            )
        record_event(
            "notifications.recipients", contract_id=contract_id, detail={"count": len(unique)}
        )
    return unique


def _add_missing_settings(devices: ColumnElement[bool]) -> None:
    """Give the chosen devices that have no setting row one with the defaults (all on).

    One INSERT … SELECT; the caller holds the contract's lock, so no other request adds
    the same rows meanwhile. The devices are read FOR KEY SHARE (PostgreSQL; SQLite's
    writers are serialised anyway): a device being deleted right now is waited for and
    left out, instead of failing the insert's foreign key once its deletion commits.
    """
    missing = ~exists().where(NotificationSetting.device_id == Device.id)
    db.session.execute(
        insert(NotificationSetting).from_select(
            ["device_id", *EVENTS],
            select(Device.id, *(literal(True) for _ in EVENTS))
            .where(devices, missing)
            .with_for_update(read=True, key_share=True),
        )
    )


def set_device_events(contract_id: int, shown: set[int], ticked: dict[str, set[int]]) -> int:
    """Save the event checkboxes of the devices shown on one page; return how many changed.

    Only the *shown* devices change: a device of another page keeps its setting. Every
    shown id must be the contract's (404 otherwise, nothing saved).
    """
    with unit_of_work():
        if not lock_for_update(db.session, Contract, contract_id):
            raise NotFound()
        shown = own_devices(contract_id, shown)
        if not shown:
            return 0
        wanted = {event: ticked.get(event, set()) & shown for event in EVENTS}
        # The page's rows (at most a page) as they were, to tell what changes.
        before = {
            row.device_id: row
            for row in db.session.execute(
                select(
                    NotificationSetting.device_id,
                    *(getattr(NotificationSetting, event) for event in EVENTS),
                ).where(NotificationSetting.device_id.in_(shown))
            )
        }
        changed = sum(
            1
            for device_id in shown
            if device_id not in before
            or any(
                getattr(before[device_id], event) != (device_id in wanted[event])
                for event in EVENTS
            )
        )
        _add_missing_settings(Device.id.in_(shown))
        db.session.execute(
            update(NotificationSetting)
            .where(NotificationSetting.device_id.in_(shown))
            .values({event: NotificationSetting.device_id.in_(wanted[event]) for event in EVENTS}),
            execution_options={"synchronize_session": False},
        )
        if changed:
            record_event(
                "notifications.devices", contract_id=contract_id, detail={"devices": changed}
            )
    return changed


def set_event_for_all_devices(contract_id: int, event: str, on: bool) -> int:
    """Switch one event on or off for every device of the contract; return how many devices.

    Set-based (one INSERT … SELECT and one UPDATE), so a thousand devices cost what ten do.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    with unit_of_work():
        if not lock_for_update(db.session, Contract, contract_id):
            raise NotFound()
        devices = contract_devices(contract_id)
        owned = Device.contract_id == contract_id
        _add_missing_settings(owned)
        db.session.execute(
            update(NotificationSetting)
            .where(NotificationSetting.device_id.in_(select(Device.id).where(owned)))
            .values({event: on}),
            execution_options={"synchronize_session": False},
        )
        record_event(
            "notifications.all_devices",
            contract_id=contract_id,
            summary=str(EVENTS[event]),
            detail={"event": event, "on": on, "devices": devices},
        )
    return devices
