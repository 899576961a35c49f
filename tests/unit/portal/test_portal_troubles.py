"""The portal shows devices in trouble first: counts that filter the tiles, tile times, refresh."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, LicenceFactory, UserFactory, add_recordings
from tests.support.statements import statements_for
from webapp import clock
from webapp.devices.queries import count_troubles
from webapp.enums import (
    CommStatus,
    LicenceState,
    Plan,
    RecordingStatus,
    Role,
    ServiceStatus,
    Trouble,
)
from webapp.extensions import db
from webapp.models import Contract, Device, Recording, User, UserDevice

# 00:23 on 4 December in Tokyo, still 3 December in UTC.
TOKYO_00_23 = dt.datetime(2026, 12, 3, 15, 23, tzinfo=dt.UTC)


def licence_ending_in(days: int, **kwargs: Any) -> Any:
    """A licence whose last day is *days* after the service's today."""
    return LicenceFactory(ends_on=clock.today() + dt.timedelta(days=days), **kwargs)


def add_device(contract_id: int, name: str, *, ends_in: int = 200, **kwargs: Any) -> Device:
    licence_kwargs = {
        key.removeprefix("licence_"): kwargs.pop(key)
        for key in list(kwargs)
        if key.startswith("licence_")
    }
    licence = licence_ending_in(ends_in, contract_id=contract_id, **licence_kwargs)
    return DeviceFactory(contract_id=contract_id, name=name, licence=licence, **kwargs)


# Each device of the mixed contract, and the troubles it is in.
MIXED: dict[str, tuple[dict[str, Any], set[Trouble]]] = {
    "healthy": ({}, set()),
    "offline": ({"comm_status": CommStatus.OFFLINE}, {Trouble.OFFLINE}),
    # Never connected: its 録画停止中 is only the default, and 未接続 is not 通信断.
    "never": (
        {"comm_status": CommStatus.NEVER_CONNECTED, "recording_status": RecordingStatus.STOPPED},
        set(),
    ),
    "stopped": ({"recording_status": RecordingStatus.STOPPED}, {Trouble.RECORDING_STOPPED}),
    "offline_stopped": (
        {"comm_status": CommStatus.OFFLINE, "recording_status": RecordingStatus.STOPPED},
        {Trouble.OFFLINE, Trouble.RECORDING_STOPPED},
    ),
    # ライブ映像 keeps no recordings: it reads 録画なし, not 録画停止中.
    "live": (
        {"recording_status": RecordingStatus.STOPPED, "licence_plan": Plan.LIVE},
        set(),
    ),
    # Last reported under ライブ映像, now on a recording plan: 録画停止中.
    "was_live": ({"recording_status": RecordingStatus.NONE}, {Trouble.RECORDING_STOPPED}),
    "suspended": ({"service_status": ServiceStatus.SUSPENDED}, {Trouble.SERVICE_STOPPED}),
    "expired": ({"ends_in": -1}, {Trouble.SERVICE_STOPPED}),
    "revoked": ({"licence_state": LicenceState.REVOKED, "ends_in": 10}, {Trouble.SERVICE_STOPPED}),
    "ends_today": ({"ends_in": 0}, {Trouble.LICENCE_ENDING}),
    "ends_in_30": ({"ends_in": 30}, {Trouble.LICENCE_ENDING}),
    "ends_in_31": ({"ends_in": 31}, set()),
    "awaiting_ending": (
        {"service_status": ServiceStatus.AWAITING_SETUP, "ends_in": 5},
        {Trouble.LICENCE_ENDING},
    ),
}


@pytest.fixture
def mixed(app: Flask, contractor: Account, stranger: Account) -> dict[str, int]:
    """The mixed contract's devices by name; the stranger has one of each trouble too."""
    with app.app_context():
        ids = {
            name: add_device(contractor.contract_id, name, **dict(kwargs)).id
            for name, (kwargs, _) in MIXED.items()
        }
        for name, (kwargs, _) in MIXED.items():
            add_device(stranger.contract_id, f"よその{name}", **dict(kwargs))
    return ids


def expected_counts() -> dict[Trouble, int]:
    return {
        trouble: sum(trouble in troubles for _, troubles in MIXED.values()) for trouble in Trouble
    }


def tile_names(page: str) -> list[str]:
    found = re.findall(r"<h2 class=\"tile-name\">\s*(?:<a [^>]*>)?([^<]+)", page)
    return [name.strip() for name in found]


def link_href(page: str, label: str) -> str:
    match = re.search(rf'<a href="([^"]*)"[^>]*>{label}</a>', page)
    assert match, label
    return html.unescape(match.group(1))


def test_each_count_is_right_on_a_mixed_contract(
    app: Flask, contractor: Account, mixed: dict[str, int]
) -> None:
    with app.app_context():
        viewer = db.session.get(User, contractor.user_id)
        counts = count_troubles(viewer)
        assert counts.total == len(MIXED)  # the stranger's devices are not counted
        assert counts.by_trouble == expected_counts()


def test_the_counts_follow_the_rule_each_device_shows(
    app: Flask, contractor: Account, mixed: dict[str, int]
) -> None:
    """What SQL counts is what each device's own rule (Device.troubles) says."""
    with app.app_context():
        today = clock.today()
        for name, device_id in mixed.items():
            device = db.session.get(Device, device_id)
            assert device.troubles(today) == MIXED[name][1], name


def test_the_counts_are_shown_above_the_tiles_as_filters(
    logged_in: Client, mixed: dict[str, int]
) -> None:
    page = logged_in.get("/").get_data(as_text=True)
    counts = expected_counts()
    assert page.index('class="troubles"') < page.index('class="tiles"')
    assert f'すべて <span class="trouble-count">{len(MIXED)}台</span>' in page
    for trouble in Trouble:
        link = re.search(
            rf'<a class="trouble[^"]*" href="([^"]+)"[^>]*>{trouble.label} '
            rf'<span class="trouble-count">(\d+)台</span>',
            page,
        )
        assert link, trouble
        assert html.unescape(link.group(1)) == f"/?trouble={trouble.value}"
        assert int(link.group(2)) == counts[trouble]
    assert "よその" not in page


@pytest.mark.parametrize("trouble", list(Trouble))
def test_a_filter_shows_only_the_devices_in_that_trouble(
    logged_in: Client, mixed: dict[str, int], trouble: Trouble
) -> None:
    response = logged_in.get(f"/?trouble={trouble.value}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    expected = sorted(name for name, (_, troubles) in MIXED.items() if trouble in troubles)
    assert sorted(tile_names(page)) == expected
    assert f"表示中: {trouble.label} {len(expected)}台" in page
    current = re.search(r'<a class="trouble[^"]*" href="([^"]+)"[^>]*aria-current="true"', page)
    assert current and html.unescape(current.group(1)) == f"/?trouble={trouble.value}"


def test_a_filter_keeps_its_pages(app: Flask, logged_in: Client, contractor: Account) -> None:
    with app.app_context():
        for n in range(62):
            DeviceFactory(
                contract_id=contractor.contract_id,
                name=f"Offline {n:02d}",
                comm_status=CommStatus.OFFLINE,
            )
        for n in range(5):
            DeviceFactory(contract_id=contractor.contract_id, name=f"Online {n:02d}")
    first = logged_in.get("/?trouble=offline").get_data(as_text=True)
    assert tile_names(first) == [f"Offline {n:02d}" for n in range(60)]
    assert "1 / 2 ページ" in first
    next_page = re.search(r'<a href="([^"]+)" rel="next"', first)
    assert next_page and html.unescape(next_page.group(1)) == "/?trouble=offline&page=2"
    second = logged_in.get("/?trouble=offline&page=2").get_data(as_text=True)
    assert tile_names(second) == ["Offline 60", "Offline 61"]
    assert "2 / 2 ページ" in second
    previous = re.search(r'<a href="([^"]+)" rel="prev"', second)
    assert previous and html.unescape(previous.group(1)) == "/?trouble=offline"
    # A page past the end shows the last one.
    assert tile_names(logged_in.get("/?trouble=offline&page=9").get_data(as_text=True)) == [
        "Offline 60",
        "Offline 61",
    ]


def test_a_filter_that_matches_nothing_says_so(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        DeviceFactory(contract_id=contractor.contract_id, name="元気なカメラ")
    page = logged_in.get("/?trouble=offline").get_data(as_text=True)
    assert tile_names(page) == []
    assert "該当する機器はありません。" in page
    assert "登録機器: 1台" in page


@pytest.mark.parametrize("value", ["unknown", "OFFLINE", "offline,licence_ending", "通信断"])
def test_an_unknown_filter_is_refused_with_a_message(logged_in: Client, value: str) -> None:
    response = logged_in.get("/", query_string={"trouble": value})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "絞り込みの条件が正しくありません。" in page
    assert "通信断 / 録画停止中 / サービス停止中 / ライセンス期限30日以内" in page
    assert 'href="/">すべての機器を表示</a>' in page
    under_htmx = logged_in.get("/", query_string={"trouble": value}, headers={"HX-Request": "true"})
    assert under_htmx.status_code == 400
    assert "絞り込みの条件が正しくありません。" in under_htmx.get_data(as_text=True)


def test_an_empty_filter_shows_every_device(logged_in: Client, mixed: dict[str, int]) -> None:
    page = logged_in.get("/?trouble=").get_data(as_text=True)
    assert len(tile_names(page)) == len(MIXED)


def test_a_filter_needs_a_login(client: Client) -> None:
    response = client.get("/?trouble=offline")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_general_user_counts_only_the_devices_they_see(
    app: Flask, client: Client, contractor: Account, mixed: dict[str, int]
) -> None:
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        viewer = UserFactory(
            email="viewer@example.com", contract=contract, role=Role.GENERAL, all_devices=False
        )
        for name in ("offline", "healthy"):
            db.session.add(UserDevice(user_id=viewer.id, device_id=mixed[name]))
        db.session.commit()
    client.login("viewer@example.com")
    page = client.get("/").get_data(as_text=True)
    assert 'すべて <span class="trouble-count">2台</span>' in page
    assert '通信断 <span class="trouble-count">1台</span>' in page
    assert '録画停止中 <span class="trouble-count">0台</span>' in page
    assert tile_names(client.get("/?trouble=offline").get_data(as_text=True)) == ["offline"]


def test_tiles_show_times_in_the_service_zone(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        device = DeviceFactory(
            contract_id=contractor.contract_id,
            name="正面玄関",
            last_heartbeat_at=dt.datetime(2026, 12, 3, 15, 23),
        )
        [image] = add_recordings(device, 1)
        db.session.get(Recording, image.id).captured_at = clock.utcnow().replace(
            hour=14, minute=5, second=0, microsecond=0
        )
        db.session.commit()
        captured = db.session.scalar(select(Recording.captured_at))
    page = logged_in.get("/").get_data(as_text=True)
    assert "<dt>最終通信日時</dt><dd>2026/12/04 00:23</dd>" in page
    shown = clock.local(captured).strftime("%Y/%m/%d %H:%M")
    assert shown.endswith("23:05")  # 14:05 UTC is 23:05 in Tokyo
    assert f"<dt>画像の撮影日時</dt><dd>{shown}</dd>" in page
    app.config["SERVICE_TIME_ZONE"] = "UTC"
    in_utc = logged_in.get("/").get_data(as_text=True)
    assert "<dt>最終通信日時</dt><dd>2026/12/03 15:23</dd>" in in_utc


def test_tiles_say_when_there_is_no_heartbeat_or_image(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        DeviceFactory(
            contract_id=contractor.contract_id,
            comm_status=CommStatus.NEVER_CONNECTED,
            last_heartbeat_at=None,
        )
    page = logged_in.get("/").get_data(as_text=True)
    assert "<dt>最終通信日時</dt><dd>通信の記録はありません</dd>" in page
    assert "<dt>画像の撮影日時</dt><dd>画像はありません</dd>" in page


def test_a_tile_marks_trouble_and_an_ending_licence(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        add_device(contractor.contract_id, "期限間近", ends_in=12)
        add_device(contractor.contract_id, "元気")
        last_day = clock.today() + dt.timedelta(days=12)
    page = logged_in.get("/").get_data(as_text=True)
    assert page.count('class="tile tile-trouble"') == 1
    assert f"{last_day.year}年{last_day.month}月{last_day.day}日 (残り12日)" in page


def test_licence_days_are_counted_in_the_service_zone(app: Flask, contractor: Account) -> None:
    with app.app_context(), time_machine.travel(TOKYO_00_23, tick=False):
        # The service's today is 4 December (Tokyo); in UTC it is still the 3rd.
        in_30_days = LicenceFactory(contract_id=contractor.contract_id, ends_on=dt.date(2027, 1, 3))
        DeviceFactory(contract_id=contractor.contract_id, licence=in_30_days)
        ended = LicenceFactory(contract_id=contractor.contract_id, ends_on=dt.date(2026, 12, 3))
        DeviceFactory(contract_id=contractor.contract_id, licence=ended)
        counts = count_troubles(db.session.get(User, contractor.user_id))
        assert counts.today == dt.date(2026, 12, 4)
        # 30 days left in Tokyo (31 in UTC); yesterday's last day has passed (not today's).
        assert counts[Trouble.LICENCE_ENDING] == 1
        assert counts[Trouble.SERVICE_STOPPED] == 1


def test_the_tile_area_refreshes_itself_keeping_filter_and_page(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        for _ in range(61):
            DeviceFactory(contract_id=contractor.contract_id, comm_status=CommStatus.OFFLINE)
    response = logged_in.get("/?trouble=offline&page=2")
    page = response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]
    area = re.search(r'<section id="portal-tiles"[^>]*>', page)
    assert area
    assert 'hx-trigger="every 30s"' in area.group(0)
    assert 'hx-get="/?trouble=offline&amp;page=2&amp;self_refresh=1"' in area.group(0)
    assert 'hx-swap="outerHTML"' in area.group(0)
    assert "<html" in page
    # Every link of the part has an id, so htmx keeps the focus on it across a refresh.
    part = page.split('<section id="portal-tiles"')[1].split("</section>")[0]
    links = re.findall(r"<a\b[^>]*>", part)
    assert links and all(" id=" in link for link in links), links
    assert 'id="tiles-pager-prev"' in part


def test_htmx_gets_the_tile_area_alone(logged_in: Client, mixed: dict[str, int]) -> None:
    response = logged_in.get(
        "/?trouble=offline", headers={"HX-Request": "true", "HX-Target": "portal-tiles"}
    )
    assert response.status_code == 200
    partial = response.get_data(as_text=True)
    assert "<html" not in partial and "<title>" not in partial
    assert partial.lstrip().startswith('<section id="portal-tiles"')
    assert 'hx-trigger="every 30s"' in partial
    assert sorted(tile_names(partial)) == ["offline", "offline_stopped"]
    assert 'class="troubles"' in partial  # the counts refresh with the tiles
    assert "HX-Request" in response.headers["Vary"]
    # A boosted link or a history restore gets the whole page.
    for header in ("HX-Boosted", "HX-History-Restore-Request"):
        whole = logged_in.get("/", headers={"HX-Request": "true", header: "true"})
        assert "<html" in whole.get_data(as_text=True), header


def test_the_refresh_link_keeps_filter_and_page(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        for _ in range(61):
            DeviceFactory(contract_id=contractor.contract_id, comm_status=CommStatus.OFFLINE)
    page = logged_in.get("/?trouble=offline&page=2").get_data(as_text=True)
    assert link_href(page, "最新の情報に更新") == "/?trouble=offline&page=2"
    assert "更新時刻: " in page
    assert link_href(logged_in.get("/").get_data(as_text=True), "最新の情報に更新") == "/"
    # A page past the end refreshes the page shown (the last one).
    past = logged_in.get("/?trouble=offline&page=7").get_data(as_text=True)
    assert link_href(past, "最新の情報に更新") == "/?trouble=offline&page=2"


def test_the_portal_runs_a_few_statements_whatever_the_device_count(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    """Counts in one statement: the same number for a few devices and for more than a page."""
    partial = {"HX-Request": "true", "HX-Target": "portal-tiles"}
    pages = [
        ("/", {}),
        ("/?trouble=offline", {}),
        ("/?trouble=licence_ending&page=2", {}),
        ("/?trouble=recording_stopped", partial),
    ]

    def add(count: int) -> None:
        with app.app_context():
            for n in range(count):
                device = add_device(
                    contractor.contract_id,
                    f"Cam {n}",
                    ends_in=n % 40,
                    comm_status=CommStatus.OFFLINE,
                    recording_status=RecordingStatus.STOPPED,
                )
                add_recordings(device, 1)

    add(3)
    logged_in.get("/")  # the first request of a login settles it; count the usual ones
    few = [statements_for(app, logged_in, path, **headers) for path, headers in pages]
    add(130)
    many = [statements_for(app, logged_in, path, **headers) for path, headers in pages]
    assert few == many, (few, many)
    assert max(many) <= 4, many
