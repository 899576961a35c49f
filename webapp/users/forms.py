"""Forms of ユーザー管理."""

from __future__ import annotations

from wtforms import EmailField
from wtforms.validators import Email, InputRequired, Length

from ..forms import PortalForm, RadioChoiceField, stripped


def _email_field(label: str = "Eメールアドレス") -> EmailField:
    return EmailField(
        label,
        [
            InputRequired("Eメールアドレスを入力してください。"),
            Length(max=254, message="Eメールアドレスは254文字以内で入力してください。"),
            Email("Eメールアドレスの形式が正しくありません。"),
        ],
        filters=[stripped, lambda v: v.lower() if isinstance(v, str) else v],
    )


class InviteForm(PortalForm):
    email = _email_field()


class UserEmailForm(PortalForm):
    email = _email_field("新しいEメールアドレス")


class DeviceAccessForm(PortalForm):
    scope = RadioChoiceField(
        "閲覧できる機器",
        choices=[("all", "すべての機器"), ("selected", "選択した機器のみ")],
        default="all",
    )
