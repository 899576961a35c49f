"""The date of 録画一覧: which day to page to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _
from wtforms.validators import Optional, ValidationError

from ..forms import JapaneseDateField, PortalForm
from ..i18n import lazy as _l

# The days 録画一覧 can page to: the service's calendar, from the first day a camera's
# clock can show (a camera whose clock was reset says 1970) to the last it can reckon.
FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(9999, 12, 30)


class CalendarDateField(JapaneseDateField):
    """A day of the calendar: 2026-02-30 is refused as plainly as text that is no date."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(
                _("日付が正しくありません。YYYY-MM-DD の形式で、暦にある日付を入力してください。")
            ) from exc


class RecordingDateForm(PortalForm):
    """日付 of 録画一覧, read from the query string."""

    class Meta:
        csrf = False

    date = CalendarDateField(_l("日付"), [Optional()])

    def validate_date(self, field: CalendarDateField) -> None:
        if field.data and not FIRST_DAY <= field.data <= LAST_DAY:
            raise ValidationError(
                _(
                    "日付は %(first)s から %(last)s までの間で入力してください。",
                    first=FIRST_DAY.isoformat(),
                    last=LAST_DAY.isoformat(),
                )
            )
