"""録画一覧, its viewer and the newest image on tiles: only for those who may see the device."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, UserFactory
from webapp import storage
from webapp.enums import RecordingKind, Role
from webapp.extensions import db
from webapp.models import Contract, Recording, UserDevice, utcnow

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def add(
    device_id: int,
    contract_id: int,
    n: int,
    kind: RecordingKind = RecordingKind.IMAGE,
    minutes_ago: int = 0,
) -> int:
    key = f"{storage.device_prefix(contract_id, device_id)}/t-{n}.bin"
    content_type = "image/png" if kind is RecordingKind.IMAGE else "video/mp4"
    storage.write(key, PNG + bytes([n]), content_type=content_type)
    recording = Recording(
        device_id=device_id,
        kind=kind,
        captured_at=utcnow() - dt.timedelta(minutes=minutes_ago),
        content_type=content_type,
        size_bytes=len(PNG) + 1,
        storage_key=key,
    )
    db.session.add(recording)
    db.session.commit()
    return recording.id


@pytest.fixture
def camera(app: Flask, contractor: Account) -> dict[str, int]:
    """A camera with an old image, a newer clip and the newest image."""
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id, name="正門")
        old = add(device.id, contractor.contract_id, 1, minutes_ago=30)
        clip = add(device.id, contractor.contract_id, 2, RecordingKind.CLIP, minutes_ago=5)
        newest = add(device.id, contractor.contract_id, 3, minutes_ago=10)
        return {"device": device.id, "old": old, "clip": clip, "newest": newest}


def test_the_list_is_newest_first_and_the_viewer_moves_between(
    logged_in: Client, camera: dict[str, int]
) -> None:
    device = camera["device"]
    html = logged_in.get(f"/devices/{device}/recordings").get_data(as_text=True)
    assert "録画一覧" in html and "正門" in html and "録画: 3件" in html
    order = [html.index(f'/recordings/{camera[k]}"') for k in ("clip", "newest", "old")]
    assert order == sorted(order)
    view = logged_in.get(f"/devices/{device}/recordings/{camera['newest']}")
    assert view.status_code == 200
    page = view.get_data(as_text=True)
    assert f'/recordings/{camera["clip"]}"' in page  # 新しい録画
    assert f'/recordings/{camera["old"]}"' in page  # 古い録画
    clip = logged_in.get(f"/devices/{device}/recordings/{camera['clip']}").get_data(as_text=True)
    assert "<video" in clip


@pytest.mark.parametrize(
    ("kind", "is_image"), [(RecordingKind.IMAGE, True), (RecordingKind.CLIP, False)]
)
def test_only_a_still_image_counts_as_an_image(kind: RecordingKind, is_image: bool) -> None:
    assert Recording(kind=kind).is_image is is_image


def test_images_show_as_pictures_and_clips_as_video(
    logged_in: Client, camera: dict[str, int]
) -> None:
    device = camera["device"]
    listing = logged_in.get(f"/devices/{device}/recordings").get_data(as_text=True)
    thumbnails = listing.split('class="tile-image recording-thumb"')[1:]
    assert ["<img" in thumbnail.split("</a>")[0] for thumbnail in thumbnails] == [
        False,  # the clip, newest: its time and kind as text
        True,
        True,
    ]
    image = logged_in.get(f"/devices/{device}/recordings/{camera['old']}").get_data(as_text=True)
    assert "<img" in image and "<video" not in image
    clip = logged_in.get(f"/devices/{device}/recordings/{camera['clip']}").get_data(as_text=True)
    assert "<video" in clip and "<figure" in clip and "<img" not in clip


def test_the_content_comes_from_storage_with_its_type(
    logged_in: Client, camera: dict[str, int]
) -> None:
    response = logged_in.get(f"/devices/{camera['device']}/recordings/{camera['old']}/content")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data == PNG + bytes([1])
    assert response.headers["Cache-Control"] == "no-store"


def test_the_portal_and_the_detail_show_the_newest_image(
    logged_in: Client, camera: dict[str, int]
) -> None:
    content = f"/devices/{camera['device']}/recordings/{camera['newest']}/content"
    assert content in logged_in.get("/").get_data(as_text=True)
    detail = logged_in.get(f"/devices/{camera['device']}").get_data(as_text=True)
    assert content in detail and "最新の画像" in detail


def test_a_device_without_images_keeps_its_placeholder(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id).id
    assert "まだありません" in logged_in.get(f"/devices/{device}").get_data(as_text=True)
    assert "録画はまだありません" in logged_in.get(f"/devices/{device}/recordings").get_data(
        as_text=True
    )


def test_strangers_and_other_devices_get_404(
    app: Flask, client: Client, camera: dict[str, int], contractor: Account, stranger: Account
) -> None:
    device = camera["device"]
    with app.app_context():
        other = DeviceFactory(contract_id=contractor.contract_id).id
    client.login(stranger.email)
    for path in (
        f"/devices/{device}/recordings",
        f"/devices/{device}/recordings/{camera['old']}",
        f"/devices/{device}/recordings/{camera['old']}/content",
    ):
        assert client.get(path).status_code == 404
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login(contractor.email)
    # A recording asked for through another device of the same contract.
    assert client.get(f"/devices/{other}/recordings/{camera['old']}/content").status_code == 404
    assert client.get(f"/devices/{device}/recordings/999999").status_code == 404


def test_a_general_user_sees_only_the_devices_they_may(
    app: Flask, client: Client, camera: dict[str, int], contractor: Account
) -> None:
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        other = DeviceFactory(contract_id=contractor.contract_id).id
        add(other, contractor.contract_id, 9)
        viewer = UserFactory(
            email="viewer@example.com", contract=contract, role=Role.GENERAL, all_devices=False
        )
        db.session.add(UserDevice(user_id=viewer.id, device_id=camera["device"]))
        db.session.commit()
        other_image = db.session.scalar(select(Recording.id).where(Recording.device_id == other))
    client.login("viewer@example.com")
    assert client.get(f"/devices/{camera['device']}/recordings").status_code == 200
    view = client.get(f"/devices/{camera['device']}/recordings/{camera['old']}/content")
    assert view.status_code == 200
    assert client.get(f"/devices/{other}/recordings").status_code == 404
    assert client.get(f"/devices/{other}/recordings/{other_image}/content").status_code == 404
    # 戻る leads a general user to the portal, where the tile shows the newest image.
    portal = client.get("/").get_data(as_text=True)
    assert f"/recordings/{camera['newest']}/content" in portal


def test_a_missing_object_is_404_not_500(
    app: Flask, logged_in: Client, camera: dict[str, int]
) -> None:
    with app.app_context():
        storage.remove([db.session.get(Recording, camera["old"]).storage_key])
    response = logged_in.get(f"/devices/{camera['device']}/recordings/{camera['old']}/content")
    assert response.status_code == 404


def test_recordings_need_a_login(client: Client, camera: dict[str, int]) -> None:
    response = client.get(f"/devices/{camera['device']}/recordings")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_clip_is_served_in_byte_ranges(logged_in: Client, camera: dict[str, int]) -> None:
    path = f"/devices/{camera['device']}/recordings/{camera['clip']}/content"
    whole = logged_in.get(path)
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = logged_in.get(path, headers={"Range": "bytes=2-9"})
    assert part.status_code == 206
    assert part.data == whole.data[2:10]
    assert part.headers["Content-Range"] == f"bytes 2-9/{len(whole.data)}"
