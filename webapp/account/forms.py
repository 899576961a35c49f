"""The withdrawal confirmation (退会最終確認)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..auth.reauth import current_password_field
from ..forms import PortalForm, Ticked, email_field, stripped
from ..i18n import lazy as _l
from ..identifiers import normalise_furigana, normalise_phone, normalise_postal_code
from ..models import User
from ..passwords import password_problem
from ..services.contracts import email_in_use
from ..services.refusals import EmailTaken

ACK_MESSAGE = _l("確認事項を読み、チェックボックスにチェックしてください。")


class WithdrawForm(PortalForm):
    ack_irreversible = BooleanField(
        _l("退会処理を実行後、削除されたデータを元に戻すことはできません。"), [Ticked(ACK_MESSAGE)]
    )
    # The label names the service, so the template writes it out.
    ack_new_contract = BooleanField(_l("新規のご契約となることの確認"), [Ticked(ACK_MESSAGE)])
    current_password = current_password_field()  # asked unless given a moment ago


def _text(label: str, max_length: int, *, required: bool = False) -> StringField:
    checks: list[Any] = [
        Length(
            max=max_length,
            message=_l(
                "%(label)sは%(max)s文字以内で入力してください。", label=label, max=max_length
            ),
        )
    ]
    checks.insert(
        0,
        InputRequired(_l("%(label)sを入力してください。", label=label)) if required else Optional(),
    )
    return StringField(label, checks, filters=[stripped])


class ContractorForm(PortalForm):
    """契約者情報の変更: details, the login e-mail, and the password."""

    company_name = _text(_l("法人名・屋号"), 100)
    name = _text(_l("お名前"), 100, required=True)
    furigana = _text(_l("フリガナ"), 100, required=True)
    postal_code = _text(_l("郵便番号"), 10, required=True)
    address = _text(_l("住所"), 200, required=True)
    phone_work = _text(_l("勤務先"), 20)
    phone_mobile = _text(_l("携帯電話"), 20)
    phone_home = _text(_l("自宅"), 20)
    wants_news = BooleanField(_l("希望する"))
    email = email_field()
    current_password = current_password_field()  # for a new e-mail or password (auth.reauth)
    new_password = PasswordField(_l("新しいパスワード"), [Optional()])
    confirm_password = PasswordField(_l("新しいパスワード (確認)"), [Optional()])

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_furigana(self, field: StringField) -> None:
        value = normalise_furigana(field.data or "")
        if value is None:
            raise ValidationError(_("フリガナはカタカナで入力してください。"))
        field.data = value

    def validate_postal_code(self, field: StringField) -> None:
        value = normalise_postal_code(field.data or "")
        if value is None:
            raise ValidationError(_("郵便番号は7桁の数字で入力してください。(例: 100-0001)"))
        field.data = value

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        phones = (self.phone_work, self.phone_mobile, self.phone_home)
        for phone in phones:
            if phone.data and not phone.errors:
                value = normalise_phone(phone.data)
                if value is None:
                    phone.errors = [
                        _("電話番号は数字と「-」で入力してください。(例: 03-1234-5678)")
                    ]
                    valid = False
                else:
                    phone.data = value
        if not any(phone.data for phone in phones):
            self.phone_work.errors = [
                *self.phone_work.errors,
                _("電話番号は勤務先・携帯電話・自宅のいずれか1つ以上を入力してください。"),
            ]
            valid = False
        email = self.email.data
        changing = bool(email) and email != self.user.email and not self.email.errors
        if changing and email_in_use(email):
            self.email.errors = [EmailTaken().message]
            valid = False
        return self._validate_password_change() and valid

    @property
    def changes_login(self) -> bool:
        """Whether the login e-mail or the password would change (the password is asked)."""
        email = self.email.data
        return bool(self.new_password.data or self.confirm_password.data) or (
            bool(email) and email != self.user.email
        )

    def _validate_password_change(self) -> bool:
        """A new password follows the rules and is the same text twice (the current one is
        checked by the screen, auth.reauth)."""
        new, confirm = self.new_password, self.confirm_password
        if not (new.data or confirm.data):
            return True
        problem = password_problem(new.data or "", self.email.data or self.user.email)
        if problem:
            new.errors = [problem]
            return False
        if new.data != confirm.data:
            confirm.errors = [_("パスワードが一致しません。")]
            return False
        return True
