"""The three forms of アカウント設定, each sent on its own."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length, ValidationError

from ..auth.reauth import current_password_field
from ..forms import PortalForm, RadioChoiceField, email_field
from ..i18n import LANGUAGES
from ..i18n import lazy as _l
from ..models import User
from ..passwords import password_problem
from ..services.contracts import email_in_use
from ..services.refusals import EmailTaken


class OwnEmailForm(PortalForm):
    """A new login e-mail: it takes effect through the link mailed to it."""

    email = email_field(_l("新しいEメールアドレス"))
    # Asked unless given a moment ago; the password form below has a field of that name too.
    current_password = current_password_field("email-current_password")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_email(self, field: EmailField) -> None:
        if field.data == self.user.email:
            raise ValidationError(_("現在のEメールアドレスと同じです。"))
        if email_in_use(field.data):
            raise ValidationError(EmailTaken().message)


class OwnPasswordForm(PortalForm):
    """A new password, typed twice, and the current one (checked by auth.reauth)."""

    current_password = PasswordField(
        _l("現在のパスワード"),
        [
            InputRequired(_l("現在のパスワードを入力してください。")),
            Length(max=128, message=_l("パスワードは128文字以内で入力してください。")),
        ],
    )
    new_password = PasswordField(
        _l("新しいパスワード"), [InputRequired(_l("新しいパスワードを入力してください。"))]
    )
    confirm_password = PasswordField(
        _l("新しいパスワード (確認)"),
        [
            InputRequired(_l("確認のため、もう一度入力してください。")),
            EqualTo("new_password", message=_l("パスワードが一致しません。")),
        ],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_new_password(self, field: PasswordField) -> None:
        problem = password_problem(field.data or "", self.user.email)
        if problem:
            raise ValidationError(problem)


class LanguageForm(PortalForm):
    language = RadioChoiceField(_l("言語"), choices=list(LANGUAGES.items()))


class TwoFactorChangeForm(PortalForm):
    """Setting up, renewing the codes of, or turning off two-factor login: the password
    again unless given a moment ago (auth.reauth). Each of the section's forms gets its own
    prefix, so that their fields' ids stay apart."""

    current_password = current_password_field()


class ConfirmCodeForm(PortalForm):
    """The first code of a newly set-up authenticator app."""

    code = StringField(
        _l("確認コード"),
        [
            InputRequired(_l("確認コードを入力してください。")),
            Length(max=20, message=_l("確認コードは6桁の数字で入力してください。")),
        ],
    )
