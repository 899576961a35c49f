"""The device API: authentication, heartbeats, 通信状態 and its mails, uploads and limits."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from tests.support.client import Account
from tests.support.factories import DeviceFactory, add_recipient
from tests.support.mail import Mailbox
from webapp import clock, storage
from webapp.enums import CommStatus, LicenceState, Plan, RecordingStatus, ServiceStatus
from webapp.extensions import db
from webapp.models import Contract, Device, Recording, utcnow
from webapp.services.device_reports import issue_api_secret

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
# Captured a few minutes ago (in Tokyo's time, as a camera there sends it): every plan keeps it.
CAPTURED = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).replace(microsecond=0)
CAPTURED_AT = CAPTURED.astimezone(dt.timezone(dt.timedelta(hours=9))).isoformat()


@dataclass
class ApiDevice:
    id: int
    secret: str
    contract_id: int

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


def make_api_device(contract_id: int, **kwargs: Any) -> ApiDevice:
    device = DeviceFactory(contract_id=contract_id, **kwargs)
    secret = issue_api_secret(device)
    db.session.commit()
    return ApiDevice(device.id, secret, contract_id)


@pytest.fixture
def camera(app: Flask, contractor: Account) -> ApiDevice:
    with app.app_context():
        return make_api_device(
            contractor.contract_id, name="正門", comm_status=CommStatus.NEVER_CONNECTED
        )


@pytest.fixture
def api(app: Flask) -> FlaskClient:
    return app.test_client()


def beat(api: FlaskClient, device: ApiDevice, body: Any = None, **kwargs: Any) -> Any:
    return api.post(
        f"/api/v1/devices/{device.id}/heartbeat",
        headers=device.auth,
        json=body if body is not None else {},
        **kwargs,
    )


def upload(
    api: FlaskClient,
    device: ApiDevice,
    data: bytes = PNG,
    *,
    content_type: str = "image/png",
    key: str | None = "upload-1",
    captured_at: str | None = CAPTURED_AT,
) -> Any:
    headers = dict(device.auth)
    if key is not None:
        headers["Idempotency-Key"] = key
    if captured_at is not None:
        headers["X-Captured-At"] = captured_at
    return api.post(
        f"/api/v1/devices/{device.id}/recordings",
        data=data,
        headers=headers,
        content_type=content_type,
    )


def device_row(app: Flask, device_id: int) -> Device:
    with app.app_context():
        device = db.session.get(Device, device_id)
        assert device is not None
        db.session.expunge(device)
        return device


def recordings_of(app: Flask, device_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(Recording).where(Recording.device_id == device_id)
        )


def assert_json_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error", "message"} and body["message"]
    if code:
        assert body["error"] == code
    return body


# --- The document -------------------------------------------------------------------------


def test_the_openapi_document_describes_every_route(app: Flask, api: FlaskClient) -> None:
    from openapi_spec_validator import validate

    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    documented = {f"/api/v1{path}" for path in document["paths"]}
    routes = {
        rule.rule.replace("<id:device_id>", "{device_id}")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    }
    assert routes == documented


# --- Authentication -----------------------------------------------------------------------


def test_a_device_reads_itself_with_its_secret(api: FlaskClient, camera: ApiDevice) -> None:
    response = api.get(f"/api/v1/devices/{camera.id}", headers=camera.auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == camera.id and body["name"] == "正門"
    assert body["comm_status"] == "never" and body["licence"]["state"] == "in_use"
    assert body["heartbeat_interval_seconds"] == 60


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-secret", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 500],
)
def test_no_or_a_wrong_secret_is_401(
    api: FlaskClient, camera: ApiDevice, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.post(f"/api/v1/devices/{camera.id}/heartbeat", headers=headers, json={})
    assert_json_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_another_devices_id_is_404_and_changes_nothing(
    app: Flask, api: FlaskClient, camera: ApiDevice, stranger: Account
) -> None:
    with app.app_context():
        theirs = make_api_device(stranger.contract_id, comm_status=CommStatus.OFFLINE)
        mine_too = make_api_device(camera.contract_id, comm_status=CommStatus.OFFLINE)
    for other in (theirs, mine_too):
        wrong = ApiDevice(other.id, camera.secret, camera.contract_id)
        assert_json_error(beat(api, wrong), 404, "not_found")
        assert_json_error(upload(api, wrong), 404)
        assert device_row(app, other.id).comm_status is CommStatus.OFFLINE
        assert recordings_of(app, other.id) == 0
    assert_json_error(api.get("/api/v1/devices/999999", headers=camera.auth), 404)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"state": LicenceState.REVOKED}, "licence_revoked"),
        ({"ends_on": clock.today() - dt.timedelta(days=1)}, "licence_expired"),
    ],
)
def test_a_lapsed_licence_is_refused_with_403(
    app: Flask, api: FlaskClient, camera: ApiDevice, change: dict[str, Any], code: str
) -> None:
    with app.app_context():
        licence = db.session.get(Device, camera.id).licence
        for name, value in change.items():
            setattr(licence, name, value)
        db.session.commit()
    assert_json_error(beat(api, camera), 403, code)
    assert_json_error(upload(api, camera), 403, code)
    assert device_row(app, camera.id).comm_status is CommStatus.NEVER_CONNECTED


def test_a_device_of_a_gone_contract_is_refused(
    app: Flask, api: FlaskClient, camera: ApiDevice
) -> None:
    with app.app_context():
        db.session.delete(db.session.get(Contract, camera.contract_id))
        db.session.commit()
    assert_json_error(beat(api, camera), 401)


def test_the_secret_is_stored_only_as_a_digest(app: Flask, camera: ApiDevice) -> None:
    with app.app_context():
        stored = db.session.scalar(select(Device.api_secret_digest).where(Device.id == camera.id))
    assert stored and camera.secret not in stored and len(stored) == 64


def test_unknown_api_paths_and_methods_answer_json(api: FlaskClient, camera: ApiDevice) -> None:
    assert_json_error(api.get("/api/v1/nothing-here"), 404)
    assert_json_error(api.delete(f"/api/v1/devices/{camera.id}", headers=camera.auth), 405)
    assert_json_error(api.post("/api/v1/devices/0/heartbeat", headers=camera.auth), 404)


def test_the_api_is_rate_limited_per_device(
    app: Flask, api: FlaskClient, camera: ApiDevice, contractor: Account
) -> None:
    app.config["DEVICE_API_RATE_LIMIT"] = "3 per minute"
    with app.app_context():
        other = make_api_device(contractor.contract_id)
    for _ in range(3):
        assert beat(api, camera).status_code == 200
    limited = beat(api, camera)
    assert_json_error(limited, 429)
    assert int(limited.headers["Retry-After"]) > 0
    # Another device is not held back by this one.
    assert beat(api, other).status_code == 200


def test_guessing_secrets_is_limited_per_client(api: FlaskClient, camera: ApiDevice) -> None:
    for n in range(60):
        wrong = ApiDevice(camera.id, f"guess-{n}", camera.contract_id)
        assert beat(api, wrong).status_code == 401
    assert_json_error(beat(api, ApiDevice(camera.id, "guess-x", 0)), 429)


# --- Heartbeats and 通信状態 --------------------------------------------------------------


def test_a_heartbeat_makes_the_device_online_and_mails_once(
    app: Flask, api: FlaskClient, camera: ApiDevice, contractor: Account, smtp: Mailbox
) -> None:
    with app.app_context():
        add_recipient(db.session.get(Contract, contractor.contract_id), "watch@example.com")
    first = beat(api, camera, {"recording": "continuous"}, environ_base={"REMOTE_ADDR": "::1"})
    assert first.status_code == 200
    assert first.get_json()["comm_status"] == "online"
    row = device_row(app, camera.id)
    assert row.comm_status is CommStatus.ONLINE
    assert row.recording_status is RecordingStatus.CONTINUOUS
    assert row.last_heartbeat_at is not None and row.global_ip == "::1"
    assert len(smtp.messages) == 1
    assert "未接続 → 通信中" in smtp.messages[0].get_content()
    # The same again: only the time moves, no mail.
    for _ in range(3):
        assert beat(api, camera, {"recording": "continuous"}).status_code == 200
    assert len(smtp.messages) == 1
    # Recording stops: 録画停止 mails once.
    assert beat(api, camera, {"recording": "stopped"}).status_code == 200
    assert beat(api, camera, {"recording": "stopped"}).status_code == 200
    assert len(smtp.messages) == 2
    assert "常時録画中 → 録画停止中" in smtp.messages[1].get_content()
    # A heartbeat without "recording" keeps the last one reported.
    assert beat(api, camera).get_json()["recording_status"] == "stopped"


def test_silence_makes_the_device_offline_once(
    app: Flask, api: FlaskClient, camera: ApiDevice, contractor: Account, smtp: Mailbox
) -> None:
    with app.app_context():
        add_recipient(db.session.get(Contract, contractor.contract_id), "watch@example.com")
        quiet = make_api_device(contractor.contract_id, comm_status=CommStatus.ONLINE)
    assert beat(api, camera).status_code == 200
    assert len(smtp.messages) == 1
    runner = app.test_cli_runner()
    # Heard just now: nothing to do. A device that never sent a heartbeat is not judged.
    assert "0 device(s)" in runner.invoke(args=["sweep-status"]).output
    assert device_row(app, quiet.id).comm_status is CommStatus.ONLINE
    with app.app_context():
        db.session.get(Device, camera.id).last_heartbeat_at = utcnow() - dt.timedelta(
            seconds=app.config["DEVICE_SILENCE_SECONDS"] + 1
        )
        db.session.commit()
    result = runner.invoke(args=["sweep-status"])
    assert "1 device(s) now offline, 1 mail(s) sent" in result.output, result.output
    assert device_row(app, camera.id).comm_status is CommStatus.OFFLINE
    assert "通信中 → 通信断" in smtp.messages[1].get_content()
    assert "0 device(s)" in runner.invoke(args=["sweep-status"]).output
    assert len(smtp.messages) == 2
    # Back: 通信中 again, one more mail.
    assert beat(api, camera).get_json()["comm_status"] == "online"
    assert len(smtp.messages) == 3


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, "invalid_json"),
        ({"json": [1, 2]}, 400, "invalid_json"),
        ({"json": {"recording": 3}}, 422, "invalid_recording"),
        ({"json": {"recording": "exploded"}}, 422, "invalid_recording"),
        ({"data": "recording=stopped", "content_type": "text/plain"}, 415, None),
        ({"data": b"\xff\xfe{", "content_type": "application/json"}, 400, "invalid_json"),
        ({"json": {"recording": "x" * 20000}}, 413, None),
    ],
)
def test_a_bad_heartbeat_is_a_json_error_and_changes_nothing(
    app: Flask,
    api: FlaskClient,
    camera: ApiDevice,
    kwargs: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    response = api.post(f"/api/v1/devices/{camera.id}/heartbeat", headers=camera.auth, **kwargs)
    assert_json_error(response, status, code)
    row = device_row(app, camera.id)
    assert row.comm_status is CommStatus.NEVER_CONNECTED and row.last_heartbeat_at is None


# --- Uploads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "kind"),
    [(PNG, "image/png", "image"), (JPEG, "image/jpeg", "image"), (MP4, "video/mp4", "clip")],
)
def test_an_upload_is_stored_with_its_capture_time(
    app: Flask, api: FlaskClient, camera: ApiDevice, data: bytes, content_type: str, kind: str
) -> None:
    response = upload(api, camera, data, content_type=content_type)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["kind"] == kind and body["size_bytes"] == len(data)
    assert body["captured_at"] == CAPTURED.isoformat()
    with app.app_context():
        recording = db.session.get(Recording, body["id"])
        assert recording.device_id == camera.id
        assert storage.read(recording.storage_key) == data


def test_a_retried_upload_is_stored_once(app: Flask, api: FlaskClient, camera: ApiDevice) -> None:
    first = upload(api, camera)
    again = upload(api, camera)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert recordings_of(app, camera.id) == 1
    # The same key for a different file is a conflict, not a silent overwrite.
    assert_json_error(upload(api, camera, PNG + b"more"), 409, "idempotency_key_reused")
    # Another key is another recording.
    assert upload(api, camera, key="upload-2").status_code == 201
    assert recordings_of(app, camera.id) == 2


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content_type": "application/pdf", "data": b"%PDF-1.7"}, 415, None),
        ({"content_type": "image/png", "data": JPEG}, 415, None),
        ({"content_type": "image/jpeg", "data": b"GIF89a"}, 415, None),
        ({"data": b""}, 400, "empty_body"),
        ({"key": None}, 422, "invalid_idempotency_key"),
        ({"key": "has spaces"}, 422, "invalid_idempotency_key"),
        ({"key": "k" * 65}, 422, "invalid_idempotency_key"),
        ({"captured_at": None}, 422, "invalid_captured_at"),
        ({"captured_at": "yesterday"}, 422, "invalid_captured_at"),
        ({"captured_at": "2026-11-26T09:30:00"}, 422, "invalid_captured_at"),
        ({"captured_at": "2999-01-01T00:00:00Z"}, 422, "invalid_captured_at"),
    ],
)
def test_a_bad_upload_is_a_json_error_and_stores_nothing(
    app: Flask,
    api: FlaskClient,
    camera: ApiDevice,
    kwargs: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    assert_json_error(upload(api, camera, **kwargs), status, code)
    assert recordings_of(app, camera.id) == 0
    assert not list((app.config["RECORDINGS_DIR"]).rglob("*.*"))


def test_uploads_may_be_larger_than_a_form(app: Flask, api: FlaskClient, camera: ApiDevice) -> None:
    big = PNG + b"\x00" * (3 * 1024 * 1024)  # forms stop at MAX_CONTENT_LENGTH (1 MiB)
    assert upload(api, camera, big).status_code == 201


def test_an_oversize_upload_is_413(app: Flask, api: FlaskClient, camera: ApiDevice) -> None:
    app.config["RECORDING_MAX_BYTES"] = 1000
    assert upload(api, camera, PNG + b"\x00" * 900).status_code == 201
    assert_json_error(upload(api, camera, PNG + b"\x00" * 1000, key="big"), 413)
    assert recordings_of(app, camera.id) == 1


def test_uploads_go_with_the_device_when_it_is_deleted(
    app: Flask, api: FlaskClient, camera: ApiDevice
) -> None:
    from webapp.services.devices import delete_device

    keys = [upload(api, camera, key=f"k{n}").get_json()["id"] for n in range(3)]
    with app.app_context():
        stored = [db.session.get(Recording, key).storage_key for key in keys]
        delete_device(db.session.get(Device, camera.id))
        for key in stored:
            with pytest.raises(storage.RecordingMissing):
                storage.read(key)
    assert_json_error(beat(api, camera), 401)


# --- Secrets issued by the portal ---------------------------------------------------------


SHOWN = 'id="api-secret-value"'  # the secret on screen


def shown_secret(html: str) -> str:
    return html.split('id="api-secret-value" class="mono" type="text" value="')[1].split('"')[0]


def confirm_setup(client: Any, device_id: int) -> Any:
    """機器設定 as a contractor does it: open the confirmation, press its button."""
    return client.submit_form(f"/devices/{device_id}/setup")


def test_registration_shows_a_working_secret_once(
    app: Flask, logged_in: Any, api: FlaskClient, contractor: Account
) -> None:
    from tests.support.factories import LicenceFactory

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
    assert response.status_code == 303
    detail = response.headers["Location"]
    html = logged_in.get(detail).get_data(as_text=True)
    assert SHOWN in html and "この画面を離れると二度と表示されません" in html
    secret = shown_secret(html)
    # It crossed the redirect encrypted, never in the clear.
    assert secret not in response.headers.get("Set-Cookie", "")
    with app.app_context():
        device_id = db.session.scalar(select(Device.id).where(Device.name == "新カメラ"))
    registered = ApiDevice(device_id, secret, contractor.contract_id)
    assert beat(api, registered).status_code == 200
    # Reloading the page does not show it again.
    assert SHOWN not in logged_in.get(detail).get_data(as_text=True)
    # 機器設定 issues a new one; the old one keeps working until the new one is used.
    setup = confirm_setup(logged_in, device_id)
    assert setup.status_code == 303
    # An htmx tab swap does not use it up: the page shows it.
    panel = logged_in.get(detail, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert SHOWN not in panel
    new_secret = shown_secret(logged_in.get(setup.headers["Location"]).get_data(as_text=True))
    assert new_secret != secret
    assert beat(api, registered).status_code == 200
    assert beat(api, ApiDevice(device_id, new_secret, 0)).status_code == 200
    assert_json_error(beat(api, registered), 401)


def test_a_handed_over_secret_is_shown_only_for_its_device_and_while_fresh(
    app: Flask, logged_in: Any, contractor: Account
) -> None:
    with app.app_context():
        first = DeviceFactory(contract_id=contractor.contract_id).id
        second = DeviceFactory(contract_id=contractor.contract_id).id
    setup = confirm_setup(logged_in, first)
    assert setup.status_code == 303
    assert SHOWN not in logged_in.get(f"/devices/{second}").get_data(as_text=True)
    assert SHOWN in logged_in.get(f"/devices/{first}").get_data(as_text=True)
    assert SHOWN not in logged_in.get(f"/devices/{first}").get_data(as_text=True)
    confirm_setup(logged_in, first)
    with logged_in.session_transaction() as session:
        token = session["new_api_secret"]["secret"]
    with app.app_context():
        cipher = app.extensions["field_cipher"]
        assert cipher.decrypt_fresh(token, 300)
        assert cipher.decrypt_fresh(token, -1) is None  # older than its time: not shown
        assert cipher.decrypt_fresh("garbage", 300) is None


# --- Moving to a new secret: 機器設定 never cuts a working device off -------------------


def start_setup_of(app: Flask, device_id: int) -> str:
    """機器設定 confirmed for the device (behind the screens); return the new secret."""
    from webapp.services.devices import start_setup

    with app.app_context():
        device = db.session.get(Device, device_id)
        return start_setup(device, replacing=device.secret_mark)


def secret_state(app: Flask, device_id: int) -> tuple[str | None, str | None, Any]:
    with app.app_context():
        return db.session.execute(
            select(
                Device.api_secret_digest,
                Device.old_api_secret_digest,
                Device.old_api_secret_expires_at,
            ).where(Device.id == device_id)
        ).one()


def test_setup_keeps_the_old_secret_until_the_first_heartbeat_with_the_new_one(
    app: Flask, api: FlaskClient, camera: ApiDevice, contractor: Account, smtp: Mailbox
) -> None:
    with app.app_context():
        add_recipient(db.session.get(Contract, contractor.contract_id), "watch@example.com")
    assert beat(api, camera, {"recording": "continuous"}).status_code == 200
    assert len(smtp.messages) == 1  # 未接続 → 通信中
    clicked = utcnow()
    new = ApiDevice(camera.id, start_setup_of(app, camera.id), camera.contract_id)
    row = device_row(app, camera.id)
    assert row.setup_completed_at is None
    assert row.service_status is ServiceStatus.AWAITING_SETUP
    # The camera, not set up yet, keeps working with its old secret, and is told until when.
    for _ in range(3):
        answer = beat(api, camera, {"recording": "continuous"})
        assert answer.status_code == 200
        body = answer.get_json()
        assert body["service_status"] == "awaiting_setup"
        expires = dt.datetime.fromisoformat(body["api_secret_expires_at"])
        after = expires.replace(tzinfo=None) - clicked
        assert dt.timedelta(hours=24) <= after < dt.timedelta(hours=24, minutes=1)
    assert upload(api, camera).status_code == 201
    assert device_row(app, camera.id).setup_completed_at is None
    # Set up with the new one: its first heartbeat completes 機器設定, at that heartbeat.
    first = beat(api, new, {"recording": "continuous"})
    assert first.status_code == 200
    assert first.get_json()["service_status"] == "active"
    assert first.get_json()["api_secret_expires_at"] is None
    row = device_row(app, camera.id)
    assert row.setup_completed_at == row.last_heartbeat_at
    assert row.service_status is ServiceStatus.ACTIVE
    # The old secret is over at once; no status changed, so no mail.
    assert_json_error(beat(api, camera), 401)
    assert_json_error(upload(api, camera, key="after"), 401)
    assert beat(api, new).status_code == 200
    assert secret_state(app, camera.id)[1:] == (None, None)
    assert len(smtp.messages) == 1


def test_setup_is_complete_from_the_first_heartbeat_not_the_click(
    app: Flask, api: FlaskClient, camera: ApiDevice
) -> None:
    clicked = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
    heard = clicked + dt.timedelta(hours=3, minutes=7)
    with time_machine.travel(clicked, tick=False):
        new = ApiDevice(camera.id, start_setup_of(app, camera.id), camera.contract_id)
    with time_machine.travel(heard, tick=False):
        assert beat(api, new).status_code == 200
    with time_machine.travel(heard + dt.timedelta(minutes=1), tick=False):
        assert beat(api, new).status_code == 200
    assert device_row(app, camera.id).setup_completed_at == heard.replace(tzinfo=None)


def test_the_old_secret_ends_24_hours_after_setup(
    app: Flask, api: FlaskClient, camera: ApiDevice
) -> None:
    clicked = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
    with time_machine.travel(clicked, tick=False):
        assert beat(api, camera).status_code == 200
        new = ApiDevice(camera.id, start_setup_of(app, camera.id), camera.contract_id)
    with time_machine.travel(clicked + dt.timedelta(hours=23, minutes=59), tick=False):
        assert beat(api, camera).status_code == 200
    with time_machine.travel(clicked + dt.timedelta(hours=24), tick=False):
        assert_json_error(beat(api, camera), 401)
        assert_json_error(api.get(f"/api/v1/devices/{camera.id}", headers=camera.auth), 401)
        # The new one works whenever the device is set up with it, and completes 機器設定.
        assert beat(api, new).status_code == 200
    assert device_row(app, camera.id).setup_completed_at is not None


def test_any_request_with_the_new_secret_ends_the_old_one(
    app: Flask, api: FlaskClient, camera: ApiDevice
) -> None:
    """The device has moved; only a heartbeat completes 機器設定."""
    new = ApiDevice(camera.id, start_setup_of(app, camera.id), camera.contract_id)
    assert api.get(f"/api/v1/devices/{camera.id}", headers=new.auth).status_code == 200
    assert_json_error(beat(api, camera), 401)
    assert device_row(app, camera.id).setup_completed_at is None
    assert upload(api, new).status_code == 201
    assert device_row(app, camera.id).setup_completed_at is None
    assert beat(api, new).status_code == 200
    assert device_row(app, camera.id).setup_completed_at is not None


def test_a_second_setup_keeps_the_secret_the_device_still_uses(
    app: Flask, api: FlaskClient, camera: ApiDevice
) -> None:
    """Two 機器設定 before the device is set up: its working secret stays, the unused one goes."""
    unused = ApiDevice(camera.id, start_setup_of(app, camera.id), camera.contract_id)
    newest = ApiDevice(camera.id, start_setup_of(app, camera.id), camera.contract_id)
    assert beat(api, camera).status_code == 200
    assert_json_error(beat(api, unused), 401)
    assert beat(api, newest).status_code == 200
    assert_json_error(beat(api, camera), 401)


def test_a_second_setup_does_not_lengthen_the_old_secrets_life(
    app: Flask, api: FlaskClient, camera: ApiDevice
) -> None:
    """機器設定 clicked again a day later: the secret in use still ends 24 hours after the first."""
    clicked = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
    with time_machine.travel(clicked, tick=False):
        start_setup_of(app, camera.id)
    with time_machine.travel(clicked + dt.timedelta(hours=20), tick=False):
        newest = ApiDevice(camera.id, start_setup_of(app, camera.id), camera.contract_id)
        assert beat(api, camera).status_code == 200
    with time_machine.travel(clicked + dt.timedelta(hours=24), tick=False):
        assert_json_error(beat(api, camera), 401)
        assert beat(api, newest).status_code == 200


def test_a_setup_after_the_device_moved_keeps_the_secret_it_moved_to(
    app: Flask, api: FlaskClient, camera: ApiDevice
) -> None:
    second = ApiDevice(camera.id, start_setup_of(app, camera.id), camera.contract_id)
    assert beat(api, second).status_code == 200
    third = ApiDevice(camera.id, start_setup_of(app, camera.id), camera.contract_id)
    assert_json_error(beat(api, camera), 401)
    assert beat(api, second).status_code == 200
    assert device_row(app, camera.id).setup_completed_at is None
    assert beat(api, third).status_code == 200
    assert device_row(app, camera.id).setup_completed_at is not None
    assert_json_error(beat(api, second), 401)


def test_an_old_secret_of_a_lapsed_licence_or_a_deleted_device_is_refused(
    app: Flask, api: FlaskClient, camera: ApiDevice, contractor: Account
) -> None:
    from webapp.services.devices import delete_device

    start_setup_of(app, camera.id)
    with app.app_context():
        db.session.get(Device, camera.id).licence.state = LicenceState.REVOKED
        db.session.commit()
    assert_json_error(beat(api, camera), 403, "licence_revoked")
    with app.app_context():
        other = make_api_device(contractor.contract_id)
    start_setup_of(app, other.id)
    with app.app_context():
        delete_device(db.session.get(Device, other.id))
    assert_json_error(beat(api, other), 401)


def test_an_operator_replacing_a_secret_ends_every_old_one(
    app: Flask, api: FlaskClient, camera: ApiDevice
) -> None:
    """issue-device-secret is for a secret that leaked: nothing old keeps working."""
    from webapp.services.device_reports import replace_api_secret

    start_setup_of(app, camera.id)
    with app.app_context():
        replaced = replace_api_secret(db.session.get(Device, camera.id))
    assert_json_error(beat(api, camera), 401)
    assert beat(api, ApiDevice(camera.id, replaced, camera.contract_id)).status_code == 200


def test_the_old_secret_is_found_through_an_index(app: Flask) -> None:
    """Heartbeats are hot: the old secret's lookup reads one row by a unique index too."""
    from sqlalchemy import text

    lookup = select(Device.id).where(
        Device.old_api_secret_digest == "0" * 64, Device.old_api_secret_expires_at > utcnow()
    )
    with app.app_context():
        connection = db.session.connection()
        compiled = lookup.compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
        if connection.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            )
            assert "USING INDEX" in plan and "old_api_secret_digest" in plan, plan
        else:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
            assert "uq_device_old_api_secret_digest" in plan, plan
        db.session.rollback()


def statements_of(app: Flask, request: Callable[[], Any]) -> list[str]:
    """The SQL statements that one API request runs (it must answer 200)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert request().status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return [statement for statement in seen if statement not in {"BEGIN", "COMMIT"}]


def test_the_usual_heartbeat_is_one_update_with_either_secret(
    app: Flask, api: FlaskClient, camera: ApiDevice
) -> None:
    """Heartbeats are hot: during the grace too, the usual one writes one UPDATE."""
    assert beat(api, camera).status_code == 200  # 通信中 now: the next ones change nothing
    usual = statements_of(app, lambda: beat(api, camera))
    assert usual.count("UPDATE") == 1 and set(usual) == {"SELECT", "UPDATE"}, usual
    new = ApiDevice(camera.id, start_setup_of(app, camera.id), camera.contract_id)
    with_old = statements_of(app, lambda: beat(api, camera))
    assert with_old.count("UPDATE") == 1 and set(with_old) == {"SELECT", "UPDATE"}, with_old
    # Only the lookup of the old secret by its own digest comes on top.
    assert len(with_old) == len(usual) + 1
    # The first heartbeat with the new secret ends the old one and completes 機器設定 once;
    # the next ones are the usual one again.
    assert beat(api, new).status_code == 200
    assert statements_of(app, lambda: beat(api, new)) == usual


def test_exchange_retires_the_old_hardwares_secrets(
    app: Flask, api: FlaskClient, camera: ApiDevice
) -> None:
    """The old hardware is gone: its secret, and one kept by 機器設定, end at once."""
    from webapp.services.devices import exchange_device

    newer = ApiDevice(camera.id, start_setup_of(app, camera.id), camera.contract_id)
    with app.app_context():
        exchange_device(db.session.get(Device, camera.id), new_model="WV-X", new_mac="008045ABCDEF")
    assert_json_error(beat(api, camera), 401)
    assert_json_error(beat(api, newer), 401)
    assert secret_state(app, camera.id) == (None, None, None)
    # The new hardware gets its secret from 機器設定; its first heartbeat completes it.
    fresh = ApiDevice(camera.id, start_setup_of(app, camera.id), camera.contract_id)
    assert secret_state(app, camera.id)[1:] == (None, None)
    assert device_row(app, camera.id).setup_completed_at is None
    assert beat(api, fresh).status_code == 200
    row = device_row(app, camera.id)
    assert row.setup_completed_at == row.last_heartbeat_at
    assert row.service_status is ServiceStatus.ACTIVE


def test_api_answers_carry_no_cookie(api: FlaskClient, camera: ApiDevice) -> None:
    response = beat(api, camera)
    assert "Set-Cookie" not in response.headers
    assert json.loads(response.get_data())["id"] == camera.id


# --- Edges found in review ----------------------------------------------------------------


@pytest.mark.parametrize("captured_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_capture_time_off_the_calendar_is_422(
    api: FlaskClient, camera: ApiDevice, captured_at: str
) -> None:
    assert_json_error(upload(api, camera, captured_at=captured_at), 422, "invalid_captured_at")


def test_json_nested_past_the_parsers_depth_is_400(api: FlaskClient, camera: ApiDevice) -> None:
    body = "[" * 3000 + "]" * 3000
    response = api.post(
        f"/api/v1/devices/{camera.id}/heartbeat",
        headers=camera.auth,
        data=body,
        content_type="application/json",
    )
    assert_json_error(response, 400, "invalid_json")


def test_spellings_of_one_secret_share_one_rate_limit(
    app: Flask, api: FlaskClient, camera: ApiDevice
) -> None:
    app.config["DEVICE_API_RATE_LIMIT"] = "3 per minute"
    spellings = [f"Bearer {camera.secret}", f"bearer {camera.secret}", f"BEARER {camera.secret}  "]
    answers = [
        api.get(f"/api/v1/devices/{camera.id}", headers={"Authorization": spelling}).status_code
        for spelling in [*spellings, f"Bearer {camera.secret} "]
    ]
    assert answers == [200, 200, 200, 429]


def test_the_same_key_for_other_bytes_of_the_same_size_is_409(
    api: FlaskClient, camera: ApiDevice
) -> None:
    assert upload(api, camera, PNG + b"AAAA").status_code == 201
    assert_json_error(upload(api, camera, PNG + b"BBBB"), 409, "idempotency_key_reused")


def test_an_upload_for_a_device_deleted_meanwhile_is_404(app: Flask, camera: ApiDevice) -> None:
    from webapp.services.devices import delete_device
    from webapp.services.recordings import store_upload
    from webapp.services.refusals import ApiRefused

    with app.app_context():
        delete_device(db.session.get(Device, camera.id))
        with pytest.raises(ApiRefused) as refused:
            store_upload(
                camera.id,
                camera.contract_id,
                data=PNG,
                content_type="image/png",
                captured_at=utcnow(),
                idempotency_key="late",
                plan=Plan.RECORDING_7,
            )
    assert refused.value.status == 404
    # Its object does not stay behind.
    assert not list((app.config["RECORDINGS_DIR"]).rglob("*.png"))


def test_a_failing_mail_server_loses_a_mail_not_the_heartbeat(
    app: Flask,
    api: FlaskClient,
    camera: ApiDevice,
    contractor: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import webapp.mail

    with app.app_context():
        add_recipient(db.session.get(Contract, contractor.contract_id), "watch@example.com")

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(webapp.mail, "deliver", refuse)
    response = beat(api, camera, {"recording": "stopped"})
    assert response.status_code == 200
    assert device_row(app, camera.id).comm_status is CommStatus.ONLINE


def test_the_sweep_leaves_a_device_that_changed_meanwhile(
    app: Flask, contractor: Account, smtp: Mailbox
) -> None:
    """Selected as silent, then exchanged (未接続, never heard): no 通信断, no mail."""
    from webapp.services.device_reports import report_status

    with app.app_context():
        add_recipient(db.session.get(Contract, contractor.contract_id), "watch@example.com")
        device = DeviceFactory(
            contract_id=contractor.contract_id, comm_status=CommStatus.NEVER_CONNECTED
        )
        report = report_status(device.id, [CommStatus.OFFLINE], silent_since=utcnow())
        assert report.changes == [] and report.mails == 0
        assert db.session.get(Device, device.id).comm_status is CommStatus.NEVER_CONNECTED
    assert smtp.messages == []


def test_a_secret_replaced_before_it_was_shown_is_not_shown(
    app: Flask, logged_in: Any, contractor: Account
) -> None:
    """Another secret issued right after 機器設定: the page must not show the one that lost."""
    with app.app_context():
        device_id = DeviceFactory(contract_id=contractor.contract_id).id
    setup = confirm_setup(logged_in, device_id)
    with app.app_context():  # the other secret, committed after this one
        issue_api_secret(db.session.get(Device, device_id))
        db.session.commit()
    html = logged_in.get(setup.headers["Location"]).get_data(as_text=True)
    assert 'id="api-secret-value"' not in html
    assert "もう一度「機器設定」を行ってください" in html


def test_gc_spares_a_contract_and_device_created_during_the_sweep(
    app: Flask, contractor: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.factories import ContractFactory, add_recordings
    from webapp.services import recordings as sweep_module
    from webapp.services.recordings import collect_garbage

    listing = storage.iter_objects
    created: list[int] = []

    def listing_after_a_registration(prefix: str = "") -> Any:
        # The sweep has read the contracts; now a new contract registers and uploads.
        contract = ContractFactory()
        device = DeviceFactory(contract_id=contract.id)
        created.extend(r.id for r in add_recordings(device, 2))
        db.session.commit()
        return listing(prefix)

    monkeypatch.setattr(sweep_module.storage, "iter_objects", listing_after_a_registration)
    with app.app_context():
        sweep = collect_garbage(min_age_seconds=0)
        assert sweep.folders == 0
        for recording_id in created:
            assert storage.read(db.session.get(Recording, recording_id).storage_key)


def test_storage_that_fails_after_a_commit_is_logged_not_raised(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Deletion and withdrawal remove objects after their commit: an outage must not 500."""

    def unreachable(*args: Any) -> int:
        raise ConnectionError("storage unreachable")

    with app.app_context():
        backend = storage.current()
        monkeypatch.setattr(backend, "remove", unreachable)
        monkeypatch.setattr(backend, "remove_tree", unreachable)
        assert storage.remove(["c1/d1/a.png"]) == 0
        assert storage.remove_tree("c1") == 0
    assert "gc-recordings will" in caplog.text
