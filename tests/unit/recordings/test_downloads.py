"""Keeping recordings before they are gone: one recording, a device's ZIP, the contract's ZIP.

The archives are streamed from storage (a local folder or S3) as the browser reads them:
one object open at a time, entries named by device and capture time in the service's zone.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, UserFactory
from webapp import clock, storage
from webapp.archives import entries, zip_chunks
from webapp.enums import RecordingKind, Role
from webapp.extensions import db
from webapp.models import AuditEvent, Contract, Device, Recording, UserDevice, utcnow
from webapp.recordings.queries import recordings_of_device_to_archive
from webapp.services.devices import delete_device

TYPES = {"png": ("image/png", RecordingKind.IMAGE), "mp4": ("video/mp4", RecordingKind.CLIP)}


@dataclass(frozen=True)
class Stored:
    id: int
    device_id: int
    captured_at: dt.datetime
    data: bytes
    extension: str

    @property
    def taken(self) -> str:
        """Its capture time as archives name it: the service's local time."""
        return clock.local(self.captured_at).strftime("%Y-%m-%d_%H-%M-%S")


def record(device: Device, captured_at: dt.datetime, extension: str = "png") -> Stored:
    """Give *device* a recording captured at *captured_at*: a row and its object."""
    content_type, kind = TYPES[extension]
    n = db.session.scalar(select(db.func.count(Recording.id))) or 0
    key = f"{storage.device_prefix(device.contract_id, device.id)}/r{n}.{extension}"
    data = f"{device.name} {captured_at.isoformat()} #{n}".encode() * 50
    storage.write(key, data, content_type=content_type)
    row = Recording(
        device_id=device.id,
        kind=kind,
        captured_at=captured_at,
        content_type=content_type,
        size_bytes=len(data),
        storage_key=key,
    )
    db.session.add(row)
    db.session.commit()
    return Stored(row.id, device.id, captured_at, data, extension)


def make_cameras(app: Flask, contractor: Account) -> dict[str, Any]:
    """Two cameras with recordings, in the app's storage."""
    with app.app_context():
        now = utcnow().replace(microsecond=0)
        gate = DeviceFactory(
            contract_id=contractor.contract_id, name="正門/入口", domain="gate.miemasu.test"
        )
        yard = DeviceFactory(contract_id=contractor.contract_id, name="Yard", domain="yard.test")
        gate_recordings = [
            record(gate, now - dt.timedelta(hours=3)),
            record(gate, now - dt.timedelta(hours=2), "mp4"),
            record(gate, now - dt.timedelta(hours=2)),
            record(gate, now - dt.timedelta(hours=2)),  # the same second: numbered
        ]
        yard_recordings = [record(yard, now - dt.timedelta(hours=1))]
        return {
            "gate": gate.id,
            "yard": yard.id,
            "gate_recordings": gate_recordings,
            "yard_recordings": yard_recordings,
        }


@pytest.fixture
def cameras(app: Flask, contractor: Account) -> dict[str, Any]:
    return make_cameras(app, contractor)


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # every entry's CRC holds
        return {name: archive.read(name) for name in archive.namelist()}


def expected_gate_entries(recordings: list[Stored], folder: str = "正門_入口") -> dict[str, bytes]:
    first, clip, image, same_second = recordings
    return {
        f"{folder}/{first.taken}.png": first.data,
        f"{folder}/{clip.taken}.mp4": clip.data,
        f"{folder}/{image.taken}.png": image.data,
        f"{folder}/{same_second.taken}_2.png": same_second.data,
    }


def test_the_device_archive_holds_exactly_its_recordings(
    store: Flask, logged_in: Client, contractor: Account
) -> None:
    cameras = make_cameras(store, contractor)  # in a local folder, then in S3
    response = logged_in.get(f"/devices/{cameras['gate']}/recordings.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.is_streamed  # no length known in advance: nothing was built whole
    today = clock.today().strftime("%Y%m%d")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="recordings-gate.miemasu.test-{today}.zip"; '
        f"filename*=UTF-8''{quote(f'正門_入口-{today}.zip', safe='')}"
    )
    assert unzip(response.data) == expected_gate_entries(cameras["gate_recordings"])


def test_the_contract_archive_holds_every_device_in_its_folder(
    store: Flask, logged_in: Client, contractor: Account
) -> None:
    cameras = make_cameras(store, contractor)
    response = logged_in.get("/account/recordings.zip")
    assert response.status_code == 200
    today = clock.today().strftime("%Y%m%d")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="recordings-{today}.zip"'
    )
    [yard] = cameras["yard_recordings"]
    assert unzip(response.data) == {
        **expected_gate_entries(cameras["gate_recordings"]),
        f"Yard/{yard.taken}.png": yard.data,
    }


def test_devices_of_one_name_get_folders_told_apart(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        now = utcnow().replace(microsecond=0)
        first = DeviceFactory(contract_id=contractor.contract_id, name="CON", domain="a.test")
        second = DeviceFactory(contract_id=contractor.contract_id, name="con", domain="b.test")
        one = record(first, now - dt.timedelta(minutes=5))
        other = record(second, now - dt.timedelta(minutes=5))
    entries = unzip(logged_in.get("/account/recordings.zip").data)
    # Windows keeps CON for a device, and would make CON and con one folder.
    assert entries == {
        f"_CON/{one.taken}.png": one.data,
        f"_con (b.test)/{other.taken}.png": other.data,
    }


class Spy:
    """Wraps the storage backend: what was opened and closed, in order."""

    def __init__(self, backend: storage.Storage) -> None:
        self.backend = backend
        self.log: list[str] = []

    def stream(self, key: str, chunk_size: int = storage.CHUNK_SIZE) -> storage.ObjectStream:
        source = self.backend.stream(key, chunk_size)
        self.log.append("open")
        close = source.close

        def logged_close() -> None:
            if source._source is not None:
                self.log.append("close")
            close()

        source.close = logged_close  # type: ignore[method-assign]
        return source


def test_the_archive_reads_one_recording_at_a_time_as_it_is_sent(
    app: Flask, logged_in: Client, cameras: dict[str, Any]
) -> None:
    spy = Spy(app.extensions["storage"])
    app.extensions["storage"] = spy
    response = logged_in.get(f"/devices/{cameras['gate']}/recordings.zip")
    # The test client reads the first chunk itself, as it waits for the status line.
    assert spy.log == ["open"]
    data = response.data
    assert spy.log == ["open", "close"] * 4
    assert len(unzip(data)) == 4


def test_nothing_is_read_before_the_archive_is(app: Flask, cameras: dict[str, Any]) -> None:
    with app.app_context():
        spy = Spy(app.extensions["storage"])
        device = db.session.get(Device, cameras["gate"])
        chunks = zip_chunks(spy, list(entries(recordings_of_device_to_archive(device))))
    assert spy.log == []
    first = next(chunks)
    assert first.startswith(b"PK\x03\x04") and spy.log == ["open"]
    rest = b"".join(chunks)
    assert spy.log == ["open", "close"] * 4
    assert len(unzip(first + rest)) == 4


def test_a_download_cut_off_closes_the_recording_it_was_reading(
    app: Flask, logged_in: Client, cameras: dict[str, Any]
) -> None:
    spy = Spy(app.extensions["storage"])
    app.extensions["storage"] = spy
    response = logged_in.get(f"/devices/{cameras['gate']}/recordings.zip")
    next(iter(response.response))
    response.close()  # what the server does when the browser goes away
    assert spy.log == ["open", "close"]


def test_a_recording_without_its_object_is_left_out(
    app: Flask, logged_in: Client, cameras: dict[str, Any]
) -> None:
    first, *others = cameras["gate_recordings"]
    with app.app_context():
        storage.remove([db.session.get(Recording, first.id).storage_key])
    entries = unzip(logged_in.get(f"/devices/{cameras['gate']}/recordings.zip").data)
    assert sorted(entries.values()) == sorted(r.data for r in others)


def test_a_device_without_recordings_gives_an_empty_archive(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id).id
    assert unzip(logged_in.get(f"/devices/{device}/recordings.zip").data) == {}


def test_downloading_an_archive_is_written_to_the_history(
    app: Flask, logged_in: Client, cameras: dict[str, Any], contractor: Account
) -> None:
    logged_in.get(f"/devices/{cameras['gate']}/recordings.zip")
    logged_in.get("/account/recordings.zip")
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "recordings.download")
        ).all()
        assert [(e.summary, e.target_type, e.detail) for e in events] == [
            ("正門/入口", "device", {"recordings": 4}),
            ("", "contract", {"recordings": 5}),
        ]
        assert {e.actor_email for e in events} == {contractor.email}
    history = logged_in.get("/history").get_data(as_text=True)
    assert "録画データのダウンロード" in history
    assert "録画 4件" in history and "すべての機器の録画 5件" in history


def test_another_contracts_device_is_404_and_a_deleted_one_410(
    app: Flask, client: Client, cameras: dict[str, Any], contractor: Account, stranger: Account
) -> None:
    client.login(stranger.email)
    assert client.get(f"/devices/{cameras['gate']}/recordings.zip").status_code == 404
    stranger_zip = unzip(client.get("/account/recordings.zip").data)
    assert stranger_zip == {}  # the stranger's own contract: nothing of ours
    with app.app_context():
        events = db.session.scalar(
            select(db.func.count(AuditEvent.id)).where(
                AuditEvent.contract_id == contractor.contract_id,
                AuditEvent.action == "recordings.download",
            )
        )
        assert events == 0

    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login(contractor.email)
    with app.app_context():
        delete_device(db.session.get(Device, cameras["yard"]))
    gone = client.get(f"/devices/{cameras['yard']}/recordings.zip")
    assert gone.status_code == 410
    assert "既に削除されています" in gone.get_data(as_text=True)
    assert client.get("/devices/999999/recordings.zip").status_code == 404


def test_only_the_contractor_takes_the_archives(
    app: Flask, client: Client, cameras: dict[str, Any], contractor: Account
) -> None:
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        viewer = UserFactory(
            email="viewer@example.com", contract=contract, role=Role.GENERAL, all_devices=False
        )
        db.session.add(UserDevice(user_id=viewer.id, device_id=cameras["gate"]))
        db.session.commit()
    client.login("viewer@example.com")
    assert client.get(f"/devices/{cameras['gate']}/recordings.zip").status_code == 404
    assert client.get("/account/recordings.zip").status_code == 404
    # A single recording of a device they may see, they may keep; of another, not.
    [first, *_] = cameras["gate_recordings"]
    [yard] = cameras["yard_recordings"]
    kept = client.get(f"/devices/{cameras['gate']}/recordings/{first.id}/download")
    assert kept.status_code == 200 and kept.data == first.data
    hidden = client.get(f"/devices/{cameras['yard']}/recordings/{yard.id}/download")
    assert hidden.status_code == 404


def test_archives_need_a_login(client: Client, cameras: dict[str, Any]) -> None:
    for path in (f"/devices/{cameras['gate']}/recordings.zip", "/account/recordings.zip"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_one_recording_downloads_as_a_file_named_by_device_and_time(
    logged_in: Client, cameras: dict[str, Any]
) -> None:
    clip = cameras["gate_recordings"][1]
    response = logged_in.get(f"/devices/{cameras['gate']}/recordings/{clip.id}/download")
    assert response.status_code == 200
    assert response.mimetype == "video/mp4"
    assert response.content_length == len(clip.data)
    assert response.data == clip.data
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="gate.miemasu.test_{clip.taken}.mp4"; '
        f"filename*=UTF-8''{quote(f'正門_入口_{clip.taken}.mp4', safe='')}"
    )


def test_a_recording_through_another_device_or_without_its_object_is_404(
    app: Flask, logged_in: Client, cameras: dict[str, Any]
) -> None:
    first = cameras["gate_recordings"][0]
    wrong_device = f"/devices/{cameras['yard']}/recordings/{first.id}/download"
    assert logged_in.get(wrong_device).status_code == 404
    with app.app_context():
        storage.remove([db.session.get(Recording, first.id).storage_key])
    missing = f"/devices/{cameras['gate']}/recordings/{first.id}/download"
    assert logged_in.get(missing).status_code == 404


def test_the_list_and_the_viewer_offer_the_download(
    logged_in: Client, cameras: dict[str, Any]
) -> None:
    first = cameras["gate_recordings"][0]
    link = f'href="/devices/{cameras["gate"]}/recordings/{first.id}/download" download'
    assert link in logged_in.get(f"/devices/{cameras['gate']}/recordings").get_data(as_text=True)
    viewer = logged_in.get(f"/devices/{cameras['gate']}/recordings/{first.id}")
    assert link in viewer.get_data(as_text=True)


def test_the_deletion_confirmation_offers_the_devices_recordings(
    app: Flask, logged_in: Client, cameras: dict[str, Any], contractor: Account
) -> None:
    page = logged_in.get(f"/devices/{cameras['gate']}/delete").get_data(as_text=True)
    assert (
        f'<a href="/devices/{cameras["gate"]}/recordings.zip" download>録画データをダウンロード</a>'
        in page
    )
    assert "この機器の録画データ (4件) も削除されます。" in page
    with app.app_context():
        empty = DeviceFactory(contract_id=contractor.contract_id).id
    page = logged_in.get(f"/devices/{empty}/delete").get_data(as_text=True)
    assert "この機器に録画データはありません。" in page
    assert "録画データをダウンロード" not in page


def test_withdrawal_offers_the_contracts_recordings_while_any_remain(
    app: Flask, logged_in: Client, cameras: dict[str, Any]
) -> None:
    blocked = logged_in.get("/account/withdraw").get_data(as_text=True)
    assert '<a href="/account/recordings.zip" download>録画データをダウンロード</a>' in blocked
    assert "すべての機器の録画データ (5件)" in blocked
    with app.app_context():
        for device_id in (cameras["gate"], cameras["yard"]):
            delete_device(db.session.get(Device, device_id))
    final = logged_in.get("/account/withdraw").get_data(as_text=True)
    assert "退会最終確認" in final
    assert "録画データはありません。" in final and "録画データをダウンロード" not in final
