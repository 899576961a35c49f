"""Login forms."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length, ValidationError

from ..forms import PortalForm, email_field
from ..i18n import lazy as _l
from ..passwords import password_problem


class LoginForm(PortalForm):
    email = email_field(check_format=False)
    password = PasswordField(
        _l("パスワード"),
        validators=[
            InputRequired(_l("パスワードを入力してください。")),
            Length(max=128, message=_l("パスワードは128文字以内で入力してください。")),
        ],
    )
    remember_email = BooleanField(_l("Eメールアドレスを記憶する"))


class ForgotPasswordForm(PortalForm):
    email = email_field()


class NewPasswordForm(PortalForm):
    """A new password, typed twice, held to the password rules."""

    password = PasswordField(
        _l("新しいパスワード"),
        validators=[InputRequired(_l("新しいパスワードを入力してください。"))],
    )
    confirm = PasswordField(
        _l("新しいパスワード (確認)"),
        validators=[
            InputRequired(_l("確認のため、もう一度入力してください。")),
            EqualTo("password", message=_l("パスワードが一致しません。")),
        ],
    )

    def __init__(self, *args: Any, email: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def validate_password(self, field: PasswordField) -> None:
        problem = password_problem(field.data or "", self.email)
        if problem:
            raise ValidationError(problem)


class SecondFactorForm(PortalForm):
    """確認コード: a code of the authenticator app, or one of the recovery codes."""

    code = StringField(
        _l("確認コード"),
        validators=[
            InputRequired(_l("確認コードを入力してください。")),
            Length(max=20, message=_l("確認コードは6桁の数字で入力してください。")),
        ],
    )
