"""The form of 規約の更新."""

from __future__ import annotations

from wtforms import BooleanField

from ..forms import PortalForm, Ticked
from ..i18n import lazy as _l


class AcceptTermsForm(PortalForm):
    agree = BooleanField(
        _l("規約に同意する"),
        [Ticked(_l("規約をお読みになり、チェックボックスにチェックしてください。"))],
    )
