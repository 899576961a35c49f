"""The date of 録画一覧: which day to page to."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from wtforms.validators import Optional

from ..forms import JapaneseDateField, PortalForm
from ..i18n import lazy as _l


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
