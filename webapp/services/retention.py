"""What a device's plan keeps of its recordings, read as SQL.

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
So what has expired is never shown, from the moment it expires.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, tuple_
from sqlalchemy.orm import QueryableAttribute, aliased

from .. import clock
from ..enums import Plan, RecordingKind
from ..models import Recording

# A plan given as itself (one device), or as the column holding each device's plan
# (Licence.plan, joined through the recordings' devices) for the recordings of many.
PlanOf = Plan | ColumnElement[Any] | QueryableAttribute[Any]


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
