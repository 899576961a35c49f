"""Finding recordings, always through a device the viewer may see, and as its plan keeps them.

Every query of recordings is here, those of the archives included, so that what may be
listed, served or exported is decided in one module. What a plan keeps is one rule
(services/retention.py): 録画一覧, its counts, its viewer, the downloads and the archives
read the device's history (`in_history`); the bytes are served for what the plan keeps
(`kept`: the history, or a ライブ映像 device's newest still image). A recording past its
plan's days is gone from the moment it expires, before the retention job removes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from flask import abort
from sqlalchemy import UnaryExpression, and_, func, select, tuple_

from .. import clock
from ..archives import ArchivedRecording
from ..enums import RecordingKind
from ..extensions import db
from ..models import Device, Licence, Recording
from ..paging import Pagination
from ..services.retention import in_history, kept


def get_recording(device: Device, recording_id: int, *, history: bool = True) -> Recording:
    """Return one of the device's recordings that its plan keeps, or 404.

    With *history* (録画一覧's viewer), only a recording of the device's history; without
    it (the bytes), also what else the plan keeps: a ライブ映像 device's newest image.
    """
    plan = device.licence.plan
    recording = db.session.scalar(
        select(Recording).where(
            Recording.id == recording_id,
            Recording.device_id == device.id,
            in_history(plan) if history else kept(plan),
        )
    )
    if recording is None:
        abort(404)
    return recording


def newest_first() -> tuple[UnaryExpression[Any], UnaryExpression[Any]]:
    return Recording.captured_at.desc(), Recording.id.desc()


def recordings_page(
    device: Device, page: int, per_page: int, today: dt.date | None = None
) -> tuple[list[Recording], Pagination]:
    """One page of the device's recording history, newest first."""
    history = (Recording.device_id == device.id, in_history(device.licence.plan, today))
    total = db.session.scalar(select(func.count()).select_from(Recording).where(*history)) or 0
    pagination = Pagination.clamp(page, per_page, total)
    items = list(
        db.session.scalars(
            select(Recording)
            .where(*history)
            .order_by(*newest_first())
            .offset(pagination.offset)
            .limit(per_page)
        )
    )
    return items, pagination


def neighbours(device: Device, recording: Recording) -> tuple[int | None, int | None]:
    """The ids of the next newer and the next older recording in the device's history."""
    history = (Recording.device_id == recording.device_id, in_history(device.licence.plan))
    key = tuple_(Recording.captured_at, Recording.id)
    here = tuple_(recording.captured_at, recording.id)
    newer = db.session.scalar(
        select(Recording.id)
        .where(*history, key > here)
        .order_by(Recording.captured_at, Recording.id)
        .limit(1)
    )
    older = db.session.scalar(
        select(Recording.id).where(*history, key < here).order_by(*newest_first()).limit(1)
    )
    return newer, older


def newest_image(device: Device) -> Recording | None:
    """The device's newest still image that its plan keeps (ライブ映像 keeps only that one)."""
    return db.session.scalar(
        select(Recording)
        .where(
            Recording.device_id == device.id,
            Recording.kind == RecordingKind.IMAGE,
            kept(device.licence.plan),
        )
        .order_by(*newest_first())
        .limit(1)
    )


class LatestImage(NamedTuple):
    """A device's newest still image: which recording, and when it was captured (UTC)."""

    id: int
    captured_at: dt.datetime


def latest_image_captures(
    device_ids: Iterable[int], today: dt.date | None = None
) -> dict[int, LatestImage]:
    """Map each device to its newest still image that its plan keeps (others are left out).

    One statement for a whole page of tiles: a correlated subquery per device reads the
    (device, captured_at, id) index from its newest end, and the image row is joined by id.
    """
    ids = list(device_ids)
    if not ids:
        return {}
    newest = (
        select(Recording.id)
        .where(
            Recording.device_id == Device.id,
            Recording.kind == RecordingKind.IMAGE,
            kept(Licence.plan, today or clock.today()),
        )
        .order_by(*newest_first())
        .limit(1)
        .correlate(Device, Licence)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Device.id, Recording.id, Recording.captured_at)
        .join(Licence, Device.licence_id == Licence.id)
        .join(Recording, Recording.id == newest)
        .where(Device.id.in_(ids))
    )
    return {device_id: LatestImage(image_id, at) for device_id, image_id, at in rows}


def latest_images(device_ids: Iterable[int], today: dt.date | None = None) -> dict[int, int]:
    """Map each device to the id of its newest still image that its plan keeps."""
    return {
        device_id: image.id for device_id, image in latest_image_captures(device_ids, today).items()
    }


@dataclass(frozen=True)
class DayJump:
    """Where 録画一覧 opens for a date: the page, and the recording the day starts at."""

    day: dt.date
    page: int
    first_id: int | None  # the newest recording of that day or, failing that, before it
    on_the_day: bool  # whether anything was captured on that day


def page_of_day(device: Device, day: dt.date, per_page: int) -> DayJump:
    """The page of 録画一覧 (newest first) where the service's *day* begins.

    That is the page of the newest recording captured on that day or, when there is
    none, of the next older one; when nothing is that old, the last page.
    """
    same_device = and_(Recording.device_id == device.id, in_history(device.licence.plan))
    start, end = clock.start_of(day), clock.start_of(day + dt.timedelta(days=1))
    newer, from_start = db.session.execute(
        select(
            func.count().filter(Recording.captured_at >= end),
            func.count().filter(Recording.captured_at >= start),
        ).where(same_device)
    ).one()
    first = db.session.execute(
        select(Recording.id, Recording.captured_at)
        .where(same_device, Recording.captured_at < end)
        .order_by(*newest_first())
        .limit(1)
    ).first()
    if first is None:  # nothing that old: the end of the list
        pages = max(1, -(-newer // per_page))
        return DayJump(day, pages, None, False)
    return DayJump(day, newer // per_page + 1, first.id, from_start > newer)


def count_device_recordings(device: Device) -> int:
    """How many recordings the device's history holds (what its deletion would delete)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Recording)
            .where(Recording.device_id == device.id, in_history(device.licence.plan))
        )
        or 0
    )


def count_contract_recordings(contract_id: int) -> int:
    """How many recordings the histories of the contract's devices hold (withdrawal deletes)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Recording)
            .join(Device, Device.id == Recording.device_id)
            .join(Licence, Device.licence_id == Licence.id)
            .where(Device.contract_id == contract_id, in_history(Licence.plan))
        )
        or 0
    )


ARCHIVED_COLUMNS = (
    Recording.device_id,
    Device.name,
    Device.domain,
    Recording.captured_at,
    Recording.content_type,
    Recording.storage_key,
)


def recordings_of_device_to_archive(device: Device) -> list[ArchivedRecording]:
    """The device's history, oldest first, as an archive of it needs it."""
    rows = db.session.execute(
        select(*ARCHIVED_COLUMNS)
        .join(Device, Device.id == Recording.device_id)
        .where(Recording.device_id == device.id, in_history(device.licence.plan))
        .order_by(Recording.captured_at, Recording.id)
    )
    return [ArchivedRecording(*row) for row in rows]


def recordings_of_contract_to_archive(contract_id: int) -> list[ArchivedRecording]:
    """The histories of the contract's devices, device by device (by name), oldest first."""
    rows = db.session.execute(
        select(*ARCHIVED_COLUMNS)
        .join(Device, Device.id == Recording.device_id)
        .join(Licence, Device.licence_id == Licence.id)
        .where(Device.contract_id == contract_id, in_history(Licence.plan))
        .order_by(Device.name, Device.id, Recording.captured_at, Recording.id)
    )
    return [ArchivedRecording(*row) for row in rows]


def recording_to_download(device: Device, recording_id: int) -> ArchivedRecording:
    """One of the device's recordings, as a download names it; or 404."""
    recording = get_recording(device, recording_id)
    return ArchivedRecording(
        device.id,
        device.name,
        device.domain,
        recording.captured_at,
        recording.content_type,
        recording.storage_key,
    )
