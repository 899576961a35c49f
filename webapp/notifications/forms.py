"""通知メール設定 forms."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from wtforms import EmailField, FieldList
from wtforms.validators import Length, Optional

from .. import addresses
from ..forms import INVALID_EMAIL_MESSAGE, EmailRule, PortalForm, lowered, stripped
from ..i18n import lazy as _l
from ..services.notifications import MAX_RECIPIENTS


class RecipientsForm(PortalForm):
    """Up to five addresses; empty rows are ignored and repeats merged."""

    recipients = FieldList(
        EmailField(
            _l("通知先"),
            [
                Optional(),
                Length(max=addresses.MAX_LENGTH, message=_l("254文字以内で入力してください。")),
                EmailRule(INVALID_EMAIL_MESSAGE),
            ],
            filters=[stripped, lowered],
        ),
        min_entries=MAX_RECIPIENTS,
        max_entries=MAX_RECIPIENTS,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for number, entry in enumerate(self.recipients, start=1):
            entry.label.text = _("通知先%(number)s", number=number)

    def emails(self) -> list[str]:
        return [entry.data for entry in self.recipients if entry.data]
