"""Deleting a device: acknowledgements, one transaction, files after commit, twice is safe."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, add_recordings
from webapp import storage
from webapp.enums import LicenceState
from webapp.extensions import db
from webapp.models import AuditEvent, Device, Licence, NotificationSetting, Recording

ACK_LICENCE = "ライセンスの有効期限が残っている場合でもライセンスキーを再利用することができません。"
ACK_DATA = "機器の設定や通知情報、録画データ等が削除されます。"
BOTH = {"ack_licence": "y", "ack_data": "y"}


@pytest.fixture
def device(app: Flask, contractor: Account) -> dict[str, object]:
    """A camera with recordings on disk; returns its ids and file paths."""
    with app.app_context():
        camera = DeviceFactory(
            contract_id=contractor.contract_id, name="Camera0A", domain="camera0a.miemasu.test"
        )
        recordings = add_recordings(camera, count=3)
        return {
            "id": camera.id,
            "licence_id": camera.licence_id,
            "files": [storage.path_for(r.storage_key) for r in recordings],
        }


def counts(app: Flask, device_id: int) -> dict[str, int]:
    with app.app_context():
        return {
            "device": db.session.scalar(select(func.count()).where(Device.id == device_id)),
            "recordings": db.session.scalar(
                select(func.count()).where(Recording.device_id == device_id)
            ),
            "settings": db.session.scalar(
                select(func.count()).where(NotificationSetting.device_id == device_id)
            ),
        }


def test_confirmation_shows_the_device_and_both_acknowledgements(
    logged_in: Client, device: dict
) -> None:
    response = logged_in.get(f"/devices/{device['id']}/delete")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in (
        "機器情報を削除します。",
        "Camera0A",
        "camera0a.miemasu.test",
        ACK_LICENCE,
        ACK_DATA,
        "再度、機器登録を行った場合でもデータは引き継ぐことはできません。",
        "払い戻しは行いません",
        ">機器の交換</a>」",
        "キャンセル",
        ">削除</button>",
    ):
        assert text in html, text
    assert '<label for="ack_licence">' in html
    assert '<label for="ack_data">' in html


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"ack_licence": "y"},
        {"ack_data": "y"},
        {"ack_licence": "on", "ack_data": "on"},  # only the checkbox's own value counts
        {"ack_licence": "true", "ack_data": "1"},
        {"ack_licence": "", "ack_data": ""},
        {"ack_licence": ["y", "y"], "ack_data": "y"},
    ],
)
def test_delete_is_refused_without_every_acknowledgement(
    app: Flask, logged_in: Client, device: dict, data: dict
) -> None:
    response = logged_in.post_form(f"/devices/{device['id']}/delete", data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "確認事項を読み、チェックボックスにチェックしてください。" in html
    assert "機器は削除されていません" in html
    assert counts(app, device["id"]) == {"device": 1, "recordings": 3, "settings": 1}
    assert all(path.exists() for path in device["files"])


def test_delete_removes_everything_and_revokes_the_licence(
    app: Flask, logged_in: Client, device: dict, contractor: Account
) -> None:
    response = logged_in.post_form(
        f"/devices/{device['id']}/delete", {**BOTH, "reason": "移転のため"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/devices"
    assert counts(app, device["id"]) == {"device": 0, "recordings": 0, "settings": 0}
    assert not any(path.exists() for path in device["files"])
    with app.app_context():
        licence = db.session.get(Licence, device["licence_id"])
        assert licence.state is LicenceState.REVOKED
        assert licence.revoked_at is not None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "device.delete"))
        assert event.contract_id == contractor.contract_id
        assert event.target_id == device["id"]
        assert event.actor_email == contractor.email
        assert event.summary == "Camera0A"
        assert event.detail["reason"] == "移転のため"
        assert event.detail["recordings"] == 3

    listing = logged_in.get("/devices").get_data(as_text=True)
    assert "機器「Camera0A」を削除しました。" in listing
    assert "表示件数: 0 / 0" in listing


def test_a_revoked_licence_can_never_be_used_again(
    app: Flask, logged_in: Client, device: dict
) -> None:
    logged_in.post_form(f"/devices/{device['id']}/delete", BOTH)
    with app.app_context():
        licence = db.session.get(Licence, device["licence_id"])
        licence.ends_on = licence.ends_on.replace(year=licence.ends_on.year + 5)
        db.session.commit()
        assert licence.effective_state() is LicenceState.REVOKED


def test_a_second_submit_says_already_deleted(app: Flask, logged_in: Client, device: dict) -> None:
    token = logged_in.csrf_token(f"/devices/{device['id']}/delete")
    first = logged_in.post(f"/devices/{device['id']}/delete", data={**BOTH, "csrf_token": token})
    assert first.status_code == 303
    second = logged_in.post(f"/devices/{device['id']}/delete", data={**BOTH, "csrf_token": token})
    assert second.status_code == 410
    assert "この機器は既に削除されています。" in second.get_data(as_text=True)
    # A stale tab on the detail page hears the same.
    stale = logged_in.get(f"/devices/{device['id']}")
    assert stale.status_code == 410
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "device.delete")
        ).all()
        assert len(events) == 1


def test_a_concurrent_deletion_is_reported_not_crashed(
    app: Flask, logged_in: Client, device: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request deletes the device between our lookup and our delete."""
    from webapp.devices import views
    from webapp.services import devices as service

    real = service.delete_device

    def racing_delete(target: Device, **kwargs: object) -> None:
        with app.app_context():
            db.session.execute(
                Device.__table__.delete().where(Device.id == target.id)  # type: ignore[attr-defined]
            )
            db.session.commit()
        real(target, **kwargs)

    monkeypatch.setattr(views, "delete_device", racing_delete)
    response = logged_in.post_form(f"/devices/{device['id']}/delete", BOTH)
    assert response.status_code == 410
    assert "既に削除されています" in response.get_data(as_text=True)
    with app.app_context():
        # Nothing of ours was half-done: the licence was not revoked by the failed attempt.
        assert db.session.get(Licence, device["licence_id"]).state is LicenceState.IN_USE


def test_a_failure_inside_the_transaction_changes_nothing(
    app: Flask, logged_in: Client, device: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webapp.services import devices as service

    def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(service, "record_event", broken_audit)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does: a 500 page
    response = logged_in.post_form(f"/devices/{device['id']}/delete", BOTH)
    assert response.status_code == 500
    assert "処理は完了していません" in response.get_data(as_text=True)
    assert counts(app, device["id"]) == {"device": 1, "recordings": 3, "settings": 1}
    assert all(path.exists() for path in device["files"])
    with app.app_context():
        assert db.session.get(Licence, device["licence_id"]).state is LicenceState.IN_USE


def test_delete_under_htmx_redirects_the_whole_page(logged_in: Client, device: dict) -> None:
    token = logged_in.csrf_token(f"/devices/{device['id']}/delete")
    response = logged_in.post(
        f"/devices/{device['id']}/delete",
        data=BOTH,
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/devices"


def test_refusal_under_htmx_swaps_the_confirmation_with_errors(
    logged_in: Client, device: dict
) -> None:
    token = logged_in.csrf_token(f"/devices/{device['id']}/delete")
    response = logged_in.post(
        f"/devices/{device['id']}/delete",
        data={"ack_licence": "y"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" not in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="ack_data-error"' in html


def test_delete_keeps_the_list_state_after_deletion(logged_in: Client, device: dict) -> None:
    response = logged_in.post_form(
        f"/devices/{device['id']}/delete?back=view%3Dcomm%26name%3DCam", BOTH
    )
    assert response.headers["Location"] == "/devices?name=Cam&view=comm"


def test_delete_without_csrf_is_refused(app: Flask, logged_in: Client, device: dict) -> None:
    response = logged_in.post(f"/devices/{device['id']}/delete", data=BOTH)
    assert response.status_code == 400
    assert counts(app, device["id"])["device"] == 1


def test_cancel_changes_nothing(app: Flask, logged_in: Client, device: dict) -> None:
    html = logged_in.get(f"/devices/{device['id']}/delete").get_data(as_text=True)
    assert f'href="/devices/{device["id"]}">キャンセル</a>' in html
    logged_in.get(f"/devices/{device['id']}")
    assert counts(app, device["id"]) == {"device": 1, "recordings": 3, "settings": 1}


def test_the_overlong_reason_is_refused(app: Flask, logged_in: Client, device: dict) -> None:
    response = logged_in.post_form(
        f"/devices/{device['id']}/delete", {**BOTH, "reason": "あ" * 1001}
    )
    assert response.status_code == 422
    assert "1000文字以内" in response.get_data(as_text=True)
    assert counts(app, device["id"])["device"] == 1


def test_files_already_missing_do_not_block_deletion(
    app: Flask, logged_in: Client, device: dict
) -> None:
    for path in device["files"]:
        Path(path).unlink()
    assert logged_in.post_form(f"/devices/{device['id']}/delete", BOTH).status_code == 303
    assert counts(app, device["id"])["device"] == 0


def test_a_stale_panel_under_htmx_goes_back_to_the_list(logged_in: Client, device: dict) -> None:
    logged_in.post_form(f"/devices/{device['id']}/delete", BOTH)
    response = logged_in.get(f"/devices/{device['id']}/licence", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/devices"
    listing = logged_in.get("/devices").get_data(as_text=True)
    assert "機器「Camera0A」は既に削除されています。" in listing
