"""変更画面へ, 機器設定 and 機器の交換, and a licence's term deciding the service."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, LicenceFactory, add_recordings
from webapp import clock
from webapp.enums import CommStatus, DeviceKind, LicenceState, ServiceStatus
from webapp.extensions import db
from webapp.models import AuditEvent, Device, DeviceExchange, Licence, Recording
from webapp.services.device_reports import issue_api_secret


@pytest.fixture
def camera(app: Flask, contractor: Account) -> int:
    with app.app_context():
        device = DeviceFactory(
            contract_id=contractor.contract_id,
            name="Camera0A",
            domain="camera0a.miemasu.net",
            mac="008045000A0A",
            camera_admin_user="admin",
            camera_admin_password="old-admin-pass",
        )
        issue_api_secret(device)  # a camera that works
        add_recordings(device, count=2)
        return device.id


def load(app: Flask, device_id: int) -> Device:
    with app.app_context():
        device = db.session.get(Device, device_id)
        # Touch the deferred and related columns while the session is open.
        _ = (device.camera_admin_password, device.camera_list_password, device.licence.state)
        db.session.expunge(device)
        return device


# --- 変更画面へ -------------------------------------------------------------------------


def test_detail_offers_every_action_of_the_manual(logged_in: Client, camera: int) -> None:
    html = logged_in.get(f"/devices/{camera}").get_data(as_text=True)
    for label in ("機器設定", "機器削除 (機器の解約)", "機器の交換", "戻る", "変更画面へ"):
        assert f">{label}</" in html, label


def test_edit_form_never_shows_a_password(logged_in: Client, camera: int) -> None:
    html = logged_in.get(f"/devices/{camera}/edit").get_data(as_text=True)
    assert "old-admin-pass" not in html
    assert 'value="Camera0A"' in html
    assert 'value="camera0a.miemasu.net"' in html
    for label in (
        "機器名",
        "ドメイン名",
        "カメラの管理",
        "カメラの一覧",
        "ユーザー ID",
        "パスワード",
    ):
        assert label in html
    assert ">変更</button>" in html
    assert ">戻る</a>" in html


def test_edit_changes_name_domain_and_credentials(
    app: Flask, logged_in: Client, camera: int
) -> None:
    response = logged_in.post_form(
        f"/devices/{camera}/edit",
        {
            "name": " 裏口カメラ ",
            "domain": "Backdoor-01",
            "camera_admin_user": "admin2",
            "camera_admin_password": "",
            "camera_list_user": "viewer",
            "camera_list_password": "view-pass",
        },
    )
    assert response.status_code == 303
    device = load(app, camera)
    assert device.name == "裏口カメラ"
    assert device.domain == "backdoor-01.miemasu.net"
    assert device.camera_admin_user == "admin2"
    assert device.camera_admin_password == "old-admin-pass"  # empty keeps it
    assert (device.camera_list_user, device.camera_list_password) == ("viewer", "view-pass")
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "device.update"))
        assert set(event.detail["fields"]) >= {"name", "domain", "camera_list_password"}
        assert "view-pass" not in str(event.detail)
    assert "機器情報を変更しました。" in logged_in.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_an_empty_viewing_user_falls_back_to_the_management_pair(
    app: Flask, logged_in: Client, camera: int
) -> None:
    with app.app_context():
        device = db.session.get(Device, camera)
        device.camera_list_user, device.camera_list_password = "viewer", "view-pass"
        db.session.commit()
    logged_in.post_form(
        f"/devices/{camera}/edit",
        {"name": "Camera0A", "domain": "camera0a", "camera_admin_user": "admin"},
    )
    device = load(app, camera)
    assert (device.camera_list_user, device.camera_list_password) == (None, None)
    html = logged_in.get(f"/devices/{camera}").get_data(as_text=True)
    assert "(カメラの管理と同じ)" in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "機器名を入力してください。"),
        ({"domain": "under_score"}, "domain", "ドメイン名は半角英小文字"),
        ({"domain": "a.b"}, "domain", "ドメイン名は半角英小文字"),
        ({"domain": "-start"}, "domain", "ドメイン名は半角英小文字"),
        ({"domain": "x.other-service.com"}, "domain", "ドメイン名は半角英小文字"),
        ({"camera_admin_user": "ad min"}, "camera_admin_user", "空白は使えません"),
        ({"camera_admin_user": ""}, "camera_admin_password", None),
        ({"camera_list_user": "viewer"}, "camera_list_password", "パスワードを入力してください。"),
        (
            {"camera_list_password": "orphan"},
            "camera_list_password",
            "ユーザー IDも入力してください。",
        ),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(
    app: Flask, logged_in: Client, camera: int, data: dict, field: str, message: str | None
) -> None:
    base = {"name": "Camera0A", "domain": "camera0a", "camera_admin_user": "admin"}
    if field == "camera_admin_password":
        # Clearing the management user clears its pair: allowed, and nothing else changes.
        response = logged_in.post_form(f"/devices/{camera}/edit", {**base, **data})
        assert response.status_code == 303
        assert load(app, camera).camera_admin_password is None
        return
    response = logged_in.post_form(f"/devices/{camera}/edit", {**base, **data})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert message in html
    device = load(app, camera)
    assert device.name == "Camera0A" and device.domain == "camera0a.miemasu.net"


def test_a_domain_in_use_is_refused(
    app: Flask, logged_in: Client, camera: int, stranger: Account
) -> None:
    with app.app_context():
        DeviceFactory(contract_id=stranger.contract_id, domain="taken.miemasu.net")
    response = logged_in.post_form(
        f"/devices/{camera}/edit",
        {"name": "x", "domain": "taken.miemasu.net", "camera_admin_user": "admin"},
    )
    assert response.status_code == 422
    assert "このドメイン名は既に使われています。" in response.get_data(as_text=True)


def test_recorders_have_no_camera_fields_to_edit(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        recorder = DeviceFactory(
            contract_id=contractor.contract_id,
            kind=DeviceKind.RECORDER,
            camera_admin_user=None,
            camera_admin_password=None,
        ).id
    assert "カメラの管理" not in logged_in.get(f"/devices/{recorder}/edit").get_data(as_text=True)
    response = logged_in.post_form(
        f"/devices/{recorder}/edit",
        {"name": "録画機", "domain": "nvr", "camera_admin_user": "sneaky"},
    )
    assert response.status_code == 303
    assert load(app, recorder).camera_admin_user is None


def test_another_contractors_device_cannot_be_edited(
    app: Flask, logged_in: Client, stranger: Account
) -> None:
    with app.app_context():
        foreign = DeviceFactory(contract_id=stranger.contract_id, name="よその").id
    for path in ("edit", "exchange"):
        assert logged_in.get(f"/devices/{foreign}/{path}").status_code == 404
    response = logged_in.post_form(
        f"/devices/{foreign}/edit", {"name": "乗っ取り", "domain": "x"}, token_from="/devices"
    )
    assert response.status_code == 404
    assert (
        logged_in.post_form(f"/devices/{foreign}/setup", token_from="/devices").status_code == 404
    )
    assert load(app, foreign).name == "よその"


# --- 機器設定 -----------------------------------------------------------------------------


SHOWN = 'id="api-secret-value"'  # the new secret on screen


def heartbeat_with(app: Flask, device_id: int, secret: str) -> Any:
    return app.test_client().post(
        f"/api/v1/devices/{device_id}/heartbeat",
        headers={"Authorization": f"Bearer {secret}"},
        json={},
    )


def test_setup_asks_first_and_changes_nothing_until_confirmed(
    app: Flask, logged_in: Client, camera: int
) -> None:
    before = load(app, camera)
    detail = logged_in.get(f"/devices/{camera}").get_data(as_text=True)
    # 「機器設定」 opens the confirmation (a GET): a page of its own, and the same as a swap.
    assert f'action="/devices/{camera}/setup"' in detail and 'method="get"' in detail
    page = logged_in.get(f"/devices/{camera}/setup")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1" in html and "Camera0A" in html and "camera0a.miemasu.net" in html
    assert "新しい機器認証キーを発行します" in html
    assert "発行された新しいキーを機器に設定してください" in html
    assert "24時間" in html
    assert f'href="/devices/{camera}">キャンセル</a>' in html
    assert ">新しい機器認証キーを発行</button>" in html
    swapped = logged_in.get(f"/devices/{camera}/setup", headers={"HX-Request": "true"})
    assert swapped.status_code == 200 and "<html" not in swapped.get_data(as_text=True)
    assert ">新しい機器認証キーを発行</button>" in swapped.get_data(as_text=True)
    # Looking (and キャンセル) changes nothing.
    after = load(app, camera)
    assert after.setup_completed_at == before.setup_completed_at
    assert after.api_secret_issued_at == before.api_secret_issued_at
    with app.app_context():
        assert (
            db.session.scalar(select(AuditEvent).where(AuditEvent.action == "device.setup")) is None
        )


def test_setup_issues_a_secret_and_waits_for_the_devices_first_heartbeat(
    app: Flask, logged_in: Client, camera: int
) -> None:
    assert "✓完了 (設定日時:" in logged_in.get(f"/devices/{camera}").get_data(as_text=True)
    response = logged_in.submit_form(f"/devices/{camera}/setup")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/devices/{camera}"
    html = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert SHOWN in html  # the device's new API secret, shown this once
    assert "機器「Camera0A」の新しい機器認証キーを発行しました。機器に設定してください。" in html
    assert "機器設定が完了しました" not in html
    # 未完了 and 設定待ち until the device reports with the new secret.
    assert "<td>未完了</td>" in html and "設定待ち" in html
    device = load(app, camera)
    assert device.setup_completed_at is None
    assert device.service_status is ServiceStatus.AWAITING_SETUP
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "device.setup"))


def test_setup_completes_at_the_first_heartbeat_with_the_new_secret(
    app: Flask, logged_in: Client, camera: int
) -> None:
    app.config["SESSION_IDLE_MINUTES"] = 24 * 60  # the contractor looks again hours later
    clicked = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    heard = clicked + dt.timedelta(hours=2, minutes=30)

    def tokyo(moment: dt.datetime) -> str:
        return moment.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y/%m/%d %H:%M")

    with time_machine.travel(clicked, tick=False):
        response = logged_in.submit_form(f"/devices/{camera}/setup")
        html = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    secret = html.split(f'{SHOWN} class="mono" type="text" value="')[1].split('"')[0]
    # The page says the device may go on with its old secret, and until when.
    until = tokyo(clicked + dt.timedelta(hours=24))
    assert f"それまで機器は以前のキーで接続できます ({until}まで)" in html
    with time_machine.travel(heard, tick=False):
        assert heartbeat_with(app, camera, secret).status_code == 200
    with time_machine.travel(heard + dt.timedelta(minutes=5), tick=False):
        assert heartbeat_with(app, camera, secret).status_code == 200
        html = logged_in.get(f"/devices/{camera}").get_data(as_text=True)
    # 完了 with that heartbeat's time, not the click's (nor the later heartbeat's).
    assert f"✓完了 (設定日時: {tokyo(heard)})" in html
    assert "サービス有効" in html and "以前のキー" not in html
    assert load(app, camera).service_status is ServiceStatus.ACTIVE


def test_registration_is_set_up_by_the_first_heartbeat(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        key = LicenceFactory(contract_id=contractor.contract_id, state=LicenceState.UNUSED).key
    response = logged_in.post_form(
        "/devices/new",
        {
            "licence_key": key,
            "name": "新カメラ",
            "model": "WV-S1131",
            "mac": "00:80:45:12:34:56",
            "kind": "camera",
        },
    )
    html = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "表示された機器認証キーを機器に設定してください。" in html
    assert "<td>未完了</td>" in html
    secret = html.split(f'{SHOWN} class="mono" type="text" value="')[1].split('"')[0]
    device_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert heartbeat_with(app, device_id, secret).status_code == 200
    device = load(app, device_id)
    assert device.setup_completed_at == device.last_heartbeat_at is not None
    assert device.service_status is ServiceStatus.ACTIVE


def test_a_double_submitted_setup_issues_one_secret(
    app: Flask, logged_in: Client, camera: int
) -> None:
    fields = logged_in.hidden_fields(f"/devices/{camera}/setup")
    first = logged_in.post(f"/devices/{camera}/setup", data=fields)
    issued = load(app, camera).api_secret_issued_at
    again = logged_in.post(f"/devices/{camera}/setup", data=fields)
    assert (first.status_code, again.status_code) == (303, 303)
    assert load(app, camera).api_secret_issued_at == issued
    html = logged_in.get(again.headers["Location"]).get_data(as_text=True)
    # This browser kept the first answer: its secret, still the device's, is shown.
    assert SHOWN in html
    assert "新しい機器認証キーは既に発行されています。" in html
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "device.setup"))
        assert len(events.all()) == 1


def test_a_setup_confirmed_in_another_tab_meanwhile_issues_nothing(
    app: Flask, logged_in: Client, camera: int
) -> None:
    stale = logged_in.hidden_fields(f"/devices/{camera}/setup")
    assert logged_in.submit_form(f"/devices/{camera}/setup").status_code == 303
    logged_in.get(f"/devices/{camera}")  # the other tab showed its secret
    issued = load(app, camera).api_secret_issued_at
    late = logged_in.post(f"/devices/{camera}/setup", data=stale, headers={"HX-Request": "true"})
    assert late.status_code == 200 and late.headers["HX-Redirect"] == f"/devices/{camera}"
    assert load(app, camera).api_secret_issued_at == issued
    html = logged_in.get(f"/devices/{camera}").get_data(as_text=True)
    assert SHOWN not in html
    assert "表示されていない場合は、もう一度「機器設定」を行ってください。" in html


def test_setup_needs_a_live_licence(app: Flask, logged_in: Client, contractor: Account) -> None:
    """No input can mend it: 409 with the reason on the confirmation, and nothing issued."""
    with app.app_context():
        device_id = DeviceFactory(
            contract_id=contractor.contract_id,
            setup_completed_at=None,
            service_status=ServiceStatus.AWAITING_SETUP,
            licence=LicenceFactory(
                contract_id=contractor.contract_id,
                starts_on=dt.date(2020, 1, 1),
                ends_on=dt.date(2020, 12, 31),
            ),
        ).id
    response = logged_in.submit_form(f"/devices/{device_id}/setup")
    assert response.status_code == 409
    assert "ライセンスが有効ではないため、この操作は行えません。" in response.get_data(as_text=True)
    assert load(app, device_id).api_secret_issued_at is None


def test_a_setup_without_its_confirmation_is_refused(
    app: Flask, logged_in: Client, camera: int
) -> None:
    """A POST that did not come from the confirmation (no secret named): 422, nothing issued."""
    issued = load(app, camera).api_secret_issued_at
    response = logged_in.post_form(f"/devices/{camera}/setup")
    assert response.status_code == 422
    assert ">新しい機器認証キーを発行</button>" in response.get_data(as_text=True)
    assert load(app, camera).api_secret_issued_at == issued


def test_setup_of_a_deleted_device_is_gone(app: Flask, logged_in: Client, camera: int) -> None:
    from webapp.services.devices import delete_device

    fields = logged_in.hidden_fields(f"/devices/{camera}/setup")
    with app.app_context():
        delete_device(db.session.get(Device, camera))
    assert logged_in.post(f"/devices/{camera}/setup", data=fields).status_code == 410


# --- 機器の交換 ---------------------------------------------------------------------------


def test_exchange_moves_everything_to_the_new_hardware(
    app: Flask, logged_in: Client, camera: int
) -> None:
    before = load(app, camera)
    page = logged_in.get(f"/devices/{camera}/exchange").get_data(as_text=True)
    assert "00:80:45:00:0A:0A" in page
    assert ">交換</button>" in page
    response = logged_in.post_form(
        f"/devices/{camera}/exchange", {"model": "wv-s2136l", "mac": "00:80:45:FE:DC:BA"}
    )
    assert response.status_code == 303
    after = load(app, camera)
    assert (after.model, after.mac) == ("WV-S2136L", "008045FEDCBA")
    # The licence, its term, name, domain and settings stay; the new hardware needs setup.
    assert after.licence_id == before.licence_id
    assert after.licence.state is LicenceState.IN_USE
    assert (after.name, after.domain) == (before.name, before.domain)
    assert after.camera_admin_password == before.camera_admin_password
    assert after.setup_completed_at is None
    assert after.service_status is ServiceStatus.AWAITING_SETUP
    assert after.comm_status is CommStatus.NEVER_CONNECTED
    with app.app_context():
        assert (
            len(db.session.scalars(select(Recording).where(Recording.device_id == camera)).all())
            == 2
        )
        history = db.session.scalars(select(DeviceExchange)).one()
        assert (history.old_mac, history.new_mac) == ("008045000A0A", "008045FEDCBA")
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "device.exchange"))
    assert "を交換しました。" in logged_in.get(response.headers["Location"]).get_data(as_text=True)


def test_the_old_mac_is_free_after_an_exchange(app: Flask, logged_in: Client, camera: int) -> None:
    logged_in.post_form(f"/devices/{camera}/exchange", {"model": "WV-S1131", "mac": "008045FEDCBA"})
    with app.app_context():
        key = LicenceFactory(state=LicenceState.UNUSED).key
    response = logged_in.post_form(
        "/devices/new",
        {
            "licence_key": key,
            "name": "再利用",
            "model": "WV-S1131",
            "mac": "008045000A0A",
            "kind": "camera",
        },
    )
    assert response.status_code == 303


def test_a_double_submitted_exchange_is_done_once(
    app: Flask, logged_in: Client, camera: int
) -> None:
    token = logged_in.csrf_token(f"/devices/{camera}/exchange")
    data = {"model": "WV-S1131", "mac": "008045FEDCBA", "csrf_token": token}
    assert logged_in.post(f"/devices/{camera}/exchange", data=data).status_code == 303
    again = logged_in.post(f"/devices/{camera}/exchange", data=data)
    assert again.status_code == 303
    assert "交換は既に完了しています" in logged_in.get(again.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context():
        assert len(db.session.scalars(select(DeviceExchange)).all()) == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"model": "", "mac": "008045FEDCBA"}, "model", "品番を入力してください。"),
        ({"model": "WV-S1131", "mac": "nope"}, "mac", "MACアドレスの形式が正しくありません。"),
        ({"model": "WV-S1131", "mac": "008045777777"}, "mac", "既に登録されています"),
    ],
)
def test_bad_exchanges_are_refused(
    app: Flask,
    logged_in: Client,
    camera: int,
    contractor: Account,
    data: dict,
    field: str,
    message: str,
) -> None:
    with app.app_context():
        DeviceFactory(contract_id=contractor.contract_id, mac="008045777777")
    response = logged_in.post_form(f"/devices/{camera}/exchange", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert load(app, camera).mac == "008045000A0A"


def test_an_exchange_under_a_lapsed_licence_is_a_conflict(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    """No input can mend it: 409 with the reason above the form, and nothing moves."""
    with app.app_context():
        device_id = DeviceFactory(
            contract_id=contractor.contract_id,
            mac="008045121212",
            licence=LicenceFactory(
                contract_id=contractor.contract_id,
                starts_on=dt.date(2020, 1, 1),
                ends_on=dt.date(2020, 12, 31),
            ),
        ).id
    response = logged_in.post_form(
        f"/devices/{device_id}/exchange", {"model": "WV-S1131", "mac": "008045343434"}
    )
    assert response.status_code == 409
    assert "ライセンスが有効ではないため、この操作は行えません。" in response.get_data(as_text=True)
    assert load(app, device_id).mac == "008045121212"


# --- Licence time -------------------------------------------------------------------------


def test_an_expired_licence_stops_the_service(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        device_id = DeviceFactory(
            contract_id=contractor.contract_id,
            name="期限切れカメラ",
            licence=LicenceFactory(
                contract_id=contractor.contract_id,
                starts_on=clock.today() - dt.timedelta(days=400),
                ends_on=clock.today() - dt.timedelta(days=1),
            ),
        ).id
        licence = db.session.get(Device, device_id).licence
        assert licence.effective_state() is LicenceState.EXPIRED
    detail = logged_in.get(f"/devices/{device_id}").get_data(as_text=True)
    assert "サービス停止中" in detail
    suspended = logged_in.get("/devices?service_status=suspended").get_data(as_text=True)
    assert "期限切れカメラ" in suspended
    active = logged_in.get("/devices?service_status=active").get_data(as_text=True)
    assert "期限切れカメラ" not in active
    licence_tab = logged_in.get(f"/devices/{device_id}/licence").get_data(as_text=True)
    assert "期限切れ" in licence_tab


def test_the_last_day_of_the_term_is_still_in_use(app: Flask) -> None:
    with app.app_context():
        licence = Licence(
            key="X" * 20,
            plan=LicenceFactory._meta.declarations["plan"],
            starts_on=dt.date(2026, 1, 1),
            ends_on=dt.date(2026, 12, 31),
            state=LicenceState.IN_USE,
        )
        assert licence.effective_state(dt.date(2026, 12, 31)) is LicenceState.IN_USE
        assert licence.effective_state(dt.date(2027, 1, 1)) is LicenceState.EXPIRED
        assert licence.days_left(dt.date(2026, 12, 1)) == 30
