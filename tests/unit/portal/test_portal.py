"""The portal: device tiles with their status, the menu bar and the management menu."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory
from webapp.enums import CommStatus, Plan, RecordingStatus
from webapp.filters import recording_badge
from webapp.models import Device, Licence


def test_root_sends_visitors_to_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_portal_shows_tiles_with_status_text(
    app: Flask, logged_in: Client, contractor: Account, stranger: Account
) -> None:
    with app.app_context():
        DeviceFactory(
            contract_id=contractor.contract_id,
            name="正面玄関",
            comm_status=CommStatus.OFFLINE,
            recording_status=RecordingStatus.STOPPED,
        )
        DeviceFactory(contract_id=stranger.contract_id, name="よその倉庫")
    html = logged_in.get("/").get_data(as_text=True)
    assert "正面玄関" in html
    assert "通信断" in html
    assert "録画停止中" in html
    assert "よその倉庫" not in html
    assert "登録機器: 1台" in html
    assert ">設定</a>" in html
    assert ">ログアウト</button>" in html


def test_portal_pages_through_many_devices(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        for n in range(61):
            DeviceFactory(contract_id=contractor.contract_id, name=f"Tile {n:02d}")
    first = logged_in.get("/").get_data(as_text=True)
    assert "Tile 59" in first and "Tile 60" not in first
    second = logged_in.get("/?page=2").get_data(as_text=True)
    assert "Tile 60" in second
    assert "2 / 2 ページ" in second


@pytest.mark.parametrize(
    ("comm_status", "muted"),
    [(CommStatus.NEVER_CONNECTED, True), (CommStatus.OFFLINE, False), (CommStatus.ONLINE, False)],
)
def test_the_recording_badge_is_muted_until_the_device_first_connects(
    app: Flask, comm_status: CommStatus, muted: bool
) -> None:
    device = Device(
        comm_status=comm_status,
        recording_status=RecordingStatus.STOPPED,
        licence=Licence(plan=Plan.RECORDING_7),
    )
    with app.test_request_context():
        html = recording_badge(device)
    assert ("badge-muted" in html) is muted
    assert ("badge-stopped" in html) is not muted
    assert ">録画停止中</span>" in html  # muted or not, the text says what it is


def test_every_screen_mutes_the_recording_status_of_a_device_never_connected(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        device_id = DeviceFactory(
            contract_id=contractor.contract_id,
            comm_status=CommStatus.NEVER_CONNECTED,
            recording_status=RecordingStatus.STOPPED,
        ).id
    for path in (
        "/",
        "/devices?view=comm",
        f"/devices/{device_id}",
        f"/devices/{device_id}/service",
    ):
        html = logged_in.get(path).get_data(as_text=True)
        assert '<span class="badge badge-muted">録画停止中</span>' in html, path


def test_management_menu(logged_in: Client) -> None:
    html = logged_in.get("/devices").get_data(as_text=True)
    for label in ("機器管理", "ユーザー管理", "契約者情報設定", "通知メール設定", "規約", "戻る"):
        assert f">{label}</a>" in html, label
    for path in ("/users", "/notifications", "/terms", "/account"):
        assert logged_in.get(path).status_code == 200, path


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/users", "ユーザー管理"),
        ("/users/new", "ユーザー登録"),
        ("/account", "契約者情報確認"),
        ("/account/edit", "契約者情報の変更"),
        ("/notifications", "通知メール設定"),
        ("/terms", "規約"),
        ("/devices/new", "機器登録"),
        ("/account/withdraw", "退会最終確認"),
    ],
)
def test_a_screen_is_headed_by_its_title_as_a_page_and_as_a_partial(
    logged_in: Client, path: str, title: str
) -> None:
    page = logged_in.get(path).get_data(as_text=True)
    assert f"<title>{title} | " in page
    assert re.search(f"<h1[^>]*>{title}</h1>", page)
    partial = logged_in.get(path, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<title>" not in partial
    assert re.search(f"<h1[^>]*>{title}</h1>", partial)


def test_empty_portal(logged_in: Client) -> None:
    assert "登録されている機器はありません。" in logged_in.get("/").get_data(as_text=True)
