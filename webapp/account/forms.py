"""The withdrawal confirmation (退会最終確認)."""

from __future__ import annotations

from wtforms import BooleanField

from ..forms import PortalForm, Ticked

ACK_MESSAGE = "確認事項を読み、チェックボックスにチェックしてください。"


class WithdrawForm(PortalForm):
    ack_irreversible = BooleanField(
        "退会処理を実行後、削除されたデータを元に戻すことはできません。", [Ticked(ACK_MESSAGE)]
    )
    # The label names the service, so the template writes it out.
    ack_new_contract = BooleanField("新規のご契約となることの確認", [Ticked(ACK_MESSAGE)])
