"""ライセンス一覧: the contract's licences, masked, filtered, paged and downloadable as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, LicenceFactory, UserFactory
from webapp import clock
from webapp.enums import LicenceState, Plan, Role
from webapp.extensions import db
from webapp.licences.queries import all_licences, count_licences
from webapp.models import AuditEvent, Contract, Device, Licence, User
from webapp.services.devices import delete_device
from webapp.services.licences import LicenceFilter, days_left, in_filter

# 2026-05-01 15:30 UTC is already 2026-05-02 00:30 in Tokyo, the service's zone.
NOW = dt.datetime(2026, 5, 1, 15, 30, tzinfo=dt.UTC)
TODAY = dt.date(2026, 5, 2)


@pytest.fixture(autouse=True)
def _tokyo_just_after_midnight() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def licence(
    app: Flask,
    contract_id: int | None,
    ends_in: int,
    state: LicenceState = LicenceState.UNUSED,
    plan: Plan = Plan.RECORDING_7,
) -> tuple[int, str]:
    """Add a licence whose last day is *ends_in* days after TODAY; return its id and key."""
    with app.app_context():
        row = LicenceFactory(
            contract_id=contract_id,
            state=state,
            plan=plan,
            starts_on=TODAY - dt.timedelta(days=30),
            ends_on=TODAY + dt.timedelta(days=ends_in),
        )
        return row.id, row.key


def device(app: Flask, contract_id: int, ends_in: int, name: str) -> tuple[int, str]:
    """Add a device of the contract on a licence ending *ends_in* days after TODAY."""
    with app.app_context():
        row = DeviceFactory(
            contract_id=contract_id,
            name=name,
            licence__state=LicenceState.IN_USE,
            licence__starts_on=TODAY - dt.timedelta(days=300),
            licence__ends_on=TODAY + dt.timedelta(days=ends_in),
        )
        return row.id, row.licence.key


@pytest.fixture
def licences(app: Flask, contractor: Account) -> dict[str, tuple[int, str]]:
    """One licence of each kind the filters tell apart, by name."""
    contract = contractor.contract_id
    return {
        "ends_today": device(app, contract, 0, "今日まで"),
        "ends_in_20": device(app, contract, 20, "玄関カメラ"),
        "ends_in_60": device(app, contract, 60, "駐車場カメラ"),
        "ends_in_200": device(app, contract, 200, "倉庫カメラ"),
        "expired": device(app, contract, -1, "期限切れカメラ"),
        "reserved_soon": licence(app, contract, 10),
        "reserved_late": licence(app, contract, 300),
        "reserved_expired": licence(app, contract, -5),
        "revoked": licence(app, contract, 100, LicenceState.REVOKED),
    }


def masked(key: str) -> str:
    return "****-****-****-****-" + key[-4:]


def shown(client: Client, query: str = "", **kwargs: object) -> str:
    response = client.get(f"/licences{query}", **kwargs)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def listed_keys(html: str, licences: dict[str, tuple[int, str]]) -> set[str]:
    return {name for name, (_, key) in licences.items() if masked(key) in html}


def test_the_list_shows_every_licence_of_the_contract_masked(
    logged_in: Client, licences: dict[str, tuple[int, str]]
) -> None:
    html = shown(logged_in)
    assert "ライセンス一覧" in html
    assert listed_keys(html, licences) == set(licences)
    for _, key in licences.values():
        assert key not in html
        assert key[:4] not in html  # not even the first group
    assert "録画 7日" in html
    assert "2026年4月2日 ～ 2026年5月12日" in html  # term of reserved_soon: service days
    assert "未登録 (予約済み)" in html
    for label in ("使用中", "未使用", "失効", "期限切れ"):
        assert label in html
    assert "件数: 9" in html


def test_the_device_column_links_to_its_detail(
    logged_in: Client, licences: dict[str, tuple[int, str]]
) -> None:
    html = shown(logged_in)
    with logged_in.application.app_context():
        device_id = db.session.scalar(
            select(Device.id).where(Device.licence_id == licences["ends_in_20"][0])
        )
    assert f'href="/devices/{device_id}">玄関カメラ</a>' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?filter=ending30", {"ends_today", "ends_in_20", "reserved_soon"}),
        (
            "?filter=ending90",
            {"ends_today", "ends_in_20", "ends_in_60", "reserved_soon"},
        ),
        ("?filter=unused", {"reserved_soon", "reserved_late"}),
        ("?filter=expired", {"expired", "reserved_expired"}),
        ("?filter=", None),
    ],
)
def test_filters(
    logged_in: Client,
    licences: dict[str, tuple[int, str]],
    query: str,
    expected: set[str] | None,
) -> None:
    html = shown(logged_in, query)
    assert listed_keys(html, licences) == (expected if expected is not None else set(licences))
    assert f"件数: {len(expected or licences)}" in html


def test_filter_links_show_counts_and_mark_the_current_one(
    logged_in: Client, licences: dict[str, tuple[int, str]]
) -> None:
    html = shown(logged_in, "?filter=unused")
    assert 'href="/licences?filter=ending30"' in html
    assert "30日以内に終了 (3)" in html
    assert "90日以内に終了 (4)" in html
    assert "すべて (9)" in html
    assert 'aria-current="true">未使用 (2)</a>' in html
    # The download keeps the filter.
    assert 'href="/licences/download.csv?filter=unused"' in html


def test_the_sql_filters_follow_the_rule(
    app: Flask, contractor: Account, licences: dict[str, tuple[int, str]]
) -> None:
    """filter_condition (SQL) and in_filter (the rule) agree on every licence."""
    with app.app_context():
        today = clock.today()
        rows = all_licences(contractor.contract_id, None, today)
        counts = count_licences(contractor.contract_id, today)
        for licence_filter in LicenceFilter:
            in_sql = {row.id for row in all_licences(contractor.contract_id, licence_filter, today)}
            by_rule = {
                row.id
                for row in rows
                if in_filter(licence_filter, row.state(today), row.ends_on, today)
            }
            assert in_sql == by_rule, licence_filter
            assert counts[licence_filter] == len(in_sql)


def test_days_left_are_counted_in_the_service_zone(
    logged_in: Client, licences: dict[str, tuple[int, str]]
) -> None:
    """In UTC it is still 1 May: the licence ending on 2 May would have 1 day left."""
    assert clock.today() == TODAY
    assert days_left(LicenceState.IN_USE, TODAY, TODAY) == 0
    assert days_left(LicenceState.EXPIRED, TODAY - dt.timedelta(days=1), TODAY) is None
    assert days_left(LicenceState.REVOKED, TODAY, TODAY) is None
    html = shown(logged_in, "?filter=ending30")
    row = html.split(masked(licences["ends_today"][1]))[1].split("</tr>")[0]
    assert '<td class="nowrap">0日</td>' in row
    assert "使用中" in row
    row = html.split(masked(licences["ends_in_20"][1]))[1].split("</tr>")[0]
    assert "20日" in row


def test_expired_and_revoked_have_no_days_left(
    logged_in: Client, licences: dict[str, tuple[int, str]]
) -> None:
    html = shown(logged_in)
    for name in ("expired", "revoked"):
        row = html.split(masked(licences[name][1]))[1].split("</tr>")[0]
        assert '<td class="nowrap">-</td>' in row


def test_another_contracts_licences_are_absent(
    app: Flask, logged_in: Client, stranger: Account, licences: dict[str, tuple[int, str]]
) -> None:
    _, reserved = licence(app, stranger.contract_id, 10)
    _, used = device(app, stranger.contract_id, 10, "よその機器")
    _, unassigned = licence(app, None, 10)  # issued to no contract yet
    for query in ("", "?filter=ending30", "?filter=unused"):
        html = shown(logged_in, query)
        for key in (reserved, used, unassigned):
            assert key[-4:] not in html.replace(masked(licences["ends_today"][1]), "")
        assert "よその機器" not in html
    body = logged_in.get("/licences/download.csv").get_data(as_text=True)
    assert "よその機器" not in body
    assert len(list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))) == 1 + len(licences)


@pytest.mark.parametrize("value", ["soon", "ENDING30", "ending 30", "<script>"])
def test_an_unknown_filter_is_a_400_with_a_message(logged_in: Client, value: str) -> None:
    for path in ("/licences", "/licences/download.csv"):
        response = logged_in.get(path, query_string={"filter": value})
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "絞り込みの指定が正しくありません。" in html
        assert "「90日以内に終了」「30日以内に終了」「未使用」「期限切れ」" in html


def test_an_unknown_filter_under_htmx_is_a_message(logged_in: Client) -> None:
    response = logged_in.get("/licences?filter=soon", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#messages"
    assert "絞り込みの指定が正しくありません。" in response.get_data(as_text=True)


def test_the_list_is_paged_like_the_device_list(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    app.config["DEVICES_PER_PAGE"] = 3
    keys = [licence(app, contractor.contract_id, days)[1] for days in range(1, 8)]
    first = shown(logged_in, "?filter=unused")
    assert [masked(key) in first for key in keys] == [True] * 3 + [False] * 4
    assert "1 / 3 ページ" in first
    assert 'href="/licences?filter=unused&amp;page=2"' in first
    third = shown(logged_in, "?filter=unused&page=3")
    assert [masked(key) in third for key in keys] == [False] * 6 + [True]
    # A page past the end shows the last one.
    assert masked(keys[-1]) in shown(logged_in, "?filter=unused&page=99")


def test_without_javascript_the_whole_page_answers(
    logged_in: Client, licences: dict[str, tuple[int, str]]
) -> None:
    html = shown(logged_in, "?filter=ending30")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert 'class="manage-menu"' in html
    assert 'href="/licences?filter=expired"' in html


def test_htmx_gets_the_list_alone(logged_in: Client, licences: dict[str, tuple[int, str]]) -> None:
    response = logged_in.get(
        "/licences?filter=ending30", headers={"HX-Request": "true", "HX-Target": "licence-list"}
    )
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="licence-list"')
    assert "manage-menu" not in html
    assert listed_keys(html, licences) == {"ends_today", "ends_in_20", "reserved_soon"}
    assert 'hx-get="/licences?filter=unused"' in html


def test_the_menu_links_to_the_list_after_devices(logged_in: Client) -> None:
    html = shown(logged_in)
    menu = html.split('class="manage-menu"')[1].split("</nav>")[0]
    assert menu.index("機器管理") < menu.index("ライセンス一覧") < menu.index("ユーザー管理")
    assert 'href="/licences" aria-current="page">ライセンス一覧</a>' in menu


def test_only_the_contractor_reaches_the_list(
    app: Flask, client: Client, contractor: Account
) -> None:
    assert client.get("/licences").status_code == 302  # to the login
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        UserFactory(email="viewer@example.com", contract=contract, role=Role.GENERAL)
    client.login("viewer@example.com")
    assert client.get("/licences").status_code == 404
    assert client.get("/licences/download.csv").status_code == 404


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8").lstrip("\ufeff"))))


def test_the_csv_holds_the_filtered_list_masked(
    logged_in: Client, licences: dict[str, tuple[int, str]]
) -> None:
    response = logged_in.get("/licences/download.csv?filter=ending30")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="licences-ending30-20260502.csv"'
    )
    rows = read_csv(response.data)
    assert rows[0] == [
        "ライセンスキー",
        "加入サービス",
        "開始日",
        "終了日",
        "残り日数",
        "状態",
        "機器名",
    ]
    assert rows[1:] == [
        [
            masked(licences["ends_today"][1]),
            "録画 7日",
            "2025-07-06",
            "2026-05-02",
            "0",
            "使用中",
            "今日まで",
        ],
        [
            masked(licences["reserved_soon"][1]),
            "録画 7日",
            "2026-04-02",
            "2026-05-12",
            "10",
            "未使用",
            "",
        ],
        [
            masked(licences["ends_in_20"][1]),
            "録画 7日",
            "2025-07-06",
            "2026-05-22",
            "20",
            "使用中",
            "玄関カメラ",
        ],
    ]
    for _, key in licences.values():
        assert key.encode() not in response.data


def test_the_csv_guards_against_formulas(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    device(app, contractor.contract_id, 5, '=HYPERLINK("http://evil.example","x")')
    rows = read_csv(logged_in.get("/licences/download.csv").data)
    assert rows[1][-1] == '\'=HYPERLINK("http://evil.example","x")'


def test_the_download_is_in_the_history(
    app: Flask, logged_in: Client, contractor: Account, licences: dict[str, tuple[int, str]]
) -> None:
    logged_in.get("/licences/download.csv?filter=unused")
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "licences.export")
        ).one()
        assert event.contract_id == contractor.contract_id
        assert event.actor_email == contractor.email
        assert event.detail == {"filter": "unused", "licences": 2}
    html = logged_in.get("/history").get_data(as_text=True)
    assert "ライセンス一覧のダウンロード" in html
    assert "ライセンス 2件" in html


def test_the_list_in_english(
    app: Flask, logged_in: Client, contractor: Account, licences: dict[str, tuple[int, str]]
) -> None:
    with app.app_context():
        db.session.get(User, contractor.user_id).locale = "en"
        db.session.commit()
    html = shown(logged_in, "?filter=ending30")
    assert masked(licences["ends_in_20"][1]) in html
    assert "Licences" in html
    assert "Ending within 30 days (3)" in html
    assert "2026-04-02 – 2026-05-12" in html
    assert "20 days" in html
    assert "Not registered (reserved)" in html


def test_licences_kept_after_the_device_is_deleted_read_revoked(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    device_id, key = device(app, contractor.contract_id, 100, "撤去カメラ")
    with app.app_context():
        delete_device(db.session.get(Device, device_id))
        assert (
            db.session.scalar(select(Licence.state).where(Licence.key == key))
            is LicenceState.REVOKED
        )
    html = shown(logged_in)
    row = html.split(masked(key))[1].split("</tr>")[0]
    assert "失効" in row and "撤去カメラ" not in row
