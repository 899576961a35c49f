"""機器情報: its tabs, its fields, masked and encrypted camera passwords, and 404s."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import text

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, LicenceFactory
from webapp import clock
from webapp.enums import DeviceKind, LicenceState
from webapp.extensions import db
from webapp.models import Device, Licence, NotificationSetting


@pytest.fixture
def camera_id(app: Flask, contractor: Account) -> int:
    with app.app_context():
        return DeviceFactory(
            contract_id=contractor.contract_id,
            name="Camera0A",
            mac="008045ABCDEF",
            domain="camera0a.miemasu.test",
            camera_admin_user="admin",
            camera_admin_password="very-secret-admin",
            camera_list_user="viewer",
            camera_list_password="very-secret-viewer",
        ).id


def test_detail_shows_every_field_of_the_manual(logged_in: Client, camera_id: int) -> None:
    html = logged_in.get(f"/devices/{camera_id}").get_data(as_text=True)
    for label in (
        "機器名",
        "品番",
        "MACアドレス",
        "ドメイン名",
        "グローバルIPアドレス",
        "カメラの管理",
        "カメラの一覧",
        "ユーザー ID",
        "サービス開始日",
        "通信状態",
        "録画状態",
        "サービス稼働状態",
        "みえますねっとサービス",
        "機器設定",
        "機器削除 (機器の解約)",
        "戻る",
    ):
        assert label in html, label
    for tab in ("機器情報", "ライセンス情報", "サービス設定"):
        assert f">{tab}</a>" in html
    assert "Camera0A" in html
    assert "00:80:45:AB:CD:EF" in html
    assert "✓利用中" in html
    assert "✓完了" in html


def test_camera_passwords_are_masked_and_encrypted_at_rest(
    app: Flask, logged_in: Client, camera_id: int, tmp_path
) -> None:
    html = logged_in.get(f"/devices/{camera_id}").get_data(as_text=True)
    assert "very-secret" not in html
    assert "********" in html
    # Read what the database itself holds, below the ORM's decryption.
    with app.app_context(), db.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT camera_admin_password, camera_list_password FROM device WHERE id = :id"),
            {"id": camera_id},
        ).one()
    assert all(value and "very-secret" not in value for value in stored)
    assert all(value.startswith("gAAAA") for value in stored)  # Fernet tokens


def test_recorders_have_no_camera_fields(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        recorder = DeviceFactory(
            contract_id=contractor.contract_id,
            kind=DeviceKind.RECORDER,
            camera_admin_user=None,
            camera_admin_password=None,
        )
        recorder_id = recorder.id
    html = logged_in.get(f"/devices/{recorder_id}").get_data(as_text=True)
    assert "カメラの管理" not in html


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ("/licence", ["ライセンスキー", "加入サービス", "有効期間", "ライセンス状態", "残り日数"]),
        ("/service", ["加入サービス", "録画状態", "通信状態の変化", "録画停止", "ライセンス期限"]),
    ],
)
def test_tabs_as_pages_and_as_partials(
    logged_in: Client, camera_id: int, suffix: str, expected: list[str]
) -> None:
    page = logged_in.get(f"/devices/{camera_id}{suffix}")
    assert page.status_code == 200
    assert "<html" in page.get_data(as_text=True)
    partial = logged_in.get(f"/devices/{camera_id}{suffix}", headers={"HX-Request": "true"})
    html = partial.get_data(as_text=True)
    assert partial.status_code == 200
    assert html.lstrip().startswith('<section id="device-panel"')
    assert "<html" not in html
    assert "HX-Request" in partial.headers["Vary"]
    for label in expected:
        assert label in html
    assert len(partial.data) < len(page.data) / 2


@pytest.mark.parametrize(
    ("state", "days_left", "in_use"),
    [
        (LicenceState.IN_USE, 0, True),  # its last day still counts
        (LicenceState.IN_USE, -1, False),  # past its term: 期限切れ
        (LicenceState.UNUSED, 100, False),
        (LicenceState.REVOKED, 100, False),
    ],
)
def test_a_licence_is_in_use_while_its_device_holds_it_within_its_term(
    state: LicenceState, days_left: int, in_use: bool
) -> None:
    ends_on = clock.today() + dt.timedelta(days=days_left)
    assert Licence(state=state, ends_on=ends_on).is_in_use is in_use


def test_an_expired_licence_says_so_and_counts_no_days(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        device_id = DeviceFactory(
            contract_id=contractor.contract_id,
            licence=LicenceFactory(
                contract_id=contractor.contract_id,
                starts_on=clock.today() - dt.timedelta(days=400),
                ends_on=clock.today() - dt.timedelta(days=35),
            ),
        ).id
    info = logged_in.get(f"/devices/{device_id}").get_data(as_text=True)
    assert "✓利用中" not in info
    assert "期限切れ" in info
    licence = logged_in.get(f"/devices/{device_id}/licence").get_data(as_text=True)
    assert "残り日数</th><td>-</td>" in licence


def test_a_licence_in_use_counts_its_days_left(logged_in: Client, camera_id: int) -> None:
    html = logged_in.get(f"/devices/{camera_id}/licence").get_data(as_text=True)
    assert "残り日数</th><td>334日</td>" in html


def test_every_notification_is_on_until_turned_off() -> None:
    events = ("on_comm_change", "on_recording_stop", "on_licence_expiry")
    assert all(Device(notification_setting=None).notifies(event) for event in events)
    setting = NotificationSetting(
        on_comm_change=False, on_recording_stop=True, on_licence_expiry=False
    )
    device = Device(notification_setting=setting)
    assert [device.notifies(event) for event in events] == [False, True, False]


def test_the_service_tab_shows_the_notifications_the_mails_follow(
    app: Flask, logged_in: Client, camera_id: int
) -> None:
    with app.app_context():
        db.session.get(NotificationSetting, camera_id).on_recording_stop = False
        db.session.commit()
    html = logged_in.get(f"/devices/{camera_id}/service").get_data(as_text=True)
    assert "通信状態の変化</span> 送信する" in html
    assert "録画停止</span> 送信しない" in html
    assert "ライセンス期限</span> 送信する" in html
    # Without a setting row every event mails (see services.notifications): so says the tab.
    with app.app_context():
        db.session.delete(db.session.get(NotificationSetting, camera_id))
        db.session.commit()
    html = logged_in.get(f"/devices/{camera_id}/service").get_data(as_text=True)
    assert html.count("</span> 送信する") == 3


def test_licence_key_is_shown_masked(app: Flask, logged_in: Client, camera_id: int) -> None:
    from webapp.extensions import db
    from webapp.models import Device

    with app.app_context():
        key = db.session.get(Device, camera_id).licence.key
    html = logged_in.get(f"/devices/{camera_id}/licence").get_data(as_text=True)
    assert key not in html
    assert key[-4:] in html


@pytest.mark.parametrize(
    "path",
    [
        "/devices/999999",
        "/devices/0",
        "/devices/-1",
        "/devices/abc",
        "/devices/1.5",
        "/devices/99999999999999999999999999",
        "/devices/2147483648",
        "/devices/%00",
        "/devices/999999/licence",
        "/devices/999999/delete",
    ],
)
def test_unknown_malformed_and_huge_ids_are_404(logged_in: Client, path: str) -> None:
    response = logged_in.get(path)
    assert response.status_code == 404
    assert "ページが見つかりません" in response.get_data(as_text=True)


def test_another_contractors_device_is_404(
    app: Flask, logged_in: Client, stranger: Account
) -> None:
    with app.app_context():
        foreign_id = DeviceFactory(contract_id=stranger.contract_id).id
    for suffix in ("", "/licence", "/service", "/delete"):
        assert logged_in.get(f"/devices/{foreign_id}{suffix}").status_code == 404
    assert logged_in.post_form(f"/devices/{foreign_id}/delete", token_from="/").status_code == 404


def test_404_under_htmx_is_a_small_message(logged_in: Client) -> None:
    response = logged_in.get("/devices/999999", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#messages"
    assert "<html" not in response.get_data(as_text=True)
