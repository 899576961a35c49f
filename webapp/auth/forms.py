"""Login forms."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import InputRequired, Length

from ..forms import PortalForm


class LoginForm(PortalForm):
    email = EmailField(
        "Eメールアドレス",
        validators=[
            InputRequired("Eメールアドレスを入力してください。"),
            Length(max=254, message="Eメールアドレスは254文字以内で入力してください。"),
        ],
    )
    password = PasswordField(
        "パスワード",
        validators=[
            InputRequired("パスワードを入力してください。"),
            Length(max=128, message="パスワードは128文字以内で入力してください。"),
        ],
    )
    remember_email = BooleanField("Eメールアドレスを記憶する")
