"""The device API and the plans: what a device is told it keeps, and what it may upload.

「ライブ映像」 records nothing: the device is told so, its 録画状態 reads 録画なし, a clip is
refused (403), and each still image replaces the one before. Under 「録画 N日」 a recording
that has already expired is refused (422). A refusal stores nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.support.client import Account
from tests.support.factories import DeviceFactory, LicenceFactory, add_recipient
from tests.support.mail import Mailbox
from webapp import clock
from webapp.enums import Plan, RecordingStatus
from webapp.extensions import db
from webapp.models import Contract, Device, Recording
from webapp.services.device_reports import issue_api_secret

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
TOKYO = dt.timezone(dt.timedelta(hours=9))


@dataclass
class ApiDevice:
    id: int
    secret: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


def api_device(app: Flask, contract_id: int, plan: Plan, **kwargs: Any) -> ApiDevice:
    with app.app_context():
        device = DeviceFactory(
            contract_id=contract_id, licence__plan=plan, licence__contract_id=contract_id, **kwargs
        )
        secret = issue_api_secret(device)
        db.session.commit()
        return ApiDevice(device.id, secret)


@pytest.fixture
def api(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def live(app: Flask, contractor: Account) -> ApiDevice:
    return api_device(app, contractor.contract_id, Plan.LIVE, name="玄関")


@pytest.fixture
def week(app: Flask, contractor: Account) -> ApiDevice:
    return api_device(app, contractor.contract_id, Plan.RECORDING_7, name="倉庫")


def ago(**delta: float) -> str:
    """A capture time that long ago, as a camera in Tokyo sends it."""
    return (dt.datetime.now(TOKYO) - dt.timedelta(**delta)).replace(microsecond=0).isoformat()


def upload(
    api: FlaskClient,
    device: ApiDevice,
    data: bytes = PNG,
    *,
    content_type: str = "image/png",
    key: str = "upload-1",
    captured_at: str | None = None,
) -> Any:
    headers = {
        **device.auth,
        "Idempotency-Key": key,
        "X-Captured-At": captured_at or ago(minutes=1),
    }
    return api.post(
        f"/api/v1/devices/{device.id}/recordings",
        data=data,
        headers=headers,
        content_type=content_type,
    )


def stored(app: Flask, device_id: int) -> list[tuple[int, str]]:
    """The device's recordings (id, storage key), and every file under the folder."""
    with app.app_context():
        rows = db.session.execute(
            select(Recording.id, Recording.storage_key)
            .where(Recording.device_id == device_id)
            .order_by(Recording.id)
        ).all()
    return [(row.id, row.storage_key) for row in rows]


def files(app: Flask) -> list[str]:
    root = Path(app.config["RECORDINGS_DIR"])
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*.*"))


def assert_json_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == code and body["message"]
    return body


# --- What the device is told -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "records", "days"),
    [(Plan.LIVE, False, None), (Plan.RECORDING_7, True, 7), (Plan.RECORDING_30, True, 30)],
)
def test_the_device_is_told_what_its_plan_keeps(
    app: Flask, api: FlaskClient, contractor: Account, plan: Plan, records: bool, days: int | None
) -> None:
    device = api_device(app, contractor.contract_id, plan)
    answers = [
        api.get(f"/api/v1/devices/{device.id}", headers=device.auth),
        api.post(
            f"/api/v1/devices/{device.id}/heartbeat",
            headers=device.auth,
            json={"recording": "continuous"},
        ),
    ]
    for answer in answers:
        assert answer.status_code == 200
        licence = answer.get_json()["licence"]
        assert (licence["plan"], licence["records"], licence["retention_days"]) == (
            plan.value,
            records,
            days,
        )
    expected = "none" if plan is Plan.LIVE else "continuous"
    assert answers[1].get_json()["recording_status"] == expected


def test_a_live_device_reads_no_recording_whatever_it_reports(
    app: Flask,
    api: FlaskClient,
    contractor: Account,
    live: ApiDevice,
    week: ApiDevice,
    smtp: Mailbox,
) -> None:
    with app.app_context():
        add_recipient(db.session.get(Contract, contractor.contract_id), "alerts@example.com")
    for device in (live, week):
        for reported in ("continuous", "scheduled", "stopped"):
            answer = api.post(
                f"/api/v1/devices/{device.id}/heartbeat",
                headers=device.auth,
                json={"recording": reported},
            )
            expected = "none" if device is live else reported
            assert answer.get_json()["recording_status"] == expected
    with app.app_context():
        assert db.session.get(Device, live.id).recording_status is RecordingStatus.NONE
    # 録画停止 is news of the device that records (倉庫), none of the one that never does (玄関).
    stopped = smtp.wait_for("alerts@example.com", "録画が停止しました: 倉庫")
    assert stopped and not [m for m in smtp.to("alerts@example.com") if "玄関" in m.subject]


def test_a_device_cannot_report_the_portals_own_reading(api: FlaskClient, week: ApiDevice) -> None:
    answer = api.post(
        f"/api/v1/devices/{week.id}/heartbeat", headers=week.auth, json={"recording": "none"}
    )
    assert_json_error(answer, 422, "invalid_recording")


# --- What a live device may upload -------------------------------------------------------------


def test_a_live_device_has_a_clip_refused_with_the_reason(
    app: Flask, api: FlaskClient, live: ApiDevice
) -> None:
    body = assert_json_error(
        upload(api, live, MP4, content_type="video/mp4"), 403, "plan_records_nothing"
    )
    assert "live" in body["message"] and "clips" in body["message"]
    assert stored(app, live.id) == [] and files(app) == []


def test_a_live_devices_still_image_replaces_the_one_before(
    app: Flask, api: FlaskClient, live: ApiDevice
) -> None:
    first = upload(api, live, key="a", captured_at=ago(minutes=2))
    assert first.status_code == 201
    [(first_id, first_key)] = stored(app, live.id)
    second = upload(api, live, PNG + b"2", key="b", captured_at=ago(minutes=1))
    assert second.status_code == 201
    [(second_id, second_key)] = stored(app, live.id)
    assert second_id == second.get_json()["id"] != first_id
    assert files(app) == [second_key]  # the first one's object went after the commit
    # A retry of the replaced upload stores nothing: a newer image is kept.
    late = upload(api, live, key="a", captured_at=ago(minutes=2))
    assert_json_error(late, 409, "newer_image_kept")
    assert stored(app, live.id) == [(second_id, second_key)] and files(app) == [second_key]
    assert first_key not in files(app)


def test_a_live_device_keeps_nothing_of_what_it_recorded_before(
    app: Flask, api: FlaskClient, contractor: Account
) -> None:
    """A device moved to ライブ映像 (a new licence): its next image is all that stays."""
    device = api_device(app, contractor.contract_id, Plan.RECORDING_30)
    assert upload(api, device, MP4, content_type="video/mp4", key="clip").status_code == 201
    assert upload(api, device, key="still").status_code == 201
    with app.app_context():
        row = db.session.get(Device, device.id)
        row.licence = LicenceFactory(plan=Plan.LIVE, contract_id=contractor.contract_id)
        db.session.commit()
    assert (
        api.get(f"/api/v1/devices/{device.id}", headers=device.auth).get_json()["licence"][
            "records"
        ]
        is False
    )
    assert_json_error(
        upload(api, device, MP4 + b"x", content_type="video/mp4", key="clip-2"),
        403,
        "plan_records_nothing",
    )
    newest = upload(api, device, PNG + b"new", key="newest")
    assert newest.status_code == 201
    assert [row_id for row_id, _ in stored(app, device.id)] == [newest.get_json()["id"]]
    assert len(files(app)) == 1


# --- What a recording plan refuses ----------------------------------------------------------


def test_a_recording_that_has_expired_already_is_refused(
    app: Flask, api: FlaskClient, week: ApiDevice, contractor: Account
) -> None:
    eight_days = ago(days=8, hours=1)
    body = assert_json_error(
        upload(api, week, captured_at=eight_days), 422, "captured_too_long_ago"
    )
    assert "7 days" in body["message"]
    assert stored(app, week.id) == [] and files(app) == []
    assert upload(api, week, key="b", captured_at=ago(days=6)).status_code == 201
    month = api_device(app, contractor.contract_id, Plan.RECORDING_30)
    assert upload(api, month, key="c", captured_at=eight_days).status_code == 201


def test_the_refusals_follow_the_service_day(app: Flask, week: ApiDevice, api: FlaskClient) -> None:
    """Kept from midnight in Tokyo seven days back: a minute earlier has expired."""
    with app.app_context():
        today = clock.today()
    first_kept = dt.datetime.combine(today - dt.timedelta(days=7), dt.time(), TOKYO)
    assert upload(api, week, key="in", captured_at=first_kept.isoformat()).status_code == 201
    before = (first_kept - dt.timedelta(minutes=1)).isoformat()
    assert_json_error(
        upload(api, week, key="out", captured_at=before), 422, "captured_too_long_ago"
    )
