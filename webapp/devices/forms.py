"""Device search and deletion forms."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from ..enums import DeviceKind, Plan, ServiceStatus
from ..forms import ChoiceField, PortalForm, RadioChoiceField, Ticked, stripped
from ..i18n import lazy as _l
from ..identifiers import normalise_domain, normalise_licence_key, normalise_mac
from ..models import Device
from ..services.devices import MAC_TAKEN, mac_in_use
from ..services.licences import licence_problem
from .queries import DeviceSearch

ANY = ("", _l("すべて"))


class DeviceSearchForm(PortalForm):
    """検索条件 of 機器一覧, read from the query string."""

    class Meta:
        csrf = False

    name = StringField(
        _l("機器名"), [Length(max=40, message=_l("機器名は40文字以内で入力してください。"))]
    )
    model = StringField(
        _l("品番"), [Length(max=40, message=_l("品番は40文字以内で入力してください。"))]
    )
    mac = StringField(
        _l("MACアドレス"),
        [
            Length(max=17, message=_l("MACアドレスは17文字以内で入力してください。")),
            Regexp(
                r"^[0-9A-Fa-f:\-]*$",
                message=_l("MACアドレスは英数字 (0-9, A-F) と「:」「-」で入力してください。"),
            ),
        ],
    )
    domain = StringField(
        _l("ドメイン名"),
        [Length(max=100, message=_l("ドメイン名は100文字以内で入力してください。"))],
    )
    service_status = ChoiceField(_l("サービス稼働状態"), choices=[ANY, *ServiceStatus.choices()])
    plan = ChoiceField(_l("加入サービス"), choices=[ANY, *Plan.choices()])

    def to_search(self) -> DeviceSearch:
        return DeviceSearch(
            name=(self.name.data or "").strip(),
            model=(self.model.data or "").strip(),
            mac=(self.mac.data or "").strip(),
            domain=(self.domain.data or "").strip(),
            service_status=ServiceStatus.of(self.service_status.data)
            if self.service_status.data
            else None,
            plan=Plan.of(self.plan.data) if self.plan.data else None,
        )


ACK_MESSAGE = _l("確認事項を読み、チェックボックスにチェックしてください。")


class DeleteDeviceForm(PortalForm):
    """The deletion confirmation: both acknowledgements of the manual, and a survey."""

    ack_licence = BooleanField(
        _l("ライセンスの有効期限が残っている場合でもライセンスキーを再利用することができません。"),
        [Ticked(ACK_MESSAGE)],
    )
    ack_data = BooleanField(
        _l(
            "機器の設定や通知情報、録画データ等が削除されます。"
            "再度、機器登録を行った場合でもデータは引き継ぐことはできません。"
        ),
        [Ticked(ACK_MESSAGE)],
    )
    reason = TextAreaField(
        _l("解約の理由 (アンケート・任意)"),
        [Optional(), Length(max=1000, message=_l("1000文字以内で入力してください。"))],
    )


class BulkDeleteDevicesForm(DeleteDeviceForm):
    """The confirmation of 「選択した機器を削除」: the same acknowledgements as one deletion.

    *expected* marks the devices the confirmation showed (SelectedDevices.mark): a selection
    of every device matching a search is refused if other devices match by the time it is
    submitted, even as many as before.
    """

    expected = HiddenField(validators=[Optional(), Length(max=64)])


class SetupDeviceForm(PortalForm):
    """The confirmation of 機器設定: which secret it replaces (see Device.secret_mark)."""

    replacing = HiddenField(validators=[InputRequired(), Length(max=40)])


MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9\-_/.]*$"
MODEL_MESSAGE = _l("品番は半角英数字と「-」で入力してください。(例: WV-S1131)")
CREDENTIAL_PATTERN = r"^[\x21-\x7e]*$"
CREDENTIAL_MESSAGE = _l("半角英数字と記号で入力してください (空白は使えません)。")


def _name_field() -> StringField:
    return StringField(
        _l("機器名"),
        [
            InputRequired(_l("機器名を入力してください。")),
            Length(max=40, message=_l("機器名は40文字以内で入力してください。")),
        ],
        filters=[stripped],
    )


def _model_field() -> StringField:
    return StringField(
        _l("品番"),
        [
            InputRequired(_l("品番を入力してください。")),
            Length(max=40, message=_l("品番は40文字以内で入力してください。")),
            Regexp(MODEL_PATTERN, message=MODEL_MESSAGE),
        ],
        filters=[stripped, lambda v: v.upper() if isinstance(v, str) else v],
    )


def _mac_field() -> StringField:
    return StringField(
        _l("MACアドレス"),
        [
            InputRequired(_l("MACアドレスを入力してください。")),
            Length(max=20, message=_l("MACアドレスの形式が正しくありません。")),
        ],
        filters=[stripped],
    )


class MacFormMixin:
    """Validates the MAC field and keeps its normalised form in ``normalised_mac``."""

    normalised_mac: str = ""

    def validate_mac(self, field: StringField) -> None:
        mac = normalise_mac(field.data or "")
        if mac is None:
            raise ValidationError(_("MACアドレスの形式が正しくありません。(例: 00:80:45:AB:CD:EF)"))
        self.normalised_mac = mac


class RegisterDeviceForm(MacFormMixin, PortalForm):
    """機器登録."""

    licence_key = StringField(
        _l("ライセンスキー"),
        [
            InputRequired(_l("ライセンスキーを入力してください。")),
            Length(max=40, message=_l("ライセンスキーの形式が正しくありません。")),
        ],
        filters=[stripped],
    )
    name = _name_field()
    model = _model_field()
    mac = _mac_field()
    kind = RadioChoiceField(_l("機器の種類"), choices=DeviceKind.choices(), default="camera")

    normalised_key: str = ""

    def __init__(self, *args: Any, contract_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.contract_id = contract_id

    def validate_licence_key(self, field: StringField) -> None:
        key = normalise_licence_key(field.data or "")
        if key is None:
            raise ValidationError(
                _("ライセンスキーの形式が正しくありません。(例: ABCD-EFGH-JKMN-PQRS-TVWX の20文字)")
            )
        self.normalised_key = key
        # Judged here too (and again in the transaction), so every mistake shows at once.
        problem = licence_problem(key, self.contract_id)
        if problem:
            raise ValidationError(problem)

    def validate_mac(self, field: StringField) -> None:
        super().validate_mac(field)
        if mac_in_use(self.normalised_mac):
            raise ValidationError(MAC_TAKEN)


class ExchangeDeviceForm(MacFormMixin, PortalForm):
    """機器の交換: the new hardware."""

    model = _model_field()
    mac = _mac_field()


def _credential(label: str, *, password: bool = False) -> StringField:
    field_class = PasswordField if password else StringField
    return field_class(
        label,
        [
            Optional(),
            Length(max=64, message=_l("%(label)sは64文字以内で入力してください。", label=label)),
            Regexp(CREDENTIAL_PATTERN, message=CREDENTIAL_MESSAGE),
        ],
        filters=[] if password else [stripped],
    )


class EditDeviceForm(PortalForm):
    """変更画面: name, domain and (for cameras) the camera credentials."""

    name = _name_field()
    domain = StringField(
        _l("ドメイン名"),
        [
            InputRequired(_l("ドメイン名を入力してください。")),
            Length(max=100, message=_l("ドメイン名は100文字以内で入力してください。")),
        ],
        filters=[stripped],
    )
    camera_admin_user = _credential(_l("ユーザー ID"))
    camera_admin_password = _credential(_l("パスワード"), password=True)
    camera_list_user = _credential(_l("ユーザー ID"))
    camera_list_password = _credential(_l("パスワード"), password=True)

    normalised_domain: str = ""

    def __init__(self, *args: Any, device: Device, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device = device
        # Two pairs share their labels inside their fieldsets; their ids stay distinct.
        if device.kind is not DeviceKind.CAMERA:
            for name in (
                "camera_admin_user",
                "camera_admin_password",
                "camera_list_user",
                "camera_list_password",
            ):
                delattr(self, name)

    def validate_domain(self, field: StringField) -> None:
        domain = normalise_domain(field.data or "", current_app.config["DEVICE_DOMAIN_SUFFIX"])
        if domain is None:
            raise ValidationError(
                _(
                    "ドメイン名は半角英小文字・数字・「-」で入力してください。"
                    "(例: camera01.%(suffix)s)",
                    suffix=current_app.config["DEVICE_DOMAIN_SUFFIX"],
                )
            )
        self.normalised_domain = domain

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.device.kind is not DeviceKind.CAMERA:
            return valid
        # Checked on the form, not per field: an empty optional field skips its own checks.
        pairs = (
            (self.camera_admin_user, self.camera_admin_password, "camera_admin_password"),
            (self.camera_list_user, self.camera_list_password, "camera_list_password"),
        )
        for user, password, stored_as in pairs:
            message = None
            if user.data and not password.data and not getattr(self.device, stored_as):
                message = _("パスワードを入力してください。")
            elif not user.data and password.data:
                # Without a viewing user, the management pair is used for viewing.
                message = _("ユーザー IDも入力してください。")
            if message and not password.errors:
                password.errors = [*password.errors, message]
                valid = False
        return valid
