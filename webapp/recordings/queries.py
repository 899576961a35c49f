"""Finding recordings, always through a device the viewer may see."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import abort
from sqlalchemy import UnaryExpression, func, select, tuple_

from ..enums import RecordingKind
from ..extensions import db
from ..models import Device, Recording
from ..paging import Pagination


def get_recording(device: Device, recording_id: int) -> Recording:
    """Return one of the device's recordings, or 404."""
    recording = db.session.scalar(
        select(Recording).where(Recording.id == recording_id, Recording.device_id == device.id)
    )
    if recording is None:
        abort(404)
    return recording


def newest_first() -> tuple[UnaryExpression[Any], UnaryExpression[Any]]:
    return Recording.captured_at.desc(), Recording.id.desc()


def recordings_page(device: Device, page: int, per_page: int) -> tuple[list[Recording], Pagination]:
    """One page of the device's recordings, newest first."""
    total = (
        db.session.scalar(
            select(func.count()).select_from(Recording).where(Recording.device_id == device.id)
        )
        or 0
    )
    pagination = Pagination.clamp(page, per_page, total)
    items = list(
        db.session.scalars(
            select(Recording)
            .where(Recording.device_id == device.id)
            .order_by(*newest_first())
            .offset(pagination.offset)
            .limit(per_page)
        )
    )
    return items, pagination


def neighbours(recording: Recording) -> tuple[int | None, int | None]:
    """The ids of the next newer and the next older recording of the same device."""
    same_device = Recording.device_id == recording.device_id
    key = tuple_(Recording.captured_at, Recording.id)
    here = tuple_(recording.captured_at, recording.id)
    newer = db.session.scalar(
        select(Recording.id)
        .where(same_device, key > here)
        .order_by(Recording.captured_at, Recording.id)
        .limit(1)
    )
    older = db.session.scalar(
        select(Recording.id).where(same_device, key < here).order_by(*newest_first()).limit(1)
    )
    return newer, older


def latest_images(device_ids: Iterable[int]) -> dict[int, int]:
    """Map each device to its newest still image (devices without one are left out).

    One statement for a whole page of tiles: a correlated subquery per device reads the
    (device, captured_at, id) index from its newest end.
    """
    ids = list(device_ids)
    if not ids:
        return {}
    newest = (
        select(Recording.id)
        .where(Recording.device_id == Device.id, Recording.kind == RecordingKind.IMAGE)
        .order_by(*newest_first())
        .limit(1)
        .correlate(Device)
        .scalar_subquery()
    )
    rows = db.session.execute(select(Device.id, newest).where(Device.id.in_(ids)))
    return {device_id: recording_id for device_id, recording_id in rows if recording_id}
