"""What a plan keeps: 「録画 N日」 the service's last N days, 「ライブ映像」 the newest still image.

Expired recordings are never listed, counted, served nor exported, from the moment they
expire.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, LicenceFactory
from webapp import clock, storage
from webapp.enums import Plan, RecordingKind, RecordingStatus
from webapp.extensions import db
from webapp.models import Device, Recording
from webapp.services.export import contract_data
from webapp.services.retention import history_start

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
# Thursday 10 December 2026, 12:00 in Tokyo (03:00 UTC): "today" for these tests.
NOON = dt.datetime(2026, 12, 10, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
TODAY = dt.date(2026, 12, 10)


@pytest.fixture(autouse=True)
def noon() -> Iterator[None]:
    with time_machine.travel(NOON, tick=False):
        yield


def tokyo(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A moment of the service's (Tokyo's) day, as stored: naive UTC."""
    return clock.start_of(day) + dt.timedelta(hours=hour, minutes=minute)


def record(
    device: Device,
    captured_at: dt.datetime,
    kind: RecordingKind = RecordingKind.IMAGE,
    name: str | None = None,
) -> int:
    """Store a recording captured at *captured_at*: its object and its row."""
    stem = name or f"{captured_at:%Y%m%d%H%M%S}"
    suffix = ".png" if kind is RecordingKind.IMAGE else ".mp4"
    key = f"{storage.device_prefix(device.contract_id, device.id)}/{stem}{suffix}"
    storage.write(key, PNG)
    recording = Recording(
        device_id=device.id,
        kind=kind,
        captured_at=captured_at,
        content_type="image/png" if kind is RecordingKind.IMAGE else "video/mp4",
        size_bytes=len(PNG),
        storage_key=key,
    )
    db.session.add(recording)
    db.session.commit()
    return recording.id


def camera_on(contract_id: int, plan: Plan, **kwargs: Any) -> Device:
    return DeviceFactory(
        contract_id=contract_id, licence__plan=plan, licence__contract_id=contract_id, **kwargs
    )


def keys_left(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(item.key for item in storage.iter_objects())


def rows_left(app: Flask) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(select(Recording.id)))


@pytest.fixture
def week(app: Flask, contractor: Account) -> dict[str, int]:
    """A 録画 7日 camera with a recording of each of its last days, and two too old."""
    with app.app_context():
        device = camera_on(contractor.contract_id, Plan.RECORDING_7, name="倉庫")
        ids = {days: record(device, tokyo(TODAY - dt.timedelta(days=days))) for days in range(10)}
        return {"device": device.id, **{f"{days}d": ids[days] for days in ids}}


# --- The rule -------------------------------------------------------------------------------


def test_a_plan_keeps_its_days_of_the_service_time_zone(app: Flask) -> None:
    with app.app_context():
        # The seventh day before the 10th begins at midnight in Tokyo, 15:00 UTC the day before.
        assert history_start(Plan.RECORDING_7) == dt.datetime(2026, 12, 2, 15, 0)
        assert history_start(Plan.RECORDING_30) == dt.datetime(2026, 11, 9, 15, 0)
        assert history_start(Plan.LIVE) is None
    assert [plan.retention_days for plan in Plan] == [None, 7, 30]
    assert [plan.keeps_recordings for plan in Plan] == [False, True, True]


def test_the_list_and_its_count_hold_the_plans_last_days_only(
    logged_in: Client, week: dict[str, int]
) -> None:
    html = logged_in.get(f"/devices/{week['device']}/recordings").get_data(as_text=True)
    assert "録画: 8件" in html  # today and the 7 days before it
    for days in range(8):
        assert f'/recordings/{week[f"{days}d"]}"' in html
    for days in (8, 9):
        assert f'/recordings/{week[f"{days}d"]}"' not in html


@pytest.mark.parametrize("path", ["", "/content"])
def test_an_expired_recording_is_neither_viewed_nor_served(
    logged_in: Client, week: dict[str, int], path: str
) -> None:
    device = week["device"]
    assert logged_in.get(f"/devices/{device}/recordings/{week['7d']}{path}").status_code == 200
    assert logged_in.get(f"/devices/{device}/recordings/{week['8d']}{path}").status_code == 404


def test_the_viewer_steps_over_no_expired_recording(
    logged_in: Client, week: dict[str, int]
) -> None:
    html = logged_in.get(f"/devices/{week['device']}/recordings/{week['7d']}").get_data(
        as_text=True
    )
    assert f'/recordings/{week["6d"]}"' in html  # 新しい録画
    assert f'/recordings/{week["8d"]}"' not in html  # no 古い録画: it has expired
    assert '<span class="pager-disabled" aria-disabled="true">古い録画</span>' in html


def test_a_recording_expires_at_midnight_in_tokyo_without_the_job(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        device = camera_on(contractor.contract_id, Plan.RECORDING_7)
        # 23:30 on 2 December in Tokyo is still the 2nd there, though the 2nd in UTC too;
        # 00:30 on the 3rd in Tokyo is 15:30 on the 2nd in UTC.
        last_of_2nd = record(device, tokyo(dt.date(2026, 12, 2), 23, 30))
        first_of_3rd = record(device, tokyo(dt.date(2026, 12, 3), 0, 30))
        device_id = device.id
    content = f"/devices/{device_id}/recordings/%s/content"
    assert logged_in.get(content % last_of_2nd).status_code == 404  # 8 days ago on the 10th
    assert logged_in.get(content % first_of_3rd).status_code == 200  # 7 days ago
    with time_machine.travel(tokyo(dt.date(2026, 12, 10), 23, 59).replace(tzinfo=dt.UTC)):
        logged_in.login(contractor.email)  # a login lasts 30 idle minutes
        assert logged_in.get(content % first_of_3rd).status_code == 200
    with time_machine.travel(tokyo(dt.date(2026, 12, 11), 0, 0).replace(tzinfo=dt.UTC)):
        assert logged_in.get(content % first_of_3rd).status_code == 404
        html = logged_in.get(f"/devices/{device_id}/recordings").get_data(as_text=True)
        assert "録画: 0件" in html
    assert rows_left(app) == {last_of_2nd, first_of_3rd}  # only hidden: the job removes them


def test_thirty_days_keep_what_seven_days_do_not(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        device = camera_on(contractor.contract_id, Plan.RECORDING_30)
        kept = record(device, tokyo(TODAY - dt.timedelta(days=30)))
        expired = record(device, tokyo(TODAY - dt.timedelta(days=31)))
        device_id = device.id
    html = logged_in.get(f"/devices/{device_id}/recordings").get_data(as_text=True)
    assert "録画: 1件" in html and f"/recordings/{kept}" in html
    assert f"/recordings/{expired}" not in html


def test_the_tile_shows_no_expired_image(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    """A 録画 7日 camera silent for ten days has no image left to show."""
    with app.app_context():
        device = camera_on(contractor.contract_id, Plan.RECORDING_7)
        old = record(device, tokyo(TODAY - dt.timedelta(days=10)))
        device_id = device.id
    assert f"/recordings/{old}/content" not in logged_in.get("/").get_data(as_text=True)
    detail = logged_in.get(f"/devices/{device_id}").get_data(as_text=True)
    assert f"/recordings/{old}/content" not in detail and "まだありません" in detail


def test_the_export_counts_each_device_by_its_own_plan(app: Flask, contractor: Account) -> None:
    with app.app_context():
        for name, plan in (("週", Plan.RECORDING_7), ("月", Plan.RECORDING_30), ("生", Plan.LIVE)):
            device = camera_on(contractor.contract_id, plan, name=name)
            for days in (0, 10, 40):
                record(device, tokyo(TODAY - dt.timedelta(days=days)))
        devices = {row["name"]: row for row in contract_data(contractor.contract_id)["devices"]}
    assert {name: row["recordings"] for name, row in devices.items()} == {"週": 1, "月": 2, "生": 0}
    assert devices["生"]["recording_status"] == "録画なし"


# --- ライブ映像 ------------------------------------------------------------------------------


@pytest.fixture
def live(app: Flask, contractor: Account) -> dict[str, int]:
    """A ライブ映像 camera that reports 常時録画中, with a clip and three images stored."""
    with app.app_context():
        device = camera_on(
            contractor.contract_id,
            Plan.LIVE,
            name="玄関",
            recording_status=RecordingStatus.CONTINUOUS,
        )
        now = clock.utcnow()
        ids = {
            "device": device.id,
            "old": record(device, now - dt.timedelta(days=2), name="old"),
            "clip": record(device, now - dt.timedelta(minutes=1), RecordingKind.CLIP, "clip"),
            "before": record(device, now - dt.timedelta(minutes=30), name="before"),
            "newest": record(device, now - dt.timedelta(minutes=5), name="newest"),
        }
        return ids


def test_a_live_device_offers_no_recording_list(logged_in: Client, live: dict[str, int]) -> None:
    device = live["device"]
    response = logged_in.get(f"/devices/{device}/recordings")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "この機器の録画はありません。" in html
    assert "加入サービス「ライブ映像」では録画は保存されず、最新の画像だけが表示されます。" in html
    assert f'href="/devices/{device}/live"' in html
    for name in ("old", "clip", "newest"):
        assert logged_in.get(f"/devices/{device}/recordings/{live[name]}").status_code == 404


def test_a_live_device_serves_its_newest_still_image_only(
    logged_in: Client, live: dict[str, int]
) -> None:
    content = f"/devices/{live['device']}/recordings/%s/content"
    assert logged_in.get(content % live["newest"]).status_code == 200
    for name in ("old", "clip", "before"):
        assert logged_in.get(content % live[name]).status_code == 404, name


def test_a_live_device_reads_no_recording_wherever_it_shows(
    logged_in: Client, live: dict[str, int]
) -> None:
    device = live["device"]
    portal = logged_in.get("/").get_data(as_text=True)
    assert f'href="/devices/{device}/live"' in portal
    assert f'href="/devices/{device}/recordings"' not in portal
    assert f"/recordings/{live['newest']}/content" in portal
    for path in ("/", "/devices?view=comm", f"/devices/{device}", f"/devices/{device}/service"):
        html = logged_in.get(path).get_data(as_text=True)
        assert '<span class="badge badge-none">録画なし</span>' in html, path
        assert "常時録画中" not in html, path
    detail = logged_in.get(f"/devices/{device}").get_data(as_text=True)
    assert f'<a href="/devices/{device}/live">ライブ映像</a>' in detail
    assert f'href="/devices/{device}/recordings"' not in detail


def test_the_live_view_shows_the_newest_image_and_asks_again_by_itself(
    logged_in: Client, live: dict[str, int]
) -> None:
    device = live["device"]
    page = logged_in.get(f"/devices/{device}/live")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "ライブ映像: 玄関" in html
    assert f'src="/devices/{device}/recordings/{live["newest"]}/content"' in html
    assert 'hx-trigger="every 10s"' in html and "自動更新を停止" in html
    # htmx asks for the image alone.
    swap = logged_in.get(f"/devices/{device}/live", headers={"HX-Request": "true"})
    fragment = swap.get_data(as_text=True)
    assert fragment.lstrip().startswith('<figure id="live-image"')
    assert "<h1" not in fragment and f"/recordings/{live['newest']}/content" in fragment
    assert "HX-Request" in swap.headers["Vary"]
    # Paused, it no longer asks.
    paused = logged_in.get(f"/devices/{device}/live?auto=off").get_data(as_text=True)
    assert "hx-trigger" not in paused and "自動更新を再開" in paused


def test_the_live_view_of_a_device_without_images(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        device = camera_on(contractor.contract_id, Plan.LIVE).id
    html = logged_in.get(f"/devices/{device}/live").get_data(as_text=True)
    assert "画像はまだ届いていません。" in html


def test_the_live_view_is_for_those_who_may_see_the_device(
    app: Flask, client: Client, live: dict[str, int], stranger: Account
) -> None:
    client.login(stranger.email)
    assert client.get(f"/devices/{live['device']}/live").status_code == 404


# --- A device that changes plan ----------------------------------------------------------------


def test_a_device_follows_its_new_plan_from_then_on(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        device = camera_on(contractor.contract_id, Plan.RECORDING_30)
        ten_days = record(device, tokyo(TODAY - dt.timedelta(days=10)))
        today = record(device, tokyo(TODAY, 9))
        device_id = device.id
    listing = f"/devices/{device_id}/recordings"
    assert "録画: 2件" in logged_in.get(listing).get_data(as_text=True)

    def new_licence(plan: Plan) -> None:
        with app.app_context():
            row = db.session.get(Device, device_id)
            row.licence = LicenceFactory(plan=plan, contract_id=contractor.contract_id)
            db.session.commit()

    new_licence(Plan.RECORDING_7)
    html = logged_in.get(listing).get_data(as_text=True)
    assert "録画: 1件" in html and f"/recordings/{ten_days}" not in html
    new_licence(Plan.LIVE)
    assert logged_in.get(listing).status_code == 404
    detail = logged_in.get(f"/devices/{device_id}").get_data(as_text=True)
    assert "録画なし" in detail and f"/recordings/{today}/content" in detail  # the newest image
    new_licence(Plan.RECORDING_30)
    assert "録画: 2件" in logged_in.get(listing).get_data(as_text=True)


def test_recording_status_reads_the_plan(app: Flask, contractor: Account) -> None:
    with app.app_context():
        device = camera_on(
            contractor.contract_id, Plan.LIVE, recording_status=RecordingStatus.CONTINUOUS
        )
        assert device.effective_recording_status() is RecordingStatus.NONE
        device.licence.plan = Plan.RECORDING_7
        assert device.effective_recording_status() is RecordingStatus.CONTINUOUS
        # Last reported under ライブ映像, nothing since: nothing is being recorded yet.
        device.recording_status = RecordingStatus.NONE
        assert device.effective_recording_status() is RecordingStatus.STOPPED


def test_the_export_holds_no_expired_recording(logged_in: Client, week: dict[str, int]) -> None:
    exported = logged_in.get("/account/export.json")
    assert exported.status_code == 200
    assert [row["recordings"] for row in json.loads(exported.data)["devices"]] == [8]
