"""通知メール設定: where notification mails go, which events send them, and sending them."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select

from ..audit import record_event
from ..database import lock_for_update
from ..enums import CommStatus, RecordingStatus, Role
from ..extensions import db
from ..i18n import lazy as _l
from ..mail import send_mail
from ..models import Device, NotificationRecipient, NotificationSetting, User

log = logging.getLogger(__name__)

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
    try:
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
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return unique


def set_device_events(contract_id: int, shown: set[int], ticked: dict[str, set[int]]) -> int:
    """Save the event checkboxes of the devices shown on one page; return how many changed."""
    owned = list(
        db.session.scalars(
            select(Device.id).where(Device.contract_id == contract_id, Device.id.in_(shown))
        )
    )
    settings = {
        setting.device_id: setting
        for setting in db.session.scalars(
            select(NotificationSetting).where(NotificationSetting.device_id.in_(owned))
        )
    }
    changed = 0
    try:
        for device_id in owned:
            setting = settings.get(device_id)
            if setting is None:
                setting = NotificationSetting(device_id=device_id)
                db.session.add(setting)
            values = {event: device_id in ticked.get(event, set()) for event in EVENTS}
            if any(getattr(setting, event) != value for event, value in values.items()):
                changed += 1
                for event, value in values.items():
                    setattr(setting, event, value)
        if changed:
            record_event(
                "notifications.devices", contract_id=contract_id, detail={"devices": changed}
            )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return changed


@dataclass
class StatusReport:
    """What applying a device's report changed, and how many mails went out."""

    changes: list[tuple[CommStatus | RecordingStatus, CommStatus | RecordingStatus]] = field(
        default_factory=list
    )
    mails: int = 0


def record_status(device: Device, status: CommStatus | RecordingStatus) -> int:
    """Apply one status a device reported (what a heartbeat does); return the mails sent."""
    return report_status(device.id, [status]).mails


def report_status(
    device_id: int,
    statuses: list[CommStatus | RecordingStatus],
    *,
    heartbeat_at: dt.datetime | None = None,
    global_ip: str | None = None,
    silent_since: dt.datetime | None = None,
) -> StatusReport:
    """Apply the statuses a device reported, then mail each change the settings ask for.

    Only a change sends mail: 通信状態 changes when 通信状態の変化 is on, and 録画停止 when the
    recording stops and 録画停止 is on. The device's row is locked while its statuses are
    compared and changed, so of two reports of one change (two heartbeats, a heartbeat and
    the sweep) exactly one sees it, and its mails go out once. Mails are sent after the
    commit: a failing mail server never undoes a status. With *silent_since*, the change is
    only made if the device has still not been heard from since then (the sweep's guard).
    """
    report = StatusReport()
    try:
        if not lock_for_update(db.session, Device, device_id):
            db.session.rollback()
            return report
        device = db.session.get(Device, device_id, populate_existing=True)
        assert device is not None
        heard = device.last_heartbeat_at
        # The sweep's report stands only if, under the lock, the device is still online
        # and still silent (a heartbeat or an exchange may have come in between).
        still_silent = (
            device.comm_status is CommStatus.ONLINE and heard is not None and heard < silent_since
            if silent_since is not None
            else True
        )
        if still_silent:
            for status in statuses:
                attribute = "comm_status" if isinstance(status, CommStatus) else "recording_status"
                previous = getattr(device, attribute)
                if previous is not status:
                    setattr(device, attribute, status)
                    report.changes.append((previous, status))
        if heartbeat_at is not None:
            device.last_heartbeat_at = heartbeat_at
            device.global_ip = global_ip
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    for previous, status in report.changes:
        report.mails += _mail_change(device, previous, status)
    return report


def _mail_change(
    device: Device,
    previous: CommStatus | RecordingStatus,
    status: CommStatus | RecordingStatus,
) -> int:
    setting = db.session.get(NotificationSetting, device.id)
    if isinstance(status, CommStatus):
        event = "comm" if setting is None or setting.on_comm_change else None
    elif status is RecordingStatus.STOPPED and (setting is None or setting.on_recording_stop):
        event = "recording"
    else:
        event = None
    if event is None:
        return 0
    locale = db.session.scalar(
        select(User.locale).where(
            User.contract_id == device.contract_id, User.role == Role.CONTRACTOR
        )
    )
    sent = 0
    for address in recipients_of(device.contract_id):
        try:
            send_mail(
                address,
                "device_status",
                locale=locale,
                device=device,
                event=event,
                previous=previous,
                status=status,
            )
        except Exception:
            # The status is committed: a mail server that fails loses this mail (logged),
            # never the heartbeat that reported it nor the other addresses' mails.
            log.exception("status mail for device %s to %s failed", device.id, address)
            continue
        sent += 1
    return sent
