"""The fake camera: set up with a new secret through its secret file, as after 機器設定."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.support.client import Account
from tests.support.factories import DeviceFactory
from webapp.dev.fakecamera import ApiError, FakeCamera
from webapp.extensions import db
from webapp.models import Device
from webapp.services.device_reports import issue_api_secret
from webapp.services.devices import start_setup

BASE_URL = "http://portal.test"


@pytest.fixture
def portal(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """Cameras reach the portal through the test client instead of a socket."""
    client = app.test_client()

    def send(
        self: FakeCamera,
        path: str,
        *,
        body: bytes | None,
        headers: dict[str, str],
        method: str = "POST",
    ) -> Any:
        response = client.open(
            self._url(path).removeprefix(BASE_URL),
            method=method,
            data=body,
            headers={"Authorization": f"Bearer {self.secret}", **headers},
        )
        if response.status_code >= 400:
            raise ApiError(response.status_code, response.get_json())
        return response.get_json()

    monkeypatch.setattr(FakeCamera, "_send", send)
    return app


def new_setup(app: Flask, device_id: int) -> str:
    with app.app_context():
        device = db.session.get(Device, device_id)
        return start_setup(device, replacing=device.secret_mark)


def test_a_camera_is_set_up_with_the_secret_put_in_its_file(
    portal: Flask, contractor: Account, tmp_path: Path
) -> None:
    with portal.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id)
        old = issue_api_secret(device)
        db.session.commit()
        device_id = device.id
    secret_file = tmp_path / "camera.secret"
    secret_file.write_text(old + "\n")
    logged: list[str] = []
    camera = FakeCamera(BASE_URL, device_id, old, secret_file=secret_file)

    def rounds(count: int) -> None:
        camera.run(interval=0, count=count, log=logged.append, sleep=lambda _: None)

    rounds(1)
    assert camera.sent == {"heartbeats": 1, "uploads": 1}

    # 機器設定: the camera keeps working with its old secret, and says until when (once).
    new = new_setup(portal, device_id)
    rounds(2)
    assert camera.sent["heartbeats"] == 3
    assert camera.secret_expires_at is not None
    warnings = [line for line in logged if "has been replaced" in line]
    assert len(warnings) == 1 and camera.secret_expires_at in warnings[0]

    # The new secret put in its file: the next round uses it and completes 機器設定.
    secret_file.write_text(new + "\n")
    rounds(1)
    assert camera.secret == new and camera.secret_expires_at is None
    assert f"camera {device_id}: set up with a new secret" in logged
    with portal.app_context():
        assert db.session.get(Device, device_id).setup_completed_at is not None

    # A refused secret does not stop a camera that has a file: it waits for a new one.
    secret_file.write_text("not-a-secret\n")
    rounds(2)
    assert sum("HTTP 401" in line for line in logged) == 2


def test_a_camera_without_a_file_stops_when_its_secret_is_refused(portal: Flask) -> None:
    camera = FakeCamera(BASE_URL, 1, "not-a-secret")
    with pytest.raises(ApiError) as refused:
        camera.run(interval=0, count=3, log=lambda _: None, sleep=lambda _: None)
    assert refused.value.status == 401
    assert not camera.read_secret_file()
