"""機器一覧: search conditions, counts, paging, the column switch, htmx partials."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, LicenceFactory
from webapp.devices.views import VIEWS, list_args_from_back
from webapp.enums import CommStatus, Plan, ServiceStatus

ROW = re.compile(r'href="/devices/(\d+)[?"]')


def device_ids(html: str) -> list[int]:
    return [int(found) for found in ROW.findall(html)]


def count_line(html: str) -> str:
    match = re.search(r"表示件数: (\d+|-) / \d+", html)
    assert match, "no 表示件数 on the page"
    return match.group(0)


@pytest.fixture
def fleet(app: Flask, contractor: Account, stranger: Account) -> dict[str, int]:
    """Four devices of the contractor with distinct attributes, and one of a stranger."""
    with app.app_context():
        made = {
            "entrance": DeviceFactory(
                contract_id=contractor.contract_id,
                name="正面玄関カメラ",
                model="WV-S1131",
                mac="008045ABCDEF",
                domain="entrance.miemasu.test",
                licence=LicenceFactory(contract_id=contractor.contract_id, plan=Plan.LIVE),
            ),
            "parking": DeviceFactory(
                contract_id=contractor.contract_id,
                name="Parking Lot",
                model="WV-X1551LN",
                mac="008045123456",
                domain="parking.miemasu.test",
                service_status=ServiceStatus.SUSPENDED,
            ),
            "recorder": DeviceFactory(
                contract_id=contractor.contract_id,
                name="録画機 100%",
                model="WJ-NX300",
                mac="0080451A2B3C",
                domain="recorder.miemasu.test",
                comm_status=CommStatus.OFFLINE,
                licence=LicenceFactory(contract_id=contractor.contract_id, plan=Plan.RECORDING_30),
            ),
            "pending": DeviceFactory(
                contract_id=contractor.contract_id,
                name="倉庫_A",
                model="WV-S2131L",
                mac="00804599AA01",
                domain="store.miemasu.test",
                service_status=ServiceStatus.AWAITING_SETUP,
            ),
            "foreign": DeviceFactory(
                contract_id=stranger.contract_id,
                name="正面玄関カメラ (他社)",
                model="WV-S1131",
                mac="008045FFFFFF",
                domain="foreign.miemasu.test",
            ),
        }
        return {key: device.id for key, device in made.items()}


def test_list_shows_every_device_of_the_contract_only(
    logged_in: Client, fleet: dict[str, int]
) -> None:
    html = logged_in.get("/devices").get_data(as_text=True)
    assert count_line(html) == "表示件数: 4 / 4"
    assert sorted(device_ids(html)) == sorted(v for k, v in fleet.items() if k != "foreign")
    assert "00:80:45:AB:CD:EF" in html
    for label in ("検索条件", "機器名", "品番", "MACアドレス", "ドメイン名", "サービス稼働状態"):
        assert label in html
    for label in ("加入サービス", "検索", "表示項目切替", "詳細"):
        assert label in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"name": "玄関"}, ["entrance"]),
        ({"name": "parking"}, ["parking"]),  # case-insensitive
        ({"name": "100%"}, ["recorder"]),  # % is a character, not a wildcard
        ({"name": "_"}, ["pending"]),  # so is _
        ({"model": "wv-s"}, ["entrance", "pending"]),
        ({"mac": "00:80:45:ab:cd"}, ["entrance"]),
        ({"mac": "1a-2b-3c"}, ["recorder"]),
        ({"mac": "ABCDEF"}, ["entrance"]),
        ({"domain": "PARKING"}, ["parking"]),
        ({"service_status": "suspended"}, ["parking"]),
        ({"service_status": "awaiting_setup"}, ["pending"]),
        ({"plan": "live"}, ["entrance"]),
        ({"plan": "rec30", "name": "録画"}, ["recorder"]),
        ({"name": "存在しない"}, []),
    ],
)
def test_search_conditions(
    logged_in: Client, fleet: dict[str, int], query: dict[str, str], expected: list[str]
) -> None:
    html = logged_in.get("/devices", query_string=query).get_data(as_text=True)
    assert sorted(device_ids(html)) == sorted(fleet[key] for key in expected)
    assert count_line(html) == f"表示件数: {len(expected)} / 4"


def test_search_never_reveals_another_contract(logged_in: Client, fleet: dict[str, int]) -> None:
    html = logged_in.get("/devices", query_string={"mac": "FFFFFF"}).get_data(as_text=True)
    assert device_ids(html) == []
    assert "他社" not in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"name": "x" * 41}, "name", "40文字以内"),
        ({"mac": "zz:zz"}, "mac", "MACアドレスは英数字"),
        ({"service_status": "bogus"}, "service_status", "一覧から選択してください。"),
        ({"plan": "' OR 1=1 --"}, "plan", "一覧から選択してください。"),
        ({"domain": "a\x00b"}, "domain", "使用できない文字"),
    ],
)
def test_bad_search_gets_a_message_next_to_the_field(
    logged_in: Client, fleet: dict[str, int], query: dict[str, str], field: str, message: str
) -> None:
    response = logged_in.get("/devices", query_string=query)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">' in html
    assert message in html
    assert device_ids(html) == []
    # Nothing was searched: no count of matches, and no "nothing matches".
    assert "検索条件に誤りがあるため、検索していません。" in html
    assert "条件に合う機器はありません" not in html
    assert count_line(html) == "表示件数: - / 4"


def test_bad_search_under_htmx_returns_the_list_and_the_form_with_errors(
    logged_in: Client, fleet: dict[str, int]
) -> None:
    response = logged_in.get(
        "/devices", query_string={"name": "x" * 41}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="device-list"')
    assert 'hx-swap-oob="true"' in html
    assert "40文字以内" in html
    assert "<html" not in html


def test_paging_holds_fifty_rows_and_counts_every_match(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        for n in range(120):
            DeviceFactory(contract_id=contractor.contract_id, name=f"Cam {n:03d}")
    first = logged_in.get("/devices").get_data(as_text=True)
    assert len(device_ids(first)) == 50
    assert count_line(first) == "表示件数: 120 / 120"
    assert "1 / 3 ページ" in first

    third = logged_in.get("/devices?page=3").get_data(as_text=True)
    assert len(device_ids(third)) == 20
    assert 'rel="next"' not in third

    searched = logged_in.get("/devices?name=Cam 0&page=2").get_data(as_text=True)
    assert count_line(searched) == "表示件数: 100 / 120"
    assert "2 / 2 ページ" in searched
    next_link = re.search(r'<a href="([^"]+)" rel="prev"', searched)
    assert next_link and "name=Cam+0" in next_link.group(1).replace("%20", "+")

    # Past the end shows the last page, of a search too; nonsense is page 1.
    assert "3 / 3 ページ" in logged_in.get("/devices?page=999999").get_data(as_text=True)
    past = logged_in.get("/devices?name=Cam 0&page=999999").get_data(as_text=True)
    assert count_line(past) == "表示件数: 100 / 120"
    assert "2 / 2 ページ" in past
    assert len(device_ids(past)) == 50
    for junk in ("-1", "abc", "1e9", "9" * 40, "0"):
        response = logged_in.get(f"/devices?page={junk}")
        assert response.status_code == 200
        assert "1 / 3 ページ" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "page", "matching", "rows", "position"),
    [
        ("", 3, 120, 20, "3 / 3"),  # the list alone: its count is the total
        ("Cam 1", 1, 20, 20, None),  # a page that is not full holds the last match
        ("Cam", 3, 120, 20, "3 / 3"),  # so does a last page after full ones
        ("Cam 0", 1, 100, 50, "1 / 2"),  # a full page: the matches are counted
        ("Cam 0", 2, 100, 50, "2 / 2"),  # exactly full, and the last
        ("Cam 0", 9, 100, 50, "2 / 2"),  # past the end: the last page
        ("Cam 9", 1, 0, 0, None),  # no match
    ],
)
def test_every_way_to_a_page_counts_the_same(
    app: Flask,
    logged_in: Client,
    contractor: Account,
    query: str,
    page: int,
    matching: int,
    rows: int,
    position: str | None,
) -> None:
    with app.app_context():
        for n in range(120):
            DeviceFactory(contract_id=contractor.contract_id, name=f"Cam {n:03d}")
    html = logged_in.get("/devices", query_string={"name": query, "page": page}).get_data(
        as_text=True
    )
    assert count_line(html) == f"表示件数: {matching} / 120"
    assert len(device_ids(html)) == rows
    if position:
        assert f"{position} ページ" in html
    else:
        assert 'class="pager"' not in html


@pytest.mark.parametrize(
    ("view", "columns"),
    [
        ("status", ["サービス稼働状態", "加入サービス"]),
        ("licence", ["ライセンスキー", "有効期限", "ライセンス状態"]),
        ("comm", ["通信状態", "録画状態"]),
    ],
)
def test_column_switch(
    logged_in: Client, fleet: dict[str, int], view: str, columns: list[str]
) -> None:
    html = logged_in.get(f"/devices?view={view}").get_data(as_text=True)
    head = html[html.index("<thead>") : html.index("</thead>")]
    for column in columns:
        assert f">{column}<" in head
    assert f'aria-current="true">{VIEWS[view]}</a>' in html


def test_unknown_view_falls_back_to_the_default(logged_in: Client, fleet: dict[str, int]) -> None:
    html = logged_in.get("/devices?view=<script>").get_data(as_text=True)
    assert "<script>" not in html.split("<main", 1)[1]
    assert ">加入サービス<" in html


def test_htmx_gets_only_the_list(logged_in: Client, fleet: dict[str, int]) -> None:
    response = logged_in.get("/devices?name=玄関", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="device-list"')
    assert "<html" not in html
    assert "HX-Request" in response.headers["Vary"]
    assert device_ids(html) == [fleet["entrance"]]


ROWS_SWAP = {"HX-Request": "true", "HX-Target": "device-rows"}


def test_a_search_from_the_list_gets_its_rows_and_what_depends_on_them(
    logged_in: Client, fleet: dict[str, int]
) -> None:
    """The page already shows the columns: only the rows, the count and the pager come back."""
    response = logged_in.get("/devices?name=玄関&view=comm", headers=ROWS_SWAP)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<tbody id="device-rows"')
    assert device_ids(html) == [fleet["entrance"]]
    assert "<thead>" not in html and "<section" not in html
    # Out of band, in a template (a table part must come first to be parsed as one):
    # the count and the column switch, whose links carry the new conditions, and the pager.
    oob = html[html.index("<template>") :]
    assert '<div id="device-list-status" hx-swap-oob="true">' in oob
    assert count_line(oob) == "表示件数: 1 / 4"
    links = re.findall(r'<a href="([^"]+)" hx-get=', oob)
    assert len(links) == len(VIEWS)
    assert all("name=%E7%8E%84%E9%96%A2" in link for link in links), links
    assert '<div id="device-pager" hx-swap-oob="true">' in oob
    # The conditions, for the search form in htmx's history copy.
    state = re.search(r"data-form-state='([^']*)'", html)
    assert state and json.loads(unescape(state.group(1)))["name"] == "玄関"
    assert {"HX-Request", "HX-Target"} <= set(response.headers["Vary"].replace(" ", "").split(","))


def test_another_page_under_htmx_gets_its_rows_and_pager(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        for n in range(60):
            DeviceFactory(contract_id=contractor.contract_id, name=f"Cam {n:03d}")
    html = logged_in.get("/devices?page=2", headers=ROWS_SWAP).get_data(as_text=True)
    assert len(device_ids(html)) == 10
    assert "2 / 2 ページ" in html
    assert 'hx-target="#device-rows"' in html  # 「前へ」 swaps the rows again


def test_a_refused_search_from_the_list_replaces_the_whole_list(
    logged_in: Client, fleet: dict[str, int]
) -> None:
    response = logged_in.get("/devices", query_string={"mac": "zz:zz"}, headers=ROWS_SWAP)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#device-list"
    assert response.headers["HX-Reswap"] == "outerHTML"
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="device-list"')
    assert 'role="alert"' in html
    assert "検索条件に誤りがあるため、検索していません。" in html
    assert "条件に合う機器はありません" not in html
    # The form comes back out of band, its field marked and described by the message.
    assert 'id="mac" name="mac" type="text" value="zz:zz" maxlength="17"' in html
    assert 'aria-describedby="mac-error" aria-invalid="true"' in html


def test_the_search_form_shows_the_conditions_it_was_sent(
    logged_in: Client, fleet: dict[str, int]
) -> None:
    html = logged_in.get(
        "/devices", query_string={"model": 'wv-"s', "service_status": "suspended", "plan": "live"}
    ).get_data(as_text=True)
    assert '<input id="model" name="model" type="text" value="wv-&#34;s" maxlength="40">' in html
    assert '<option value="suspended" selected>サービス停止中</option>' in html
    assert '<option value="live" selected>ライブ映像</option>' in html
    assert '<option value="" selected>' not in html
    assert '<label for="service_status">サービス稼働状態</label>' in html


@pytest.mark.parametrize(
    "headers",
    [
        {"HX-Request": "true", "HX-Boosted": "true"},
        {"HX-Request": "true", "HX-History-Restore-Request": "true"},
    ],
)
def test_boosted_and_history_restore_requests_get_the_whole_page(
    logged_in: Client, fleet: dict[str, int], headers: dict[str, str]
) -> None:
    html = logged_in.get("/devices", headers=headers).get_data(as_text=True)
    assert "<html" in html


def test_detail_links_carry_the_list_state_back(logged_in: Client, fleet: dict[str, int]) -> None:
    html = logged_in.get("/devices?view=comm&name=玄関").get_data(as_text=True)
    link = re.search(r'href="(/devices/\d+\?back=[^"]+)"', html)
    assert link
    detail = logged_in.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    back = re.search(r'<a class="button button-secondary" href="([^"]+)">戻る</a>', detail)
    assert back
    query = parse_qs(urlsplit(back.group(1).replace("&amp;", "&")).query)
    assert query == {"view": ["comm"], "name": ["玄関"]}


@pytest.mark.parametrize(
    "back",
    [
        "https://evil.example/",
        "//evil.example",
        "name=" + "x" * 2000,
        "service_status=hacked",
        "&".join(["a=1"] * 50),
        "view=<script>",
    ],
)
def test_a_forged_back_parameter_cannot_redirect_or_inject(app: Flask, back: str) -> None:
    with app.test_request_context():
        args = list_args_from_back(back)
    assert set(args) <= {"name", "model", "mac", "domain", "service_status", "plan", "view", "page"}
    assert "evil" not in str(args)
    assert "<script>" not in str(args)


@pytest.mark.parametrize("view", list(VIEWS))
def test_rows_escape_what_users_typed(
    app: Flask, contractor: Account, logged_in: Client, view: str
) -> None:
    """Names, models and domains are shown as typed, never read as markup, in every column set."""
    typed = '<b>"Bob\'s" & co</b>'
    shown = "&lt;b&gt;&#34;Bob&#39;s&#34; &amp; co&lt;/b&gt;"
    with app.app_context():
        DeviceFactory(
            contract_id=contractor.contract_id,
            name=typed,
            model=typed[:40],
            domain="a&b.miemasu.test",
        )
    html = logged_in.get(f"/devices?view={view}").get_data(as_text=True)
    assert "<b>" not in html
    assert f"<td>{shown}</td>" in html
    assert f'aria-label="「{shown}」を選択"' in html
    assert "<td>a&amp;b.miemasu.test</td>" in html
