"""通知メール設定: where notification mails go, and which events of each device send them.

The mails themselves go out when a device's status changes (services.device_reports) and
when a licence nears its end (services.licences).
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from ..audit import record_event
from ..database import unit_of_work
from ..extensions import db
from ..i18n import lazy as _l
from ..models import Device, NotificationRecipient, NotificationSetting

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


def set_device_events(contract_id: int, shown: set[int], ticked: dict[str, set[int]]) -> int:
    """Save the event checkboxes of the devices shown on one page; return how many changed."""
    changed = 0
    with unit_of_work():
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
    return changed
