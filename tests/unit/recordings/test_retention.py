"""What a plan keeps: 「録画 N日」 the service's last N days, 「ライブ映像」 the newest still image.

Expired recordings are never listed, counted, served nor exported, from the moment they
expire; prune-recordings then removes their rows and objects, in batches, on both backends.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, LicenceFactory
from tests.support.mail import Mailbox
from webapp import clock, storage
from webapp.enums import Plan, RecordingKind, RecordingStatus
from webapp.extensions import db
from webapp.models import Device, Recording
from webapp.services import retention
from webapp.services.export import contract_data
from webapp.services.retention import history_start, prune_recordings

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


def test_what_is_saved_before_a_deletion_is_what_the_plan_keeps(
    logged_in: Client, week: dict[str, int]
) -> None:
    device = week["device"]
    delete_page = logged_in.get(f"/devices/{device}/delete").get_data(as_text=True)
    assert "この機器の録画データ (8件) も削除されます。" in delete_page
    kept = logged_in.get(f"/devices/{device}/recordings/{week['7d']}/download")
    assert kept.status_code == 200 and kept.data == PNG
    assert logged_in.get(f"/devices/{device}/recordings/{week['8d']}/download").status_code == 404
    archive = logged_in.get(f"/devices/{device}/recordings.zip")
    with zipfile.ZipFile(io.BytesIO(archive.get_data())) as opened:
        names = opened.namelist()
    oldest = TODAY - dt.timedelta(days=7)
    assert len(names) == 8 and names[0] == f"倉庫/{oldest:%Y-%m-%d}_12-00-00.png"


def test_the_deletion_mail_counts_what_the_confirmation_offered(
    logged_in: Client, week: dict[str, int], contractor: Account, smtp: Mailbox
) -> None:
    ticked = {"ack_licence": "y", "ack_data": "y"}
    assert logged_in.post_form(f"/devices/{week['device']}/delete", ticked).status_code == 303
    assert "録画データ 8件" in smtp.wait_for(contractor.email, "機器を削除しました").body


def test_the_contracts_archive_holds_each_devices_history_by_its_plan(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        for name, plan in (("週", Plan.RECORDING_7), ("月", Plan.RECORDING_30), ("生", Plan.LIVE)):
            device = camera_on(contractor.contract_id, plan, name=name)
            for days in (0, 10, 40):
                record(device, tokyo(TODAY - dt.timedelta(days=days)))
    notice = logged_in.get("/account/withdraw").get_data(as_text=True)
    assert "すべての機器の録画データ (3件)" in notice
    with zipfile.ZipFile(io.BytesIO(logged_in.get("/account/recordings.zip").get_data())) as zf:
        folders = sorted(name.split("/")[0] for name in zf.namelist())
    assert folders == ["月", "月", "週"]


def test_a_jump_to_an_expired_day_finds_nothing_that_old(
    logged_in: Client, week: dict[str, int]
) -> None:
    device = week["device"]
    expired_day = TODAY - dt.timedelta(days=9)
    html = logged_in.get(f"/devices/{device}/recordings?date={expired_day}").get_data(as_text=True)
    assert "以前の録画はありません。" in html and "録画から表示しています" not in html
    assert f'/recordings/{week["7d"]}"' in html
    for days in (8, 9):
        assert f'/recordings/{week[f"{days}d"]}"' not in html


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
    assert f'hx-get="/devices/{device}/live"' in fragment  # and so on, every 10 s
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


# --- The retention job ---------------------------------------------------------------------


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, app: Flask) -> Flask:
    """The app on each storage backend in turn (see test_storage.py)."""
    if request.param == "s3":
        return request.getfixturevalue("s3_app")  # type: ignore[no-any-return]
    return app


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Any]:
    from tests.support.s3server import running_s3_server

    with running_s3_server() as server:
        yield server


@pytest.fixture
def s3_app(app: Flask, s3_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Flask:
    from tests.support.s3server import ACCESS_KEY, REGION, SECRET_KEY

    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    app.config.update(
        STORAGE_BACKEND="s3",
        S3_BUCKET=s3_server.new_bucket(),
        S3_ENDPOINT_URL=s3_server.endpoint_url,
        S3_REGION=REGION,
    )
    storage.init_app(app)
    return app


@pytest.fixture
def fleet(store: Flask, contractor: Account, stranger: Account) -> dict[str, Any]:
    """Devices of every plan, with recordings kept and expired, in two contracts."""
    now = clock.utcnow()
    with store.app_context():
        week = camera_on(contractor.contract_id, Plan.RECORDING_7)
        month = camera_on(stranger.contract_id, Plan.RECORDING_30)
        live = camera_on(contractor.contract_id, Plan.LIVE)
        kept = {
            record(week, tokyo(TODAY - dt.timedelta(days=7)), name="w7"),
            record(week, now, name="w0"),
            record(month, tokyo(TODAY - dt.timedelta(days=30)), name="m30"),
            record(live, now - dt.timedelta(hours=1), name="l-newest"),
        }
        expired = {
            *(record(week, tokyo(TODAY - dt.timedelta(days=d)), name=f"w{d}") for d in (8, 9, 60)),
            record(month, tokyo(TODAY - dt.timedelta(days=31)), name="m31"),
            record(live, now - dt.timedelta(hours=2), name="l-older"),
            record(live, now, RecordingKind.CLIP, name="l-clip"),
        }
        kept_keys = sorted(
            db.session.scalars(select(Recording.storage_key).where(Recording.id.in_(kept)))
        )
    return {"kept": kept, "expired": expired, "kept_keys": kept_keys}


def test_the_job_removes_rows_and_objects_of_what_expired(
    store: Flask, fleet: dict[str, Any]
) -> None:
    with store.app_context():
        pruning = prune_recordings()
    assert (pruning.recordings, pruning.objects) == (6, 6)
    assert rows_left(store) == fleet["kept"]
    assert keys_left(store) == fleet["kept_keys"]
    with store.app_context():
        again = prune_recordings()
    assert (again.recordings, again.objects) == (0, 0)  # idempotent
    assert rows_left(store) == fleet["kept"]


def test_the_job_goes_in_batches_each_committed_before_its_objects_go(
    store: Flask, fleet: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, bool, int]] = []
    remove = storage.remove

    def watched(keys: list[str]) -> int:
        in_transaction = db.session().in_transaction()
        with store.app_context():
            gone = db.session.scalar(
                select(func.count()).select_from(Recording).where(Recording.storage_key.in_(keys))
            )
        calls.append((len(keys), in_transaction, gone or 0))
        return remove(keys)

    monkeypatch.setattr(storage, "remove", watched)
    with store.app_context():
        pruning = prune_recordings(batch_size=2)
    assert pruning.recordings == 6
    # No batch is larger than asked; no transaction is open while the storage is called,
    # and the rows naming those objects have gone already (committed).
    assert all(
        size <= 2 and not in_transaction and named == 0 for size, in_transaction, named in calls
    )
    assert sum(size for size, _, _ in calls) == 6
    assert keys_left(store) == fleet["kept_keys"]


@pytest.mark.parametrize("size", [0, -1, retention.MAX_PRUNE_BATCH + 1])
def test_the_job_refuses_an_absurd_batch_and_changes_nothing(
    app: Flask, week: dict[str, int], size: int
) -> None:
    before = rows_left(app)
    with app.app_context(), pytest.raises(ValueError, match="batch_size"):
        prune_recordings(batch_size=size)
    assert rows_left(app) == before


def test_the_job_follows_a_plan_changed_since_it_read_the_devices(
    app: Flask, contractor: Account
) -> None:
    with app.app_context():
        device = camera_on(contractor.contract_id, Plan.RECORDING_30)
        ten_days = record(device, tokyo(TODAY - dt.timedelta(days=10)))
        # The job read it as 録画 7日; it is 録画 30日 by the time the batch runs.
        pruning = retention.Pruning()
        removed = retention._prune_batch(Plan.RECORDING_7, [device.id], TODAY, 100, pruning)
    assert removed == 0 and rows_left(app) == {ten_days}


def test_two_jobs_at_once_remove_each_recording_once(app: Flask, week: dict[str, int]) -> None:
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            with app.app_context():
                start.wait()
                results.append(prune_recordings(batch_size=1).recordings)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(results) == 2  # the two recordings 8 and 9 days old
    assert len(rows_left(app)) == 8


def test_prune_recordings_command(app: Flask, week: dict[str, int]) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["prune-recordings"])
    assert result.exit_code == 0, result.output
    assert "2 recording(s) and 2 file(s) removed" in result.output
    assert "0 recording(s) and 0 file(s) removed" in runner.invoke(args=["prune-recordings"]).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "0"], "0 is not in the range 1<=x<=10000"),
        (["--batch-size", "-5"], "-5 is not in the range 1<=x<=10000"),
        (["--batch-size", "1000000000"], "1000000000 is not in the range 1<=x<=10000"),
        (["--batch-size", "many"], "'many' is not a valid integer"),
        (["--every", "0"], "0 is not in the range 1<=x<=86400"),
        (["--every", "999999999"], "999999999 is not in the range 1<=x<=86400"),
    ],
)
def test_the_command_refuses_bad_options_and_changes_nothing(
    app: Flask, week: dict[str, int], args: list[str], message: str
) -> None:
    before = rows_left(app)
    result = app.test_cli_runner().invoke(args=["prune-recordings", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert rows_left(app) == before


def test_the_export_holds_no_expired_recording(logged_in: Client, week: dict[str, int]) -> None:
    exported = logged_in.get("/account/export.json")
    assert exported.status_code == 200
    assert [row["recordings"] for row in json.loads(exported.data)["devices"]] == [8]
