"""Forms of ユーザー管理."""

from __future__ import annotations

from ..forms import PortalForm, RadioChoiceField, email_field
from ..i18n import lazy as _l


class InviteForm(PortalForm):
    email = email_field()


class UserEmailForm(PortalForm):
    email = email_field(_l("新しいEメールアドレス"))


class DeviceAccessForm(PortalForm):
    scope = RadioChoiceField(
        _l("閲覧の範囲"),
        choices=[("all", _l("すべての機器")), ("selected", _l("選択した機器のみ"))],
        default="all",
    )
