"""The filter of 操作履歴."""

from __future__ import annotations

from flask_babel import gettext as _
from wtforms.validators import Optional, ValidationError

from ..audit import ACTION_LABELS
from ..forms import ChoiceField, JapaneseDateField, PortalForm
from ..i18n import lazy as _l


class HistoryFilterForm(PortalForm):
    class Meta:
        csrf = False

    action = ChoiceField(_l("操作の種類"), choices=[("", _l("すべて")), *ACTION_LABELS.items()])
    date_from = JapaneseDateField(_l("開始日"), [Optional()])
    date_to = JapaneseDateField(_l("終了日"), [Optional()])

    def validate_date_to(self, field: JapaneseDateField) -> None:
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError(_("終了日は開始日以降の日付にしてください。"))
