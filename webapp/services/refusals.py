"""Why a business operation did not happen: one exception a reason, each changing nothing.

A refusal carries its own HTTP status, so that it answers alike on every screen:

- 422 (Refused): what was sent cannot be carried out as it is; other input can mend it
  (a key already in use, an address someone else has). The screen shows the message next
  to the field it names.
- 409 (Conflict): the state of the contract refuses it whatever is sent (every seat is
  taken, devices remain before a withdrawal).
- 410 (AlreadyDeleted): the object was there and this contract has deleted it.

AlreadyDone is not a failure: the same request was carried out before (a double submit),
and the screen says so instead of doing it twice. The operator's commands answer their
refusals (LicenceNotFound, VersionExists, EmailTaken) with a message and exit status 1; the
device API answers ApiRefused as JSON with its own status and code.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..i18n import lazy as _l


class Refused(Exception):
    """A rule refuses the operation; *field* names the form field the message is about."""

    status: ClassVar[int] = 422
    default_field: ClassVar[str] = ""
    default_message: ClassVar[str] = ""

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message if message is not None else str(self.default_message)
        self.field = self.default_field if field is None else field
        super().__init__(self.message)


class Conflict(Refused):
    """The state of the contract refuses the operation, whatever is sent."""

    status = 409


class EmailTaken(Refused):
    """Another account already uses the address."""

    default_field = "email"
    default_message = _l("このEメールアドレスは既に使われています。")


class InvalidEmail(Refused):
    """The text is not an address the portal takes (see forms.email_rule)."""

    default_field = "email"
    default_message = _l("Eメールアドレスの形式が正しくありません。")


class WrongPassword(Refused):
    """The current password does not match."""

    default_field = "current_password"
    default_message = _l("現在のパスワードが正しくありません。")


class InvalidLink(Refused):
    """A mailed link that is unknown, expired or already used."""

    status = 410


class SeatLimitReached(Conflict):
    """The contract has as many general users as its seats allow."""

    default_field = "email"

    def __init__(self, limit: int) -> None:
        super().__init__(
            _l(
                "登録できるユーザーは%(count)s人までです。"
                "不要なユーザーを削除してから登録してください。",
                count=limit,
            )
        )
        self.limit = limit


class DevicesRemain(Conflict):
    """Withdrawal needs every device deleted first."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} devices remain")
        self.count = count


class LicenceLapsed(Conflict):
    """The device's licence is revoked or past its term."""

    default_message = _l("ライセンスが有効ではないため、この操作は行えません。")


class ContractGone(Conflict):
    """The contract was withdrawn in the meantime."""

    default_message = _l("ご契約が見つかりません。退会の手続きが行われた可能性があります。")


class AlreadyDone(Exception):
    """The same request has already been carried out (a double submit); *result* is its id."""

    def __init__(self, result: int) -> None:
        super().__init__(result)
        self.result = result


class AlreadyDeleted(Exception):
    """The object existed under this contract and has been deleted (410 Gone).

    Each kind says how the screens put it: the page's title and message, the message
    shown when an htmx panel of it is reloaded, and the list to go back to.
    """

    status: ClassVar[int] = 410
    title: ClassVar[Any] = _l("既に削除されています。")
    message: ClassVar[Any] = ""
    notice: ClassVar[Any] = _l("既に削除されています。")
    list_endpoint: ClassVar[str] = "portal.index"
    list_label: ClassVar[Any] = _l("ポータルへ")

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


class DeviceGone(AlreadyDeleted):
    title = _l("この機器は既に削除されています。")
    message = _l("機器「%(name)s」は削除済みです。機器一覧でご確認ください。")
    notice = _l("機器「%(name)s」は既に削除されています。")
    list_endpoint = "devices.index"
    list_label = _l("機器一覧へ")


class UserGone(AlreadyDeleted):
    title = _l("このユーザーは既に削除されています。")
    message = _l("ユーザー %(name)s は削除済みです。ユーザー管理でご確認ください。")
    notice = _l("このユーザーは既に削除されています。")
    list_endpoint = "users.index"
    list_label = _l("ユーザー管理へ")


class AlreadyWithdrawn(Exception):
    """The contract was withdrawn by another request in the meantime."""


class LicenceNotFound(LookupError):
    """No licence has this key (an operator's command named it)."""


class VersionExists(ValueError):
    """That version of the terms has been published already."""


class ApiRefused(Exception):
    """A device API request answered with a JSON error: HTTP status, a code, a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class InvalidCode(Refused):
    """What was typed is neither a 6-digit code nor a recovery code (changes nothing)."""

    default_field = "code"
    default_message = _l(
        "確認コードは6桁の数字、またはリカバリーコード (12文字) で入力してください。"
    )


class WrongCode(Refused):
    """The code is wrong, already used, or out of its time (counts like a failed login)."""

    status = 401
    default_field = "code"
    default_message = _l("確認コードが正しくないか、既に使われています。")


class NotEnrolled(Conflict):
    """There is no enrolment under way (or two-factor login is already on)."""

    default_field = "code"
    default_message = _l("2段階認証の設定を最初からやり直してください。")


class TwoFactorRequired(Conflict):
    """The contract requires two-factor login of every user: it cannot be turned off."""

    default_message = _l("ご契約で2段階認証が必須のため、解除できません。")


class OwnTwoFactorFirst(Conflict):
    """A contractor requires it of everyone only once their own login has a second factor."""

    default_message = _l(
        "先にご自身の2段階認証を「アカウント設定」で設定してから、必須にしてください。"
    )
