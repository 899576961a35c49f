"""What devices report: who they are (their secret), heartbeats, and their status changes.

A device authenticates with a secret issued at 機器登録 and re-issued by 機器設定. Only the
secret's digest is stored (see crypto.digest), which keeps a heartbeat cheap. 機器設定 never
cuts a working device off: the secret it spoke with keeps working until it first uses the
new one, or for OLD_SECRET_GRACE, and its first heartbeat with the new one completes
機器設定. Heartbeats and the sweep of silent devices drive 通信状態 and 録画状態; each change
is applied once, and mailed to the contract's notification addresses after it has committed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

from ..crypto import digest
from ..database import fresh_snapshot, lock_for_update, unit_of_work
from ..enums import CommStatus, LicenceState, RecordingStatus, Role, ServiceStatus
from ..extensions import db
from ..mail import Delivery, send_after_commit
from ..models import Device, User, recording_status, utcnow
from .notifications import recipients_of
from .refusals import ApiRefused

SECRET_BYTES = 24
# How long the secret a device spoke with before 機器設定 keeps working, at most.
OLD_SECRET_GRACE = dt.timedelta(hours=24)


def api_secret_is_current(device_id: int, secret: str) -> bool:
    """Whether *secret* is the one the device holds now (not replaced since it was issued)."""
    stored = db.session.scalar(select(Device.api_secret_digest).where(Device.id == device_id))
    return stored == digest(secret)


def issue_api_secret(device: Device) -> str:
    """Give the device a new secret, every other one stopping at once; return it to show once.

    It is part of the unit of work of the change that issued it.
    """
    secret = secrets.token_urlsafe(SECRET_BYTES)
    device.api_secret_digest = digest(secret)
    device.api_secret_issued_at = utcnow()
    device.old_api_secret_digest = None
    device.old_api_secret_expires_at = None
    return secret


def rotate_api_secret(device: Device) -> str:
    """Give the device a new secret without cutting it off; return it to show once.

    The secret the device speaks with keeps working until the device first uses the new
    one, or for OLD_SECRET_GRACE. Which one is that: while an old secret is still kept
    (the device has not used the secret issued since), the device still speaks with it, so
    it stays and the unused one goes; otherwise the current secret becomes the old one.
    Call it with the device's row locked, in the unit of work of the change.
    """
    now = utcnow()
    kept = device.old_api_secret_expires_at
    if kept is not None and kept > now:
        # The old secret keeps its own deadline: clicking 機器設定 again must not lengthen
        # the life of a secret that may have leaked.
        old_digest, old_expires_at = device.old_api_secret_digest, kept
    else:
        old_digest, old_expires_at = device.api_secret_digest, now + OLD_SECRET_GRACE
    secret = issue_api_secret(device)
    if old_digest is not None:
        device.old_api_secret_digest = old_digest
        device.old_api_secret_expires_at = old_expires_at
    return secret


def replace_api_secret(device: Device) -> str:
    """Give the device a new secret on its own (operators, demos); return it to show once.

    Every old secret stops working as soon as this commits (a secret that leaked).
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


# Built once: a device API request runs these with new values, not new statements.
_BY_SECRET = select(Device).where(Device.api_secret_digest == bindparam("digest"))
_BY_OLD_SECRET = select(Device).where(
    Device.old_api_secret_digest == bindparam("digest"),
    Device.old_api_secret_expires_at > bindparam("now"),
)
# The usual heartbeat: only matches when the statuses are already what the device says.
_HEARD_FROM = (
    update(Device)
    .where(
        Device.id == bindparam("device_id"),
        Device.comm_status == CommStatus.ONLINE,
        Device.recording_status == bindparam("recording", type_=Device.recording_status.type),
    )
    .values(last_heartbeat_at=bindparam("now"), global_ip=bindparam("ip"))
)


def authenticate(device_id: int, authorization: str | None) -> Device:
    """Return the device that *authorization* (``Bearer <secret>``) proves to be *device_id*.

    A missing or unknown secret is 401; a secret of another device is 404 for this id, as
    if it did not exist; a device whose licence has lapsed is 403. The secret a device
    spoke with before 機器設定 is accepted until its time is up; the first request with the
    new secret ends it, so once this returns, a device that still has an old secret has
    spoken with it.
    """
    secret = presented_secret(authorization)
    if not secret:
        raise ApiRefused(401, "unauthorized", "Send the device secret as 'Bearer <secret>'.")
    secret_digest = digest(secret)
    # Found by its digest through a unique index: no comparison of secrets to time. Every
    # request reads the row again, so a replaced or expired secret is refused at once.
    device = db.session.scalar(_BY_SECRET, {"digest": secret_digest})
    newest = device is not None
    if device is None:
        device = db.session.scalar(_BY_OLD_SECRET, {"digest": secret_digest, "now": utcnow()})
    if device is None:
        raise ApiRefused(401, "unauthorized", "Unknown device secret.")
    if device.id != device_id:
        raise ApiRefused(404, "not_found", "No such device.")
    state = device.licence.effective_state()
    if state is not LicenceState.IN_USE:
        code = "licence_revoked" if state is LicenceState.REVOKED else "licence_expired"
        raise ApiRefused(403, code, f"The device's licence is {state.value}.")
    if newest and device.old_api_secret_expires_at is not None:
        _retire_old_secret(device, secret_digest)
    return device


def _retire_old_secret(device: Device, newest_digest: str) -> None:
    """The device has used its new secret: the one it spoke with before stops working.

    Only while the new secret is still the newest: a 機器設定 in between has made it the
    old one, which must keep working.
    """
    with unit_of_work():
        db.session.execute(
            update(Device)
            .where(Device.id == device.id, Device.api_secret_digest == newest_digest)
            .values(old_api_secret_digest=None, old_api_secret_expires_at=None),
            execution_options={"synchronize_session": False},
        )
    # The commit expired the device: it is read again, as it now is, when next used.


@contextmanager
def kept_after_commit() -> Iterator[None]:
    """Within: what this request's session has loaded or written stays loaded after a commit.

    A commit normally expires every object, so that the answer reads the device (or the
    recording just stored) again: one more transaction, and on PostgreSQL one more pool
    checkout with its ping, to read back what this very request has just written. Only
    for what is answered right after the commit; the next request reads everything anew.
    """
    session = db.session()
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = before


def heartbeat_interval() -> int:
    """How often a device should report: a third of the silence that makes it 通信断."""
    return max(5, int(current_app.config["DEVICE_SILENCE_SECONDS"]) // 3)


def heartbeat_completes_setup(device: Device) -> bool:
    """Whether a heartbeat of this authenticated device completes its 機器設定.

    機器設定 is 完了 from the device's first heartbeat with the secret issued last (after
    機器登録, 機器設定 or 機器の交換). A device that still has an old secret after
    authenticate() spoke with that one: it has not been set up with the new one yet.
    """
    return device.setup_completed_at is None and device.old_api_secret_expires_at is None


def heartbeat(device: Device, recording: RecordingStatus | None, ip: str | None) -> int:
    """Record that the device is alive (通信中) and its 録画状態; return the mails sent.

    The usual heartbeat changes nothing but the time: one UPDATE that only matches when
    the statuses are already what the device says. Anything else (a status, or the first
    heartbeat with a new secret) goes through the status rule, which locks the row so
    that each change is applied, and mailed, exactly once.
    """
    now = utcnow()
    ip = (ip or "")[:45] or None
    if recording is not None:  # as the plan reads it: ライブ映像 records nothing (録画なし)
        recording = recording_status(recording, device.licence.plan)
    wanted_recording = recording or device.recording_status
    setting_up = heartbeat_completes_setup(device)
    if not setting_up:
        with kept_after_commit(), unit_of_work():
            result = db.session.execute(
                _HEARD_FROM,
                {"device_id": device.id, "recording": wanted_recording, "now": now, "ip": ip},
                execution_options={"synchronize_session": False},
            )
            unchanged = cast("CursorResult[Any]", result).rowcount
        if unchanged:
            # The row is as the UPDATE matched and left it: the answer needs no new read.
            for attribute, value in (
                ("comm_status", CommStatus.ONLINE),
                ("recording_status", wanted_recording),
                ("last_heartbeat_at", now),
                ("global_ip", ip),
            ):
                set_committed_value(device, attribute, value)
            return 0
    statuses: list[CommStatus | RecordingStatus] = [CommStatus.ONLINE]
    if recording is not None:
        statuses.append(recording)
    return report_status(
        device.id, statuses, heartbeat_at=now, global_ip=ip, completes_setup=setting_up
    ).mails


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
    completes_setup: bool = False,
) -> StatusReport:
    """Apply the statuses a device reported, then mail each change the settings ask for.

    Only a change sends mail: 通信状態 changes when 通信状態の変化 is on, and 録画停止 when the
    recording stops and 録画停止 is on. The device's row is locked while its statuses are
    compared and changed, so of two reports of one change (two heartbeats, a heartbeat and
    the sweep) exactly one sees it, and its mails go out once. Mails are sent after the
    commit: a failing mail server never undoes a status. With *silent_since*, the change is
    only made if the device has still not been heard from since then (the sweep's guard).
    With *completes_setup* (a heartbeat with the device's new secret), 機器設定 becomes 完了
    at *heartbeat_at*, unless another heartbeat did first or a 機器設定 came in between.
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
            # Judged again under the lock: of two first heartbeats, the first one's time
            # stays; a secret replaced meanwhile is the old one now, and sets nothing up.
            if completes_setup and heartbeat_completes_setup(device):
                device.setup_completed_at = heartbeat_at
                device.service_status = ServiceStatus.ACTIVE
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
