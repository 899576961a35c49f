"""What devices tell the portal: their secret, heartbeats, and recordings they upload.

A device authenticates with a secret issued at 機器登録 and re-issued by 機器設定. Only the
secret's SHA-256 digest is stored: the secret is random (192 bits), so a fast digest is as
good as a slow password hash here, and it keeps a heartbeat cheap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

from .. import storage
from ..database import unit_of_work
from ..enums import CommStatus, LicenceState, RecordingKind, RecordingStatus
from ..extensions import db
from ..models import Device, Licence, Recording, utcnow
from .notifications import report_status

SECRET_BYTES = 24
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# What a device may upload, with the bytes each kind of file starts with.
UPLOAD_TYPES: dict[str, tuple[RecordingKind, str]] = {
    "image/jpeg": (RecordingKind.IMAGE, "jpg"),
    "image/png": (RecordingKind.IMAGE, "png"),
    "video/mp4": (RecordingKind.CLIP, "mp4"),
}
# A capture time may run ahead of the portal's clock by this much (clocks drift).
CLOCK_SKEW = dt.timedelta(minutes=5)


class ApiRefused(Exception):
    """A request the API answers with a JSON error: HTTP status, a code, and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_secret_is_current(device_id: int, secret: str) -> bool:
    """Whether *secret* is the one the device holds now (not replaced since it was issued)."""
    stored = db.session.scalar(select(Device.api_secret_digest).where(Device.id == device_id))
    return stored == secret_digest(secret)


def issue_api_secret(device: Device) -> str:
    """Give the device a new secret (the old one stops working); return it to show once.

    The caller commits, in the same transaction as the change that issued it.
    """
    secret = secrets.token_urlsafe(SECRET_BYTES)
    device.api_secret_digest = secret_digest(secret)
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
    digest = secret_digest(secret)
    device = db.session.scalar(select(Device).where(Device.api_secret_digest == digest))
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


def device_summary(device: Device) -> dict[str, object]:
    """What the API tells a device about itself."""
    licence: Licence = device.licence
    return {
        "id": device.id,
        "name": device.name,
        "domain": device.domain,
        "comm_status": device.comm_status.value,
        "recording_status": device.recording_status.value,
        "service_status": device.effective_service_status().value,
        "last_heartbeat_at": _iso(device.last_heartbeat_at),
        "licence": {
            "state": licence.effective_state().value,
            "plan": licence.plan.value,
            "ends_on": licence.ends_on.isoformat(),
        },
        "heartbeat_interval_seconds": heartbeat_interval(),
    }


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
    wanted_recording = recording or device.recording_status
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
        db.session.commit()
        return 0
    db.session.rollback()
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
    db.session.rollback()
    changed = mails = 0
    for device_id in silent:
        report = report_status(device_id, [CommStatus.OFFLINE], silent_since=cutoff)
        changed += bool(report.changes)
        mails += report.mails
    return changed, mails


@dataclass(frozen=True)
class Upload:
    recording: Recording
    created: bool  # False when this was a retry of an upload already stored


def parse_captured_at(value: str | None, now: dt.datetime | None = None) -> dt.datetime:
    """Read a capture time (ISO 8601 with a time zone) as naive UTC."""
    if not value:
        raise ApiRefused(422, "invalid_captured_at", "X-Captured-At is required (ISO 8601).")
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ApiRefused(422, "invalid_captured_at", "X-Captured-At needs a time zone.")
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:  # 0001-01-01T00:00+01:00 falls off the calendar
        raise ApiRefused(
            422, "invalid_captured_at", "X-Captured-At must be ISO 8601 with a time zone."
        ) from exc
    if moment > (now or utcnow()) + CLOCK_SKEW:
        raise ApiRefused(422, "invalid_captured_at", "X-Captured-At is in the future.")
    if moment.year < 2000:
        raise ApiRefused(422, "invalid_captured_at", "X-Captured-At is too far in the past.")
    return moment


def check_content(content_type: str, data: bytes) -> tuple[RecordingKind, str]:
    """Return the kind and file extension of an upload, refusing types not accepted (415)."""
    accepted_type = UPLOAD_TYPES.get(content_type)
    if accepted_type is None:
        accepted = ", ".join(UPLOAD_TYPES)
        raise ApiRefused(415, "unsupported_media_type", f"Upload one of: {accepted}.")
    if not _looks_like(content_type, data):
        raise ApiRefused(415, "unsupported_media_type", f"The body is not a {content_type} file.")
    return accepted_type


def _looks_like(content_type: str, data: bytes) -> bool:
    if content_type == "image/jpeg":
        return data.startswith(b"\xff\xd8\xff")
    if content_type == "image/png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    return len(data) >= 12 and data[4:8] == b"ftyp"


def store_upload(
    device_id: int,
    contract_id: int,
    *,
    data: bytes,
    content_type: str,
    captured_at: dt.datetime,
    idempotency_key: str,
) -> Upload:
    """Store one recording a device sent; a retry with the same key returns the first one.

    The object is written before its row: a process that dies in between leaves an object
    that no row names, which gc-recordings removes; never a row without its object.
    """
    if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise ApiRefused(
            422,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1-64 characters of A-Z a-z 0-9 . _ : -.",
        )
    digest = hashlib.sha256(data).hexdigest()
    existing = _find_upload(device_id, idempotency_key)
    if existing is not None:
        return _replayed(existing, digest, content_type, captured_at)
    kind, extension = check_content(content_type, data)
    # No transaction is open while the object is written (to S3, perhaps slowly).
    db.session.rollback()
    key = (
        f"{storage.device_prefix(contract_id, device_id)}/"
        f"{captured_at:%Y%m%d}/{uuid.uuid4().hex}.{extension}"
    )
    storage.write(key, data, content_type=content_type)
    recording = Recording(
        device_id=device_id,
        kind=kind,
        captured_at=captured_at,
        content_type=content_type,
        size_bytes=len(data),
        sha256=digest,
        storage_key=key,
        idempotency_key=idempotency_key,
    )
    try:
        db.session.add(recording)
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        storage.remove([key])
        existing = _find_upload(device_id, idempotency_key)
        if existing is None:
            # Not a retry: the device was deleted while its upload was on its way.
            raise ApiRefused(404, "not_found", "No such device.") from exc
        # The same upload, retried while this one was being stored: the first one wins.
        return _replayed(existing, digest, content_type, captured_at)
    except BaseException:
        # Whether the row was committed is unknown (a lost connection): the object stays,
        # and gc-recordings removes it if no row names it. Never a row without its object.
        db.session.rollback()
        raise
    return Upload(recording, created=True)


def _find_upload(device_id: int, idempotency_key: str) -> Recording | None:
    return db.session.scalar(
        select(Recording).where(
            Recording.device_id == device_id, Recording.idempotency_key == idempotency_key
        )
    )


def _replayed(
    existing: Recording, digest: str, content_type: str, captured_at: dt.datetime
) -> Upload:
    same = (existing.sha256, existing.content_type, existing.captured_at) == (
        digest,
        content_type,
        captured_at,
    )
    if not same:
        raise ApiRefused(
            409,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different upload.",
        )
    return Upload(existing, created=False)


def recording_summary(recording: Recording) -> dict[str, object]:
    return {
        "id": recording.id,
        "kind": recording.kind.value,
        "content_type": recording.content_type,
        "size_bytes": recording.size_bytes,
        "captured_at": _iso(recording.captured_at),
        "idempotency_key": recording.idempotency_key,
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.replace(tzinfo=dt.UTC).isoformat()
