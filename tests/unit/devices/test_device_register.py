"""機器登録: licence keys, MAC addresses, an assigned domain, and limits on guessing keys."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, LicenceFactory
from webapp.enums import CommStatus, DeviceKind, LicenceState, ServiceStatus
from webapp.extensions import db
from webapp.identifiers import normalise_licence_key, normalise_mac
from webapp.models import AuditEvent, Device, Licence, NotificationSetting
from webapp.services.licences import format_licence_key


def issue(app: Flask, **kwargs: object) -> str:
    """Issue a licence and return its key as printed for the customer."""
    kwargs.setdefault("state", LicenceState.UNUSED)
    with app.app_context():
        return format_licence_key(LicenceFactory(**kwargs).key)


def form(key: str, **overrides: str) -> dict[str, str]:
    return {
        "licence_key": key,
        "name": "正面玄関",
        "model": "WV-S1131",
        "mac": "00:80:45:12:34:56",
        "kind": "camera",
        **overrides,
    }


def register(client: Client, data: dict[str, str]):
    return client.post_form("/devices/new", data)


def device_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Device)) or 0


def test_register_button_and_form(logged_in: Client) -> None:
    assert 'href="/devices/new">機器登録</a>' in logged_in.get("/devices").get_data(as_text=True)
    html = logged_in.get("/devices/new").get_data(as_text=True)
    for label in (
        "ライセンスキー",
        "機器名",
        "品番",
        "MACアドレス",
        "ネットワークカメラ",
        "レコーダー",
    ):
        assert label in html
    assert ">登録</button>" in html


def test_registration_binds_the_key_and_assigns_a_domain(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    key = issue(app)
    response = register(logged_in, form(key.lower().replace("-", " "), mac="00-80-45-ab-cd-01"))
    assert response.status_code == 303
    device_id = int(re.search(r"/devices/(\d+)", response.headers["Location"]).group(1))
    with app.app_context():
        device = db.session.get(Device, device_id)
        assert device.contract_id == contractor.contract_id
        assert device.mac == "008045ABCD01"
        assert device.kind is DeviceKind.CAMERA
        assert re.fullmatch(r"[a-z0-9]{10}\.miemasu\.net", device.domain)
        assert device.service_status is ServiceStatus.AWAITING_SETUP
        assert device.comm_status is CommStatus.NEVER_CONNECTED
        assert device.setup_completed_at is None
        assert device.licence.state is LicenceState.IN_USE
        assert device.licence.contract_id == contractor.contract_id
        assert db.session.get(NotificationSetting, device_id) is not None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "device.register"))
        assert event.target_id == device_id
        assert key.replace("-", "") not in str(event.detail)  # the key is masked in the log
    # 機器情報 shows the device's API secret this once.
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "機器「正面玄関」を登録しました。" in page
    assert "未完了" in page
    assert "機器認証キー" in page
    assert "機器認証キー" not in logged_in.get(response.headers["Location"]).get_data(as_text=True)


def test_recorders_register_too(app: Flask, logged_in: Client) -> None:
    response = register(logged_in, form(issue(app), kind="recorder", model="wj-nx300"))
    assert response.status_code == 303
    with app.app_context():
        device = db.session.scalars(select(Device)).one()
        assert device.kind is DeviceKind.RECORDER
        assert device.model == "WJ-NX300"


@pytest.mark.parametrize(
    ("licence", "message"),
    [
        ({"state": LicenceState.IN_USE}, "このライセンスキーは既に使用されています。"),
        ({"state": LicenceState.REVOKED}, "このライセンスキーは失効しています。"),
        (
            {
                "starts_on": dt.date(2020, 1, 1),
                "ends_on": dt.date(2020, 12, 31),
            },
            "このライセンスキーは有効期限が切れています。",
        ),
    ],
)
def test_unusable_keys_are_refused_with_their_reason(
    app: Flask, logged_in: Client, licence: dict, message: str
) -> None:
    response = register(logged_in, form(issue(app, **licence)))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'id="licence_key-error"' in html
    assert device_count(app) == 0


def test_unknown_and_foreign_keys_read_the_same(
    app: Flask, logged_in: Client, stranger: Account
) -> None:
    foreign = issue(app, contract_id=stranger.contract_id)
    for key in ("ABCD-EFGH-JKMN-PQRS-TVWX", foreign):
        html = register(logged_in, form(key)).get_data(as_text=True)
        assert "このライセンスキーは登録されていません。" in html
    assert device_count(app) == 0


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"licence_key": ""}, "licence_key", "ライセンスキーを入力してください。"),
        ({"licence_key": "ABC"}, "licence_key", "ライセンスキーの形式が正しくありません。"),
        ({"name": ""}, "name", "機器名を入力してください。"),
        ({"name": "あ" * 41}, "name", "40文字以内"),
        ({"model": "ＷＶ－Ｓ１１３１"}, "model", "品番は半角英数字"),
        ({"mac": "00:80:45:12:34"}, "mac", "MACアドレスの形式が正しくありません。"),
        ({"mac": "GG:80:45:12:34:56"}, "mac", "MACアドレスの形式が正しくありません。"),
        ({"mac": "01:00:5E:00:00:01"}, "mac", "MACアドレスの形式が正しくありません。"),
        ({"mac": "FF:FF:FF:FF:FF:FF"}, "mac", "MACアドレスの形式が正しくありません。"),
        ({"kind": "drone"}, "kind", "一覧から選択してください。"),
    ],
)
def test_bad_fields_get_a_message_next_to_them(
    app: Flask, logged_in: Client, overrides: dict, field: str, message: str
) -> None:
    key = issue(app)
    response = register(logged_in, form(key, **overrides))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert message in html
    assert device_count(app) == 0
    with app.app_context():
        assert db.session.scalars(select(Licence)).one().state is LicenceState.UNUSED


def test_a_registered_mac_is_refused(app: Flask, logged_in: Client, stranger: Account) -> None:
    with app.app_context():
        DeviceFactory(contract_id=stranger.contract_id, mac="008045123456")
    key = issue(app)
    response = register(logged_in, form(key, mac="0080.4512.3456"))
    assert response.status_code == 422
    assert "このMACアドレスの機器は既に登録されています。" in response.get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.scalar(select(Licence.state).where(Licence.key == key.replace("-", "")))
            is LicenceState.UNUSED
        )


def test_a_double_submit_opens_the_device_instead_of_failing(app: Flask, logged_in: Client) -> None:
    data = form(issue(app))
    token = logged_in.csrf_token("/devices/new")
    first = logged_in.post("/devices/new", data={**data, "csrf_token": token})
    second = logged_in.post("/devices/new", data={**data, "csrf_token": token})
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert device_count(app) == 1


def test_the_same_key_for_another_device_is_in_use(app: Flask, logged_in: Client) -> None:
    key = issue(app)
    register(logged_in, form(key))
    response = register(logged_in, form(key, mac="00:80:45:99:99:99"))
    assert response.status_code == 422
    assert "既に使用されています" in response.get_data(as_text=True)


def test_wrong_keys_are_rate_limited_per_contract(app: Flask, logged_in: Client) -> None:
    good = issue(app)
    for _ in range(10):
        assert register(logged_in, form("ABCD-EFGH-JKMN-PQRS-TVWX")).status_code == 422
    blocked = register(logged_in, form(good))
    assert blocked.status_code == 429
    html = blocked.get_data(as_text=True)
    assert "操作の回数が上限に達しました。" in html
    assert "分後にもう一度お試しください" in html
    assert int(blocked.headers["Retry-After"]) > 0
    assert device_count(app) == 0


def test_other_mistakes_do_not_count_against_the_key_limit(app: Flask, logged_in: Client) -> None:
    key = issue(app)
    for _ in range(12):
        assert register(logged_in, form(key, mac="bad")).status_code == 422
    assert register(logged_in, form(key)).status_code == 303


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("00:80:45:ab:cd:ef", "008045ABCDEF"),
        ("00-80-45-AB-CD-EF", "008045ABCDEF"),
        ("0080.45ab.cdef", "008045ABCDEF"),
        (" 008045abcdef ", "008045ABCDEF"),
        ("00:00:00:00:00:00", None),
        ("01:80:45:AB:CD:EF", None),
        ("00:80:45:AB:CD", None),
        ("00:80:45:AB:CD:EF:01", None),
    ],
)
def test_mac_notations(typed: str, stored: str | None) -> None:
    assert normalise_mac(typed) == stored


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("abcd-efgh-jkmn-pqrs-tvwx", "ABCDEFGHJKMNPQRSTVWX"),
        ("ABCD EFGH JKMN PQRS TVWX", "ABCDEFGHJKMNPQRSTVWX"),
        ("0I0L-0O00-0000-0000-0000", "01010000000000000000"),  # misread letters
        ("ABCD-EFGH-JKMN-PQRS-TVWU", None),  # U is not in the alphabet
        ("ABCD-EFGH", None),
    ],
)
def test_licence_key_notations(typed: str, stored: str | None) -> None:
    assert normalise_licence_key(typed) == stored


def test_every_mistake_shows_at_once(app: Flask, logged_in: Client) -> None:
    response = register(
        logged_in, form("ABCD-EFGH-JKMN-PQRS-TVWX", mac="00-80-45-zz-cd-99", name="")
    )
    html = response.get_data(as_text=True)
    assert "このライセンスキーは登録されていません。" in html
    assert "MACアドレスの形式が正しくありません。" in html
    assert "機器名を入力してください。" in html
