"""Recordings: what devices upload, their downloads, and the objects no row names any more
(gc-recordings).

An upload's object is written before its row, and a deletion's rows go in a transaction
before its objects: a process killed in between leaves objects that no row names. They are
harmless, and removed by the sweep, which works the same on every storage backend (a local
folder, an S3 bucket). What a device's plan keeps is services/retention.py: an upload the
plan would not keep is refused, and a ライブ映像 device's new still image replaces the last.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .. import storage
from ..audit import record_event
from ..database import fresh_snapshot, lock_for_update, unit_of_work
from ..enums import Plan, RecordingKind
from ..extensions import db
from ..models import Contract, Device, Recording, utcnow
from .refusals import ApiRefused
from .retention import history_start

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# What a device may upload, with the bytes each kind of file starts with.
UPLOAD_TYPES: dict[str, tuple[RecordingKind, str]] = {
    "image/jpeg": (RecordingKind.IMAGE, "jpg"),
    "image/png": (RecordingKind.IMAGE, "png"),
    "video/mp4": (RecordingKind.CLIP, "mp4"),
}
# A capture time may run ahead of the portal's clock by this much (clocks drift).
CLOCK_SKEW = dt.timedelta(minutes=5)


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


def record_archive_download(
    contract_id: int, count: int, *, device: Device | None = None, devices: int | None = None
) -> None:
    """Write to 操作履歴 that the recordings of a device, or of the whole contract, were taken.

    An archive holds every recording the deletion or withdrawal would delete: who took
    one, and when, is the contract's to see.
    """
    detail: dict[str, int] = {"recordings": count}
    if devices is not None:  # a selection's (before a bulk deletion): how many devices
        detail["devices"] = devices
    with unit_of_work():
        record_event(
            "recordings.download",
            contract_id=contract_id,
            target_type="device" if device else "contract",
            target_id=device.id if device else None,
            summary=device.name if device else "",
            detail=detail,
        )


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


def check_plan(
    plan: Plan, kind: RecordingKind, captured_at: dt.datetime, today: dt.date | None = None
) -> None:
    """Refuse an upload that the device's plan would not keep, before anything is stored.

    「ライブ映像」 keeps no recordings, only the newest still image: a clip is 403. Under
    「録画 N日」 a recording captured before the plan's first day kept has expired already
    (422): it would be neither listed nor served.
    """
    if not plan.keeps_recordings and kind is not RecordingKind.IMAGE:
        raise ApiRefused(
            403,
            "plan_records_nothing",
            f"The device's plan ({plan.value}) keeps no recordings, only the newest still "
            "image: clips are not accepted.",
        )
    start = history_start(plan, today)
    if start is not None and captured_at < start:
        raise ApiRefused(
            422,
            "captured_too_long_ago",
            f"The device's plan ({plan.value}) keeps recordings for {plan.retention_days} "
            "days: this one has expired already.",
        )


def store_upload(
    device_id: int,
    contract_id: int,
    *,
    data: bytes,
    content_type: str,
    captured_at: dt.datetime,
    idempotency_key: str,
    plan: Plan,
) -> Upload:
    """Store one recording a device sent; a retry with the same key returns the first one.

    The object is written before its row: a process that dies in between leaves an object
    that no row names, which gc-recordings removes; never a row without its object. The
    device's *plan* decides what is stored (check_plan); under ライブ映像 the new still
    image replaces the device's earlier recordings, whose objects go after the commit.
    """
    if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise ApiRefused(
            422,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1-64 characters of A-Z a-z 0-9 . _ : -.",
        )
    content_digest = hashlib.sha256(data).hexdigest()
    existing = _find_upload(device_id, idempotency_key)
    if existing is not None:
        return _replayed(existing, content_digest, content_type, captured_at)
    kind, extension = check_content(content_type, data)
    check_plan(plan, kind, captured_at)
    # No transaction is open while the object is written (to S3, perhaps slowly).
    fresh_snapshot()
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
        sha256=content_digest,
        storage_key=key,
        idempotency_key=idempotency_key,
    )
    # Should the commit fail without an answer (a lost connection), whether the row was
    # stored is unknown: the object stays, and gc-recordings removes it if no row names it.
    try:
        with unit_of_work() as work:
            if not plan.keeps_recordings:
                replaced = _make_way_for_still_image(device_id, captured_at)
                work.after_commit(lambda: storage.remove(replaced))
            db.session.add(recording)
    except ApiRefused:
        storage.remove([key])
        raise
    except IntegrityError as exc:
        storage.remove([key])
        existing = _find_upload(device_id, idempotency_key)
        if existing is None:
            # Not a retry: the device was deleted while its upload was on its way.
            raise ApiRefused(404, "not_found", "No such device.") from exc
        # The same upload, retried while this one was being stored: the first one wins.
        return _replayed(existing, content_digest, content_type, captured_at)
    return Upload(recording, created=True)


def _make_way_for_still_image(device_id: int, captured_at: dt.datetime) -> list[str]:
    """Delete a ライブ映像 device's recordings before its new still image; return their keys.

    Its plan keeps only the newest image. The device's row is locked first, so that of two
    uploads at once the second sees the first; an image older than the one kept is refused
    (409), and a device deleted meanwhile is 404.
    """
    if not lock_for_update(db.session, Device, device_id):
        raise ApiRefused(404, "not_found", "No such device.")
    newer = db.session.scalar(
        select(Recording.id)
        .where(
            Recording.device_id == device_id,
            Recording.kind == RecordingKind.IMAGE,
            Recording.captured_at > captured_at,
        )
        .limit(1)
    )
    if newer is not None:
        raise ApiRefused(
            409,
            "newer_image_kept",
            "The device's plan keeps only its newest still image, and a newer one is stored.",
        )
    return list(
        db.session.scalars(
            delete(Recording)
            .where(Recording.device_id == device_id)
            .returning(Recording.storage_key),
            execution_options={"synchronize_session": False},
        )
    )


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


_CONTRACT = re.compile(r"c(\d+)")
_DEVICE = re.compile(r"d(\d+)")


@dataclass
class Sweep:
    """What a sweep removed: objects (files), and folders (prefixes) of gone rows."""

    files: int = 0
    folders: int = 0


@dataclass
class _Sweeper:
    """One pass over the stored objects, remembering only the contract and device at hand."""

    cutoff: float
    contracts: set[int]
    sweep: Sweep = field(default_factory=Sweep)
    gone: set[str] = field(default_factory=set)
    pending: list[str] = field(default_factory=list)
    devices_of: tuple[int, set[int]] | None = None
    named_of: tuple[int, set[str]] | None = None

    def visit(self, item: storage.StoredObject) -> None:
        parts = item.key.split("/")
        # Only the portal's own layout is touched: c<contract>/… and c<contract>/d<device>/….
        contract = _CONTRACT.fullmatch(parts[0])
        if contract is None or len(parts) < 2:
            return
        contract_id = int(contract.group(1))
        if contract_id not in self.contracts:
            if _exists_now(Contract, contract_id):  # created after the sweep began
                self.contracts.add(contract_id)
            else:
                self.remove_folder(parts[0])
                return
        device = _DEVICE.fullmatch(parts[1])
        if device is None or len(parts) < 3:
            return
        device_id = int(device.group(1))
        if device_id not in self.devices(contract_id):
            if _exists_now(Device, device_id):  # registered after the sweep began
                self.devices(contract_id).add(device_id)
            else:
                self.remove_folder(f"{parts[0]}/{parts[1]}")
                return
        # Young objects are spared: their row may still be on its way.
        if item.modified < self.cutoff and item.key not in self.named(device_id):
            self.pending.append(item.key)
            if len(self.pending) >= storage.DELETE_BATCH:
                self.flush()

    def devices(self, contract_id: int) -> set[int]:
        if self.devices_of is None or self.devices_of[0] != contract_id:
            query = select(Device.id).where(Device.contract_id == contract_id)
            self.devices_of = (contract_id, set(db.session.scalars(query)))
        return self.devices_of[1]

    def named(self, device_id: int) -> set[str]:
        if self.named_of is None or self.named_of[0] != device_id:
            keys = set(
                db.session.scalars(
                    select(Recording.storage_key).where(Recording.device_id == device_id)
                )
            )
            self.named_of = (device_id, keys)
        return self.named_of[1]

    def remove_folder(self, prefix: str) -> None:
        """Remove a folder that no row names any more, counting what went with it."""
        if prefix in self.gone:  # already removed; the listing was read before
            return
        self.gone.add(prefix)
        self.sweep.files += storage.remove_tree(prefix)
        self.sweep.folders += 1

    def flush(self) -> None:
        if self.pending:
            self.sweep.files += storage.remove(self.pending)
            self.pending = []


def _exists_now(model: type[Contract] | type[Device], row_id: int) -> bool:
    """Ask again, outside the sweep's snapshot, before a whole folder is removed.

    The sweep read the contracts (and each contract's devices) when it began; one created
    since then has objects but was not in that list, and must not lose them.
    """
    fresh_snapshot()  # a new transaction sees what has been committed since
    return db.session.get(model, row_id, populate_existing=True) is not None


def collect_garbage(*, min_age_seconds: float = 600.0) -> Sweep:
    """Remove recording objects and folders that no contract, device or recording row names.

    Objects younger than *min_age_seconds* are spared: their row may still be on its way.
    Only the portal's own layout (c<contract>/d<device>/…) is touched; a folder whose
    contract or device is gone goes whole.
    """
    sweeper = _Sweeper(
        cutoff=time.time() - min_age_seconds,
        contracts=set(db.session.scalars(select(Contract.id))),
    )
    for item in storage.iter_objects():
        sweeper.visit(item)
    sweeper.flush()
    sweep = sweeper.sweep
    if sweep.files or sweep.folders:
        log.info("gc-recordings removed %s files and %s folders", sweep.files, sweep.folders)
    return sweep
