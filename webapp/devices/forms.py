"""Device search and deletion forms."""

from __future__ import annotations

from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length, Optional, Regexp

from ..enums import Plan, ServiceStatus
from ..forms import ChoiceField, PortalForm, Ticked
from .queries import DeviceSearch

ANY = ("", "すべて")


class DeviceSearchForm(PortalForm):
    """検索条件 of 機器一覧, read from the query string."""

    class Meta:
        csrf = False

    name = StringField("機器名", [Length(max=40, message="機器名は40文字以内で入力してください。")])
    model = StringField("品番", [Length(max=40, message="品番は40文字以内で入力してください。")])
    mac = StringField(
        "MACアドレス",
        [
            Length(max=17, message="MACアドレスは17文字以内で入力してください。"),
            Regexp(
                r"^[0-9A-Fa-f:\-]*$",
                message="MACアドレスは英数字 (0-9, A-F) と「:」「-」で入力してください。",
            ),
        ],
    )
    domain = StringField(
        "ドメイン名", [Length(max=100, message="ドメイン名は100文字以内で入力してください。")]
    )
    service_status = ChoiceField("サービス稼働状態", choices=[ANY, *ServiceStatus.choices()])
    plan = ChoiceField("加入サービス", choices=[ANY, *Plan.choices()])

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


ACK_MESSAGE = "確認事項を読み、チェックボックスにチェックしてください。"


class DeleteDeviceForm(PortalForm):
    """The deletion confirmation: both acknowledgements of the manual, and a survey."""

    ack_licence = BooleanField(
        "ライセンスの有効期限が残っている場合でもライセンスキーを再利用することができません。",
        [Ticked(ACK_MESSAGE)],
    )
    ack_data = BooleanField(
        "機器の設定や通知情報、録画データ等が削除されます。"
        "再度、機器登録を行った場合でもデータは引き継ぐことはできません。",
        [Ticked(ACK_MESSAGE)],
    )
    reason = TextAreaField(
        "解約の理由 (アンケート・任意)",
        [Optional(), Length(max=1000, message="1000文字以内で入力してください。")],
    )
