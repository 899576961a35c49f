"""What a device's plan keeps of its recordings, read as SQL, and the job that removes the rest.

The rule (plans are data: Plan.retention_days):

- 「録画 N日」: the recording history holds what was captured on the service's today or on
  the N days before it. A recording captured on day D (in the service's time zone) is
  listed, counted, served and exported through day D+N, and expires the moment day D+N+1
  begins: a 録画 7日 recording captured 8 days ago is gone, one captured 7 days ago is not.
- 「ライブ映像」: no recording history at all. The portal keeps only the device's newest
  still image (its tile, 機器情報 and the ライブ映像 view).

The plan is always the device's current one (Device.licence.plan), so a device that changes
plan follows the new one from then on. Every read of recordings goes through one of two
conditions on Recording: `in_history` (録画一覧, its counts, exports and downloads) and
`kept` (what may be served at all: the history, plus a live device's newest still image).
So what has expired is never shown, whether or not `prune_recordings` has run yet; the job
then removes what `kept` leaves out, rows first and objects after each commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, false, or_, select, tuple_
from sqlalchemy.orm import QueryableAttribute, aliased

from .. import clock, storage
from ..database import unit_of_work
from ..enums import Plan, RecordingKind
from ..extensions import db
from ..models import Device, Licence, Recording

log = logging.getLogger(__name__)

# A plan given as itself (one device), or as the column holding each device's plan
# (Licence.plan, joined through the recordings' devices) for the recordings of many.
PlanOf = Plan | ColumnElement[Any] | QueryableAttribute[Any]

# Recordings removed per transaction, and so per call to the storage (S3 takes 1,000 keys
# a request); the most a run may be asked for at once.
PRUNE_BATCH = storage.DELETE_BATCH
MAX_PRUNE_BATCH = 10_000
# Devices whose plans are read at once while pruning.
DEVICE_WINDOW = 500


def history_start(plan: Plan, today: dt.date | None = None) -> dt.datetime | None:
    """The first moment (naive UTC, as stored) of the history *plan* keeps on *today*.

    None for a plan that keeps no history (ライブ映像).
    """
    days = plan.retention_days
    if days is None:
        return None
    return clock.start_of((today or clock.today()) - dt.timedelta(days=days))


def in_history(plan: PlanOf, today: dt.date | None = None) -> ColumnElement[bool]:
    """The recordings in the history of *plan* on *today*: what 録画一覧 lists and counts.

    Exports and downloads of recordings hold exactly these too. Given the column of each
    device's plan, every recording follows its own device's plan.
    """
    today = today or clock.today()
    if isinstance(plan, Plan):
        start = history_start(plan, today)
        return false() if start is None else Recording.captured_at >= start
    return or_(
        *(and_(plan == each, in_history(each, today)) for each in Plan if each.keeps_recordings)
    )


def newest_still_image() -> ColumnElement[bool]:
    """The recording is its device's newest still image (what 「ライブ映像」 keeps)."""
    newer = aliased(Recording)
    return and_(
        Recording.kind == RecordingKind.IMAGE,
        ~exists().where(
            newer.device_id == Recording.device_id,
            newer.kind == RecordingKind.IMAGE,
            tuple_(newer.captured_at, newer.id) > tuple_(Recording.captured_at, Recording.id),
        ),
    )


def kept(plan: PlanOf, today: dt.date | None = None) -> ColumnElement[bool]:
    """The recordings *plan* keeps on *today*: its history, or (ライブ映像) the newest image.

    Only these may be served; prune_recordings removes the others.
    """
    today = today or clock.today()
    if isinstance(plan, Plan):
        return in_history(plan, today) if plan.keeps_recordings else newest_still_image()
    return or_(*(and_(plan == each, kept(each, today)) for each in Plan))


@dataclass
class Pruning:
    """What a run of prune_recordings removed: rows, and the objects they named."""

    recordings: int = 0
    objects: int = 0


def prune_recordings(*, batch_size: int = PRUNE_BATCH, today: dt.date | None = None) -> Pruning:
    """Remove every recording that its device's plan no longer keeps: rows, then objects.

    Devices are read a window at a time, and each batch of at most *batch_size* rows is
    deleted in a transaction of its own; its objects are removed only once that has
    committed, and no transaction stays open while the storage is called. Running it again
    (or twice at once) removes nothing twice. A process killed midway leaves objects that
    no row names, which gc-recordings removes; never a row without its object.
    """
    if not 1 <= batch_size <= MAX_PRUNE_BATCH:
        raise ValueError(f"batch_size must be from 1 to {MAX_PRUNE_BATCH}, not {batch_size}")
    today = today or clock.today()
    pruning = Pruning()
    after = 0
    while window := db.session.execute(
        select(Device.id, Licence.plan)
        .join(Licence, Device.licence_id == Licence.id)
        .where(Device.id > after)
        .order_by(Device.id)
        .limit(DEVICE_WINDOW)
    ).all():
        after = window[-1][0]
        for plan in Plan:
            device_ids = [device_id for device_id, device_plan in window if device_plan is plan]
            if device_ids:
                while _prune_batch(plan, device_ids, today, batch_size, pruning) == batch_size:
                    pass
    if pruning.recordings:
        log.info(
            "prune-recordings removed %s recordings (%s objects)",
            pruning.recordings,
            pruning.objects,
        )
    return pruning


def _prune_batch(
    plan: Plan, device_ids: list[int], today: dt.date, batch_size: int, pruning: Pruning
) -> int:
    """Delete up to *batch_size* recordings of *device_ids* that *plan* no longer keeps.

    The plan is read again in the DELETE itself: a device moved to another plan since its
    window was read follows the new one. Returns how many rows went.
    """
    still_on_plan = (
        select(Device.id)
        .join(Licence, Device.licence_id == Licence.id)
        .where(Device.id.in_(device_ids), Licence.plan == plan)
    )
    expired = (
        select(Recording.id)
        .where(Recording.device_id.in_(still_on_plan), ~kept(plan, today))
        .limit(batch_size)
        # Its own FROM: not the DELETE's table, which it would otherwise correlate to.
        .correlate(None)
    )
    with unit_of_work() as work:
        keys = list(
            db.session.scalars(
                delete(Recording).where(Recording.id.in_(expired)).returning(Recording.storage_key),
                execution_options={"synchronize_session": False},
            )
        )

        def remove_objects() -> None:
            pruning.objects += storage.remove(keys)

        work.after_commit(remove_objects)
    pruning.recordings += len(keys)
    return len(keys)
