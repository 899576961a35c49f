"""Template filters and tests: dates, times and statuses as a contractor reads them."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from flask import Flask
from markupsafe import Markup, escape

from . import clock
from .enums import CommStatus, LabelledEnum, RecordingStatus
from .i18n import current_language


def date_ja(value: dt.date | None) -> str:
    """2019年7月5日."""
    if value is None:
        return ""
    if current_language() == "en":
        return value.isoformat()
    return f"{value.year}年{value.month}月{value.day}日"


def datetime_ja(value: dt.datetime | None, seconds: bool = False) -> str:
    """2019/07/08 15:24 (or 15:24:05) in the service's time (values are stored in UTC)."""
    if value is None:
        return ""
    time_format = "%H:%M:%S" if seconds else "%H:%M"
    day_format = "%Y-%m-%d " if current_language() == "en" else "%Y/%m/%d "
    return clock.local(value).strftime(day_format + time_format)


# Badges as rendered, by language: a page of the list shows a hundred of a handful of kinds.
_badges: dict[tuple[str, type, str, bool], Markup] = {}


def badge(status: LabelledEnum, muted: bool = False) -> Markup:
    """A status as a badge: its text as well as its colour (a list page shows hundreds)."""
    key = (current_language(), type(status), status.value, muted)
    try:
        return _badges[key]
    except KeyError:
        css = "badge-muted" if muted else f"badge-{status.value}"
        # Built directly (not Markup.format, a string.Formatter).
        markup = _badges[key] = Markup(f'<span class="badge {css}">{escape(status.label)}</span>')
        return markup


class ReportsStatus(Protocol):
    """A device as a page shows it: the ORM object, or a row of a list."""

    @property
    def comm_status(self) -> CommStatus: ...

    def effective_recording_status(self) -> RecordingStatus: ...


def recording_badge(device: ReportsStatus) -> Markup:
    """録画状態 as a badge (as the device's plan reads it), muted while it has never connected.

    Until its first heartbeat a device has reported nothing: its 録画状態 is only the default.
    """
    return badge(
        device.effective_recording_status(),
        muted=device.comm_status is CommStatus.NEVER_CONNECTED,
    )


def is_offline(status: LabelledEnum) -> bool:
    """Whether *status* is 通信断: the device was connected and has gone silent.

    A template test: ``{% if status is offline %}``.
    """
    return status is CommStatus.OFFLINE


def init_app(app: Flask) -> None:
    app.add_template_global(badge)
    app.add_template_global(recording_badge)
    # Also as filters, which templates call directly (a global goes through the context).
    app.add_template_filter(badge)
    app.add_template_filter(recording_badge)
    app.add_template_filter(date_ja)
    app.add_template_filter(datetime_ja)
    app.add_template_test(is_offline, "offline")
