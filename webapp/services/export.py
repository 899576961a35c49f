"""Everything the portal holds about a contract, for the contractor to keep before 退会."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

from sqlalchemy import select

from .. import clock
from ..audit import ACTION_LABELS, describe, record_event
from ..database import unit_of_work
from ..extensions import db
from ..i18n import lazy as _l
from ..models import (
    AuditEvent,
    Contract,
    Device,
    DeviceExchange,
    Licence,
    NotificationRecipient,
    NotificationSetting,
    Recording,
    User,
    format_mac,
)
from ..spreadsheets import csv_bytes
from .retention import in_history

# Secrets are never exported: password hashes, camera passwords, tokens.
NOTE = _l("パスワードとカメラのパスワードは含まれていません。")


def _iso(value: Any) -> Any:
    """A day as YYYY-MM-DD; a stored moment in the service's zone, with its offset.

    Moments are stored as naive UTC: written as they are, a spreadsheet or a program would
    read 03:00 of a login made at 12:00 Japan time.
    """
    if isinstance(value, dt.datetime):
        return clock.local(value).isoformat()
    return value.isoformat() if isinstance(value, dt.date) else value


def contract_data(contract_id: int) -> dict[str, Any]:
    """Return the contract's data as plain JSON-ready structures."""
    contract = db.session.get(Contract, contract_id)
    assert contract is not None
    settings = {
        s.device_id: s
        for s in db.session.scalars(
            select(NotificationSetting)
            .join(Device, Device.id == NotificationSetting.device_id)
            .where(Device.contract_id == contract_id)
        )
    }
    # Each device's recording history, as its own plan keeps it (expired ones never count).
    recordings: dict[int, int] = dict(
        db.session.execute(
            select(Recording.device_id, db.func.count(Recording.id))
            .join(Device, Device.id == Recording.device_id)
            .join(Licence, Licence.id == Device.licence_id)
            .where(Device.contract_id == contract_id, in_history(Licence.plan))
            .group_by(Recording.device_id)
        ).all()
    )
    devices = db.session.scalars(
        select(Device).where(Device.contract_id == contract_id).order_by(Device.name, Device.id)
    ).all()
    exchanges = db.session.scalars(
        select(DeviceExchange)
        .join(Device, Device.id == DeviceExchange.device_id)
        .where(Device.contract_id == contract_id)
        .order_by(DeviceExchange.exchanged_at)
    ).all()
    return {
        "note": NOTE,
        "contract": {
            "company_name": contract.company_name,
            "name": contract.name,
            "furigana": contract.furigana,
            "postal_code": contract.postal_code,
            "address": contract.address,
            "phone_work": contract.phone_work,
            "phone_mobile": contract.phone_mobile,
            "phone_home": contract.phone_home,
            "wants_news": contract.wants_news,
            "seat_limit": contract.seat_limit,
            "created_at": _iso(contract.created_at),
        },
        "users": [
            {
                "email": user.email,
                "role": user.role.label,
                "created_at": _iso(user.created_at),
                "last_login_at": _iso(user.last_login_at),
                "terms_version": user.terms_version,
            }
            for user in db.session.scalars(
                select(User).where(User.contract_id == contract_id).order_by(User.id)
            )
        ],
        "devices": [
            {
                "name": device.name,
                "kind": device.kind.label,
                "model": device.model,
                "mac": format_mac(device.mac),
                "domain": device.domain,
                "global_ip": device.global_ip,
                "camera_admin_user": device.camera_admin_user,
                "camera_list_user": device.camera_list_user,
                "service_started_on": _iso(device.service_started_on),
                "comm_status": device.comm_status.label,
                "recording_status": device.effective_recording_status().label,
                "service_status": device.effective_service_status().label,
                "setup_completed_at": _iso(device.setup_completed_at),
                "licence_key": device.licence.key,
                "recordings": recordings.get(device.id, 0),
                "notify": {
                    event: getattr(settings[device.id], event)
                    for event in ("on_comm_change", "on_recording_stop", "on_licence_expiry")
                }
                if device.id in settings
                else None,
            }
            for device in devices
        ],
        "exchanges": [
            {
                "device_id": exchange.device_id,
                "exchanged_at": _iso(exchange.exchanged_at),
                "from": [exchange.old_model, format_mac(exchange.old_mac)],
                "to": [exchange.new_model, format_mac(exchange.new_mac)],
            }
            for exchange in exchanges
        ],
        "licences": [
            {
                "key": licence.key,
                "plan": licence.plan.label,
                "starts_on": _iso(licence.starts_on),
                "ends_on": _iso(licence.ends_on),
                "state": licence.effective_state().label,
            }
            for licence in db.session.scalars(
                select(Licence).where(Licence.contract_id == contract_id).order_by(Licence.id)
            )
        ],
        "notification_recipients": list(
            db.session.scalars(
                select(NotificationRecipient.email)
                .where(NotificationRecipient.contract_id == contract_id)
                .order_by(NotificationRecipient.id)
            )
        ),
        "history": [
            {
                "occurred_at": _iso(event.occurred_at),
                "action": ACTION_LABELS.get(event.action, event.action),
                "target": event.summary,
                "detail": describe(event),
                "actor": event.actor_email,
                "ip": event.ip,
            }
            for event in db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.contract_id == contract_id)
                .order_by(AuditEvent.occurred_at, AuditEvent.id)
            )
        ],
    }


def as_json(contract_id: int) -> bytes:
    # Labels are lazily translated strings: default=str writes them in the current language.
    return json.dumps(contract_data(contract_id), ensure_ascii=False, indent=2, default=str).encode(
        "utf-8"
    )


def _csv(rows: list[dict[str, Any]]) -> bytes:
    return csv_bytes(list(rows[0]) if rows else [], (list(row.values()) for row in rows))


def as_csv_zip(contract_id: int) -> bytes:
    """Return a ZIP of CSV files, one per kind of data."""
    data = contract_data(contract_id)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("contract.csv", _csv([data["contract"]]))
        for name in ("users", "devices", "exchanges", "licences", "history"):
            bundle.writestr(f"{name}.csv", _csv(data[name]))
        bundle.writestr(
            "notification_recipients.csv",
            _csv([{"email": email} for email in data["notification_recipients"]]),
        )
        bundle.writestr("README.txt", NOTE.encode("utf-8"))
    return archive.getvalue()


FORMATS = {"json": (as_json, "application/json"), "zip": (as_csv_zip, "application/zip")}


def export_contract(contract_id: int, kind: str) -> tuple[bytes, str]:
    """Return everything of the contract as *kind* ("json" or "zip"), and its media type.

    The download is recorded in 操作履歴.
    """
    write, mimetype = FORMATS[kind]
    with unit_of_work():
        body = write(contract_id)
        record_event("contract.export", contract_id=contract_id, detail={"format": kind})
    return body, mimetype
