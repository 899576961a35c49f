"""Forms of ユーザー管理."""

from __future__ import annotations

from wtforms import EmailField
from wtforms.validators import Email, InputRequired, Length

from ..forms import PortalForm, RadioChoiceField, stripped
from ..i18n import lazy as _l


def _email_field(label: str = _l("Eメールアドレス")) -> EmailField:
    return EmailField(
        label,
        [
            InputRequired(_l("Eメールアドレスを入力してください。")),
            Length(max=254, message=_l("Eメールアドレスは254文字以内で入力してください。")),
            Email(_l("Eメールアドレスの形式が正しくありません。")),
        ],
        filters=[stripped, lambda v: v.lower() if isinstance(v, str) else v],
    )


class InviteForm(PortalForm):
    email = _email_field()


class UserEmailForm(PortalForm):
    email = _email_field(_l("新しいEメールアドレス"))


class DeviceAccessForm(PortalForm):
    scope = RadioChoiceField(
        _l("閲覧の範囲"),
        choices=[("all", _l("すべての機器")), ("selected", _l("選択した機器のみ"))],
        default="all",
    )
