"""What devices report: who they are (their secret), heartbeats, and their status changes.

A device authenticates with a secret issued at 機器登録 and re-issued by 機器設定. Only the
secret's digest is stored (see crypto.digest), which keeps a heartbeat cheap. Heartbeats and
the sweep of silent devices drive 通信状態 and 録画状態; each change is applied once, and
mailed to the contract's notification addresses after it has committed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from flask import current_app
from sqlalchemy import select, update

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

from ..crypto import digest
from ..database import fresh_snapshot, lock_for_update, unit_of_work
from ..enums import CommStatus, LicenceState, RecordingStatus, Role
from ..extensions import db
from ..mail import Delivery, send_after_commit
from ..models import Device, User, recording_status, utcnow
from .notifications import recipients_of
from .refusals import ApiRefused

SECRET_BYTES = 24


def api_secret_is_current(device_id: int, secret: str) -> bool:
    """Whether *secret* is the one the device holds now (not replaced since it was issued)."""
    stored = db.session.scalar(select(Device.api_secret_digest).where(Device.id == device_id))
    return stored == digest(secret)


def issue_api_secret(device: Device) -> str:
    """Give the device a new secret (the old one stops working); return it to show once.

    It is part of the unit of work of the change that issued it.
    """
    secret = secrets.token_urlsafe(SECRET_BYTES)
    device.api_secret_digest = digest(secret)
    device.api_secret_issued_at = utcnow()
    return secret


def replace_api_secret(device: Device) -> str:
    """Give the device a new secret on its own (operators, demos); return it to show once.

    The old secret stops working as soon as this commits.
    """
    with unit_of_work():
        return issue_api_secret(device)


def presented_secret(authorization: str | None) -> str:
    """The secret of an ``Authorization: Bearer <secret>`` header ('' when there is none)."""
    scheme, _, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or len(secret) > 200:
        return ""
    return secret


def authenticate(device_id: int, authorization: str | None) -> Device:
    """Return the device that *authorization* (``Bearer <secret>``) proves to be *device_id*.

    A missing or unknown secret is 401; a secret of another device is 404 for this id, as
    if it did not exist; a device whose licence has lapsed is 403.
    """
    secret = presented_secret(authorization)
    if not secret:
        raise ApiRefused(401, "unauthorized", "Send the device secret as 'Bearer <secret>'.")
    device = db.session.scalar(select(Device).where(Device.api_secret_digest == digest(secret)))
    if device is None:
        raise ApiRefused(401, "unauthorized", "Unknown device secret.")
    # Found by its digest through a unique index: no comparison of secrets to time.
    if device.id != device_id:
        raise ApiRefused(404, "not_found", "No such device.")
    state = device.licence.effective_state()
    if state is not LicenceState.IN_USE:
        code = "licence_revoked" if state is LicenceState.REVOKED else "licence_expired"
        raise ApiRefused(403, code, f"The device's licence is {state.value}.")
    return device


def heartbeat_interval() -> int:
    """How often a device should report: a third of the silence that makes it 通信断."""
    return max(5, int(current_app.config["DEVICE_SILENCE_SECONDS"]) // 3)


def heartbeat(device: Device, recording: RecordingStatus | None, ip: str | None) -> int:
    """Record that the device is alive (通信中) and its 録画状態; return the mails sent.

    The usual heartbeat changes nothing but the time: one UPDATE that only matches when
    the statuses are already what the device says. Anything else goes through the status
    rule, which locks the row so that each change is applied, and mailed, exactly once.
    """
    now = utcnow()
    ip = (ip or "")[:45] or None
    if recording is not None:  # as the plan reads it: ライブ映像 records nothing (録画なし)
        recording = recording_status(recording, device.licence.plan)
    wanted_recording = recording or device.recording_status
    with unit_of_work():
        result = db.session.execute(
            update(Device)
            .where(
                Device.id == device.id,
                Device.comm_status == CommStatus.ONLINE,
                Device.recording_status == wanted_recording,
            )
            .values(last_heartbeat_at=now, global_ip=ip),
            execution_options={"synchronize_session": False},
        )
        unchanged = cast("CursorResult[Any]", result).rowcount
    if unchanged:
        return 0
    statuses: list[CommStatus | RecordingStatus] = [CommStatus.ONLINE]
    if recording is not None:
        statuses.append(recording)
    return report_status(device.id, statuses, heartbeat_at=now, global_ip=ip).mails


def sweep_silent_devices(now: dt.datetime | None = None) -> tuple[int, int]:
    """Mark 通信断 every device silent for DEVICE_SILENCE_SECONDS; return (devices, mails).

    Only devices that have sent a heartbeat are judged: one that never did keeps 未接続
    (or whatever it was given). A heartbeat that arrives during the sweep wins.
    """
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=int(current_app.config["DEVICE_SILENCE_SECONDS"]))
    silent = list(
        db.session.scalars(
            select(Device.id).where(
                Device.comm_status == CommStatus.ONLINE, Device.last_heartbeat_at < cutoff
            )
        )
    )
    fresh_snapshot()
    changed = mails = 0
    for device_id in silent:
        report = report_status(device_id, [CommStatus.OFFLINE], silent_since=cutoff)
        changed += bool(report.changes)
        mails += report.mails
    return changed, mails


@dataclass
class StatusReport:
    """What applying a device's report changed, and the mails that told of it."""

    changes: list[tuple[CommStatus | RecordingStatus, CommStatus | RecordingStatus]] = field(
        default_factory=list
    )
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def mails(self) -> int:
        """How many mails went out (those that failed are logged, not counted)."""
        return sum(1 for delivery in self.deliveries if delivery.sent)


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
    with unit_of_work():
        if not lock_for_update(db.session, Device, device_id):
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
                if isinstance(status, RecordingStatus):
                    status = recording_status(status, device.licence.plan)
                attribute = "comm_status" if isinstance(status, CommStatus) else "recording_status"
                previous = getattr(device, attribute)
                if previous is not status:
                    setattr(device, attribute, status)
                    report.changes.append((previous, status))
                    report.deliveries += _mail_change(device, previous, status)
        if heartbeat_at is not None:
            device.last_heartbeat_at = heartbeat_at
            device.global_ip = global_ip
    return report


def _mail_change(
    device: Device,
    previous: CommStatus | RecordingStatus,
    status: CommStatus | RecordingStatus,
) -> list[Delivery]:
    """Mail a change of status to each notification address, if the device's settings ask.

    Each address gets its own mail: one failing never stops the others.
    """
    if isinstance(status, CommStatus):
        event = "comm" if device.notifies("on_comm_change") else None
    elif status is RecordingStatus.STOPPED and device.notifies("on_recording_stop"):
        event = "recording"
    else:
        event = None
    if event is None:
        return []
    locale = db.session.scalar(
        select(User.locale).where(
            User.contract_id == device.contract_id, User.role == Role.CONTRACTOR
        )
    )
    return [
        send_after_commit(
            address,
            "device_status",
            locale=locale,
            device=device,
            event=event,
            previous=previous,
            status=status,
        )
        for address in recipients_of(device.contract_id)
    ]
