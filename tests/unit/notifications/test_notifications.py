"""通知メール設定, and the mails a status change sends."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory
from tests.support.mail import Mailbox
from webapp.enums import CommStatus, LabelledEnum, RecordingStatus
from webapp.extensions import db
from webapp.filters import is_offline
from webapp.models import Device, NotificationRecipient, NotificationSetting


def recipients(app: Flask, contract_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(NotificationRecipient.email)
                .where(NotificationRecipient.contract_id == contract_id)
                .order_by(NotificationRecipient.id)
            )
        )


def save_recipients(client: Client, *emails: str):
    data = {f"recipients-{n}": email for n, email in enumerate(emails)}
    return client.post_form("/notifications/recipients", data, token_from="/notifications")


def test_recipients_are_validated_and_deduplicated(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    page = logged_in.get("/notifications").get_data(as_text=True)
    for n in range(1, 6):
        assert f">通知先{n}</label>" in page
    response = save_recipients(logged_in, "A@example.com", "b@example.com", "a@example.com", "")
    assert response.status_code == 303
    assert recipients(app, contractor.contract_id) == ["a@example.com", "b@example.com"]
    bad = save_recipients(logged_in, "ok@example.com", "not an address")
    assert bad.status_code == 422
    assert 'id="recipients-1-error"' in bad.get_data(as_text=True)
    assert recipients(app, contractor.contract_id) == ["a@example.com", "b@example.com"]


def test_at_most_five_recipients(app: Flask, logged_in: Client, contractor: Account) -> None:
    data = {f"recipients-{n}": f"r{n}@example.com" for n in range(7)}
    response = logged_in.post_form("/notifications/recipients", data, token_from="/notifications")
    assert response.status_code in (303, 422)
    assert len(recipients(app, contractor.contract_id)) <= 5


def test_per_device_events_save_page_by_page(
    app: Flask, logged_in: Client, contractor: Account, stranger: Account
) -> None:
    with app.app_context():
        mine = DeviceFactory(contract_id=contractor.contract_id).id
        theirs = DeviceFactory(contract_id=stranger.contract_id).id
    token = logged_in.csrf_token("/notifications")
    # Another contract's device in the post refuses all of it (see test_bulk_settings).
    response = logged_in.post(
        "/notifications/devices",
        data={
            "csrf_token": token,
            "shown": [str(mine)],
            "on_comm_change": [str(mine)],
            "on_licence_expiry": [],
            "on_recording_stop": [],
        },
    )
    assert response.status_code == 303
    with app.app_context():
        setting = db.session.get(NotificationSetting, mine)
        assert (setting.on_comm_change, setting.on_recording_stop, setting.on_licence_expiry) == (
            True,
            False,
            False,
        )
        untouched = db.session.get(NotificationSetting, theirs)
        assert untouched.on_recording_stop is True and untouched.on_licence_expiry is True
    detail = logged_in.get(f"/devices/{mine}/service").get_data(as_text=True)
    assert "送信しない" in detail


def test_record_status_sends_exactly_the_mails_asked_for(
    app: Flask, contractor: Account, smtp: Mailbox
) -> None:
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id, name="正門")
        device_id = device.id
        db.session.add_all(
            NotificationRecipient(contract_id=contractor.contract_id, email=e)
            for e in ("one@example.com", "two@example.com")
        )
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["record-status", str(device_id), "offline"])
    assert result.exit_code == 0, result.output
    assert "2 mail(s) sent" in result.stdout
    assert len(smtp.messages) == 2
    mail = smtp.to("one@example.com")[0]
    assert "通信状態が変わりました: 正門" in mail["Subject"]
    assert "通信中 → 通信断" in mail.get_content()
    # No change, no mail.
    assert "0 mail(s)" in runner.invoke(args=["record-status", str(device_id), "offline"]).stdout
    # Turned off for this device: the status changes, no mail goes.
    with app.app_context():
        db.session.get(NotificationSetting, device_id).on_comm_change = False
        db.session.commit()
    assert "0 mail(s)" in runner.invoke(args=["record-status", str(device_id), "online"]).stdout
    with app.app_context():
        assert db.session.get(Device, device_id).comm_status is CommStatus.ONLINE
    # Recording stopped mails when 録画停止 is on.
    stopped = runner.invoke(args=["record-status", str(device_id), "stopped"])
    assert "2 mail(s)" in stopped.stdout
    assert len(smtp.messages) == 4


@pytest.mark.parametrize(
    ("status", "offline"),
    [
        (CommStatus.OFFLINE, True),
        (CommStatus.ONLINE, False),
        (CommStatus.NEVER_CONNECTED, False),
        (RecordingStatus.STOPPED, False),
    ],
)
def test_only_a_lost_connection_counts_as_offline(status: LabelledEnum, offline: bool) -> None:
    assert is_offline(status) is offline


def test_only_the_mail_of_a_lost_connection_asks_to_check_power_and_network(
    app: Flask, contractor: Account, smtp: Mailbox
) -> None:
    with app.app_context():
        device_id = DeviceFactory(contract_id=contractor.contract_id, name="正門").id
        db.session.add(
            NotificationRecipient(contract_id=contractor.contract_id, email="o@example.com")
        )
        db.session.commit()
    runner = app.test_cli_runner()
    for status in ("offline", "online", "stopped"):
        assert "1 mail(s)" in runner.invoke(args=["record-status", str(device_id), status]).stdout
    lost, back, stopped = (mail.get_content() for mail in smtp.messages)
    advice = "機器の電源やネットワークの接続をご確認ください。"
    assert "通信中 → 通信断" in lost and advice in lost
    assert "通信断 → 通信中" in back and advice not in back
    assert "録画が止まっています。" in stopped and advice not in stopped


def test_record_status_explains_bad_input(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert "no device 999" in runner.invoke(args=["record-status", "999", "online"]).output
    assert runner.invoke(args=["record-status", "1", "exploded"]).exit_code != 0


def test_english_mail_subjects_keep_their_spaces(
    app: Flask, contractor: Account, smtp: Mailbox
) -> None:
    from webapp.models import User

    with app.app_context():
        db.session.get(User, contractor.user_id).locale = "en"
        device_id = DeviceFactory(contract_id=contractor.contract_id, name="正門").id
        db.session.add(
            NotificationRecipient(contract_id=contractor.contract_id, email="o@example.com")
        )
        db.session.commit()
    app.test_cli_runner().invoke(args=["record-status", str(device_id), "offline"])
    [mail] = smtp.messages
    assert mail["Subject"].endswith("Connection status changed: 正門")
