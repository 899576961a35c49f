"""通知メール設定: where notification mails go, which events send them, and sending them."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from ..audit import record_event
from ..enums import CommStatus, RecordingStatus, Role
from ..extensions import db
from ..i18n import lazy as _l
from ..mail import send_mail
from ..models import Device, NotificationRecipient, NotificationSetting, User

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


def record_status(device: Device, status: CommStatus | RecordingStatus) -> int:
    """Apply a status a device reported; mail the contract's addresses if its settings ask.

    Only a change sends mail: 通信状態 changes when 通信状態の変化 is on, and 録画停止 when the
    recording stops and 録画停止 is on. Returns the number of mails sent.
    """
    setting = db.session.get(NotificationSetting, device.id)
    event: str | None = None
    previous: CommStatus | RecordingStatus
    if isinstance(status, CommStatus):
        if device.comm_status is status:
            return 0
        previous = device.comm_status
        device.comm_status = status
        if setting is None or setting.on_comm_change:
            event = "comm"
    else:
        if device.recording_status is status:
            return 0
        previous = device.recording_status
        device.recording_status = status
        if status is RecordingStatus.STOPPED and (setting is None or setting.on_recording_stop):
            event = "recording"
    sent = 0
    try:
        if event:
            locale = db.session.scalar(
                select(User.locale).where(
                    User.contract_id == device.contract_id, User.role == Role.CONTRACTOR
                )
            )
            for address in recipients_of(device.contract_id):
                send_mail(
                    address,
                    "device_status",
                    locale=locale,
                    device=device,
                    event=event,
                    previous=previous,
                    status=status,
                )
                sent += 1
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return sent
