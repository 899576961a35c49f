"""Form plumbing shared by every area: input hygiene and acknowledgement checkboxes."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    Field,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, StopValidation, ValidationError

from . import addresses
from .i18n import lazy as _l

CONTROL_CHARACTERS_MESSAGE = _l("使用できない文字が含まれています。")


def has_control_characters(value: str, *, allow_newlines: bool = False) -> bool:
    """Return True for NUL, other control characters and unassigned or private code points."""
    for char in value:
        if allow_newlines and char in "\r\n\t":
            continue
        if unicodedata.category(char) in {"Cc", "Cs", "Co", "Cn"}:
            return True
    return False


class PortalForm(FlaskForm):
    """A form that refuses control characters in every text field before other checks."""

    def validate(self, extra_validators: Any = None) -> bool:
        # Checked first, so that no other validator (or query) ever sees such input.
        tainted = [
            field
            for field in self
            if isinstance(field, StringField | TextAreaField)
            and isinstance(field.data, str)
            and has_control_characters(field.data, allow_newlines=isinstance(field, TextAreaField))
        ]
        if not tainted:
            return super().validate(extra_validators)
        for field in self:
            field.errors = [CONTROL_CHARACTERS_MESSAGE] if field in tainted else []
        return False


class Ticked:
    """Require a checkbox to have been ticked: exactly its own value was posted.

    WTForms' BooleanField reads any non-empty value as True; an acknowledgement
    counts only when the browser sent the checkbox's real value.
    """

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: Any, field: Field) -> None:
        if field.raw_data != ["y"]:
            raise StopValidation(self.message)


class _JapaneseChoices:
    """Choices given as (value, label) pairs; any other value is refused in Japanese."""

    choices: Any
    data: Any

    def __init__(self, label: str, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(  # type: ignore[call-arg]
            label, choices=[SelectChoice(value, text) for value, text in choices], **kwargs
        )

    def pre_validate(self, form: Any) -> None:
        allowed = {choice.value for choice in self.choices}
        if (self.data or "") not in allowed:
            raise ValidationError(_("一覧から選択してください。"))


class ChoiceField(_JapaneseChoices, SelectField):
    """A select (<select>) of (value, label) pairs."""


class RadioChoiceField(_JapaneseChoices, RadioField):
    """Radio buttons of (value, label) pairs."""


def stripped(value: Any) -> Any:
    """Filter: trim surrounding white space from text input."""
    return value.strip() if isinstance(value, str) else value


def lowered(value: Any) -> Any:
    """Filter: e-mail addresses are kept and compared in lower case."""
    return value.lower() if isinstance(value, str) else value


class EmailRule:
    """Validator: the one e-mail rule of the portal (addresses.is_acceptable)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: Any, field: Field) -> None:
        if field.data and not addresses.is_acceptable(field.data):
            raise ValidationError(self.message)


INVALID_EMAIL_MESSAGE = _l("Eメールアドレスの形式が正しくありません。")


def email_field(label: str = _l("Eメールアドレス"), *, check_format: bool = True) -> EmailField:
    """A required e-mail address, trimmed and in lower case.

    The login form does not *check_format*: it says the same thing for every failure.
    """
    validators: list[Any] = [
        InputRequired(_l("Eメールアドレスを入力してください。")),
        Length(
            max=addresses.MAX_LENGTH,
            message=_l("Eメールアドレスは254文字以内で入力してください。"),
        ),
    ]
    if check_format:
        validators.append(EmailRule(INVALID_EMAIL_MESSAGE))
    return EmailField(label, validators, filters=[stripped, lowered])


# The days a date field accepts: from the first day a camera's clock can show (a camera whose
# clock was reset says 1970) to the last day whose end the service's time zone can still
# reckon (9999-12-31 in Tokyo ends after the last moment Python's datetime holds).
FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(9999, 12, 30)


class JapaneseDateField(DateField):
    """A YYYY-MM-DD date (what <input type=date> sends), refused in Japanese otherwise.

    Only days from FIRST_DAY to LAST_DAY are taken: a day outside them cannot be turned into
    a moment of the service's zone, and would fail in a query instead of next to the field.
    """

    def __init__(self, label: str, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, format="%Y-%m-%d", **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_("日付は YYYY-MM-DD の形式で入力してください。")) from exc

    def pre_validate(self, form: Any) -> None:
        if self.data and not FIRST_DAY <= self.data <= LAST_DAY:
            raise ValidationError(
                _(
                    "日付は %(first)s から %(last)s までの間で入力してください。",
                    first=FIRST_DAY.isoformat(),
                    last=LAST_DAY.isoformat(),
                )
            )


def posted_ids(name: str) -> set[int]:
    """The ids a page posted under *name* (its checkboxes); anything else is left out.

    Whose they are is for the business rule to check: a loader or an owner-scoped query.
    """
    return {
        int(v) for v in request.form.getlist(name) if v.isascii() and v.isdigit() and len(v) < 10
    }
