"""Deleting a device (機器の削除／解約): the manual's STEP1-7, and the list it returns to."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import t, tn
from tests.support.live_portal import SERVICE_NAME, LivePortal
from tests.support.pages import (
    ACK_DATA,
    ACK_LICENCE,
    DATE,
    count,
    count_text,
    detail_value,
    device_row,
    device_rows,
    heading,
    login,
    main,
    messages,
    open_detail,
    open_device_list,
    page_position,
    query_of,
    tab,
)
from tests.support.screenshots import Shot

REFUSED = t("確認事項のすべてにチェックしてください。機器は削除されていません。")
INFO_FIELDS = (
    t("機器名"),
    t("品番"),
    t("MACアドレス"),
    t("ドメイン名"),
    t("グローバルIPアドレス"),
    t("サービス開始日"),
    t("通信状態"),
    t("録画状態"),
    t("サービス稼働状態"),
    t("%(service)sサービス", service=SERVICE_NAME),
    t("機器設定"),
)
MAC_FORMAT_ERROR = t("MACアドレスは英数字 (0-9, A-F) と「:」「-」で入力してください。")
DELETE_LINK = t("機器削除 (機器の解約)")  # on 機器情報
MAC_PATTERN = re.compile(r"^([0-9A-F]{2}:){5}[0-9A-F]{2}$")


def test_delete_device_following_the_manual(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    base_url: str,
    shot: Shot,
) -> None:
    """STEP1-7: log in, 設定, 詳細, 機器削除, refused without ticks, deleted with both."""
    account = demo_contract(devices=3)
    target = account.devices[1]
    kept = [device for device in account.devices if device != target]

    # STEP1-2: the login site; e-mail and password; 「ログイン」 lands on the portal's tiles.
    login(page, account.email, account.password, shot)
    expect(page).to_have_url(f"{base_url}/")
    expect(heading(page, t("ポータル"))).to_be_visible()
    expect(page.get_by_text(t("登録機器: %(count)s台", count=3))).to_be_visible()
    for device in account.devices:
        expect(page.get_by_role("heading", level=2, name=device.name, exact=True)).to_be_visible()
    shot(page, "portal")

    # STEP3: 「設定」 in the menu bar opens 機器一覧.
    open_device_list(page)
    expect(page).to_have_url(f"{base_url}/devices")
    expect(count(page)).to_have_text(count_text(3, 3))
    expect(device_rows(page)).to_have_count(3)
    expect(device_row(page, target.name)).to_contain_text(target.mac)
    shot(page, "device-list")

    # STEP4: the row's 「詳細」 opens 機器情報 with every field of the manual.
    open_detail(page, target.name)
    expect(page).to_have_url(re.compile(rf"/devices/{target.id}(\?|$)"))
    for label in INFO_FIELDS:
        expect(page.get_by_role("rowheader", name=label, exact=True)).to_be_visible()
    expect(detail_value(page, t("機器名"))).to_have_text(target.name)
    expect(detail_value(page, t("品番"))).to_have_text(target.model)
    expect(detail_value(page, t("MACアドレス"))).to_have_text(target.mac)
    assert MAC_PATTERN.match(target.mac)
    expect(detail_value(page, t("ドメイン名"))).to_have_text(target.domain)
    if target.is_camera:
        expect(page.get_by_role("rowheader", name=t("カメラの管理"), exact=True)).to_be_visible()
        expect(page.get_by_role("rowheader", name=t("カメラの一覧"), exact=True)).to_be_visible()
        expect(main(page)).to_contain_text("********")
        assert target.camera_admin_password
        expect(main(page)).not_to_contain_text(target.camera_admin_password)
    expect(tab(page, t("機器情報"))).to_have_attribute("aria-current", "page")
    shot(page, "device-detail")

    # The 「ライセンス情報」 and 「サービス設定」 tabs, and back to 「機器情報」.
    tab(page, t("ライセンス情報")).click()
    expect(page).to_have_url(re.compile(rf"/devices/{target.id}/licence(\?|$)"))
    expect(tab(page, t("ライセンス情報"))).to_have_attribute("aria-current", "page")
    for label in ("ライセンスキー", "加入サービス", "有効期間", "ライセンス状態", "残り日数"):
        expect(page.get_by_role("rowheader", name=t(label), exact=True)).to_be_visible()
    # Dates and days as the language writes them: 「2019年7月5日 ～ …」「42日」,
    # 「2019-07-05 – …」「42 days」.
    expect(detail_value(page, t("有効期間"))).to_have_text(
        re.compile(rf"^{DATE} {re.escape(t('～'))} {DATE}$")
    )
    days_left = live_portal.licence_days_left(target.id)
    # Counted after the page was drawn: one more was shown should the day have turned between.
    shown = (
        ["-"]
        if days_left is None
        else [tn("%(num)s日", "%(num)s日", n) for n in (days_left, days_left + 1)]
    )
    expect(detail_value(page, t("残り日数"))).to_have_text(
        re.compile("^(" + "|".join(map(re.escape, shown)) + ")$")
    )
    shot(page, "tab-licence")

    tab(page, t("サービス設定")).click()
    expect(page).to_have_url(re.compile(rf"/devices/{target.id}/service(\?|$)"))
    expect(tab(page, t("サービス設定"))).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("rowheader", name=t("通知メール"), exact=True)).to_be_visible()
    expect(page.locator("#device-panel")).to_contain_text(t("通信状態の変化"))
    shot(page, "tab-service")

    tab(page, t("機器情報")).click()
    expect(page).to_have_url(re.compile(rf"/devices/{target.id}(\?|$)"))
    expect(detail_value(page, t("機器名"))).to_have_text(target.name)

    # STEP5: 「機器削除 (機器の解約)」 shows 機器名, ドメイン名 and both acknowledgements.
    main(page).get_by_role("link", name=DELETE_LINK, exact=True).click()
    expect(heading(page, t("機器の削除 (解約)"))).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/devices/{target.id}/delete(\?|$)"))
    expect(detail_value(page, t("機器名"))).to_have_text(target.name)
    expect(detail_value(page, t("ドメイン名"))).to_have_text(target.domain)
    expect(page.get_by_label(ACK_LICENCE, exact=True)).not_to_be_checked()
    expect(page.get_by_label(ACK_DATA, exact=True)).not_to_be_checked()
    expect(main(page)).to_contain_text(
        t("ライセンスの有効期間中に解約 (機器を削除) した場合の払い戻しは行いません。")
    )
    shot(page, "delete-confirm")

    # STEP6, first without the acknowledgements: refused, nothing deleted.
    page.get_by_role("button", name=t("削除"), exact=True).click()
    expect(page.get_by_role("alert").filter(has_text=REFUSED)).to_be_visible()
    expect(detail_value(page, t("機器名"))).to_have_text(target.name)
    assert live_portal.device_exists(target.id)
    shot(page, "delete-refused")

    # STEP6: both checkboxes ticked, 「削除」.
    page.get_by_label(ACK_LICENCE, exact=True).check()
    page.get_by_label(ACK_DATA, exact=True).check()
    shot(page, "delete-ticked")
    page.get_by_role("button", name=t("削除"), exact=True).click()

    # STEP7: 機器一覧 without the device, and a message that it was deleted.
    expect(page).to_have_url(f"{base_url}/devices")
    expect(heading(page, t("機器一覧"))).to_be_visible()
    expect(messages(page)).to_contain_text(t("機器「%(name)s」を削除しました。", name=target.name))
    expect(count(page)).to_have_text(count_text(2, 2))
    expect(device_row(page, target.name)).to_have_count(0)
    for device in kept:
        expect(device_row(page, device.name)).to_be_visible()
    assert not live_portal.device_exists(target.id)
    shot(page, "device-list-after-delete")


def test_cancel_deletes_nothing(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    base_url: str,
    shot: Shot,
) -> None:
    """「キャンセル」 on the confirmation, even with both boxes ticked, leaves the device."""
    account = demo_contract(devices=3)
    target = account.devices[0]
    login(page, account.email, account.password)
    open_device_list(page)
    open_detail(page, target.name)
    main(page).get_by_role("link", name=DELETE_LINK, exact=True).click()
    expect(heading(page, t("機器の削除 (解約)"))).to_be_visible()
    page.get_by_label(ACK_LICENCE, exact=True).check()
    page.get_by_label(ACK_DATA, exact=True).check()
    shot(page, "delete-confirm-ticked")

    main(page).get_by_role("link", name=t("キャンセル"), exact=True).click()
    expect(heading(page, t("機器情報"))).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/devices/{target.id}(\?|$)"))
    expect(detail_value(page, t("機器名"))).to_have_text(target.name)
    shot(page, "after-cancel")

    main(page).get_by_role("link", name=t("戻る"), exact=True).click()
    expect(page).to_have_url(f"{base_url}/devices")
    expect(count(page)).to_have_text(count_text(3, 3))
    expect(device_row(page, target.name)).to_be_visible()
    expect(messages(page)).not_to_contain_text(
        t("機器「%(name)s」を削除しました。", name=target.name)
    )
    assert live_portal.device_exists(target.id)
    shot(page, "device-list-unchanged")


def test_search_and_column_switch_survive_detail_and_back(
    page: Page,
    js: bool,
    demo_contract: Callable[..., DemoContract],
    shot: Shot,
) -> None:
    """Switch to 通信状態, search 機器名, 詳細, 戻る: the same filtered list comes back."""
    account = demo_contract(devices=3)
    target = account.devices[1]
    fragment = target.name.split()[-1]  # the number part, e.g. "0002": unique in the contract
    login(page, account.email, account.password)
    open_device_list(page)
    expect(count(page)).to_have_text(count_text(3, 3))
    if js:
        page.evaluate("document.body.dataset.e2eMarker = 'kept'")
        history_before = page.evaluate("history.length")

    page.get_by_role("link", name=t("通信状態"), exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]view=comm(&|$)"))
    expect(page.get_by_role("columnheader", name=t("通信状態"), exact=True)).to_be_visible()
    expect(page.get_by_role("columnheader", name=t("録画状態"), exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=t("通信状態"), exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    expect(count(page)).to_have_text(count_text(3, 3))
    shot(page, "comm-view")

    # The search keeps the column set.
    page.get_by_label(t("機器名"), exact=True).fill(fragment)
    page.get_by_role("button", name=t("検索"), exact=True).click()
    expect(count(page)).to_have_text(count_text(1, 3))
    expect(page).to_have_url(re.compile(rf"[?&]name={fragment}(&|$)"))
    expect(device_rows(page)).to_have_count(1)
    expect(device_row(page, target.name)).to_be_visible()
    expect(page.get_by_role("columnheader", name=t("通信状態"), exact=True)).to_be_visible()
    list_query = query_of(page.url)
    assert list_query["name"] == [fragment]
    assert list_query["view"] == ["comm"]
    if js:
        # Only the list was swapped: the page (and its marker) stayed; both URLs were pushed.
        expect(page.locator("body")).to_have_attribute("data-e2e-marker", "kept")
        assert page.evaluate("history.length") == history_before + 2
    shot(page, "searched-comm-view")

    open_detail(page, target.name)
    shot(page, "detail")
    main(page).get_by_role("link", name=t("戻る"), exact=True).click()

    expect(heading(page, t("機器一覧"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/devices\?"))
    assert query_of(page.url) == {"name": [fragment], "view": ["comm"]}
    expect(page.get_by_label(t("機器名"), exact=True)).to_have_value(fragment)
    expect(count(page)).to_have_text(count_text(1, 3))
    expect(device_rows(page)).to_have_count(1)
    expect(page.get_by_role("columnheader", name=t("通信状態"), exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=t("通信状態"), exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    shot(page, "back-to-same-list")


def test_browser_back_after_a_search_shows_the_whole_list(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    base_url: str,
    shot: Shot,
) -> None:
    """The browser's back button after a search returns to the unfiltered list, forward again."""
    account = demo_contract(devices=3)
    fragment = account.devices[0].name.split()[-1]
    login(page, account.email, account.password)
    open_device_list(page)
    page.get_by_label(t("機器名"), exact=True).fill(fragment)
    page.get_by_role("button", name=t("検索"), exact=True).click()
    expect(count(page)).to_have_text(count_text(1, 3))

    page.go_back()
    expect(page).to_have_url(f"{base_url}/devices")
    expect(count(page)).to_have_text(count_text(3, 3))
    expect(device_rows(page)).to_have_count(3)
    shot(page, "back")

    page.go_forward()
    expect(page).to_have_url(re.compile(rf"[?&]name={fragment}(&|$)"))
    expect(count(page)).to_have_text(count_text(1, 3))
    expect(device_rows(page)).to_have_count(1)
    shot(page, "forward")


def test_search_field_agrees_with_the_list_after_back_and_forward(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    shot: Shot,
) -> None:
    """After Back and Forward, 機器名 shows the condition the list is filtered by, or nothing."""
    account = demo_contract(devices=3)
    fragment = account.devices[0].name.split()[-1]
    login(page, account.email, account.password)
    open_device_list(page)
    page.get_by_label(t("機器名"), exact=True).fill(fragment)
    page.get_by_role("button", name=t("検索"), exact=True).click()
    expect(count(page)).to_have_text(count_text(1, 3))

    page.go_back()
    expect(count(page)).to_have_text(count_text(3, 3))
    shot(page, "back")
    expect(page.get_by_label(t("機器名"), exact=True)).to_have_value("", timeout=2000)

    page.go_forward()
    expect(count(page)).to_have_text(count_text(1, 3))
    shot(page, "forward")
    expect(page.get_by_label(t("機器名"), exact=True)).to_have_value(fragment, timeout=2000)


def test_invalid_search_is_explained(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    shot: Shot,
) -> None:
    """A malformed MACアドレス condition shows what is wrong, keeps the input, searches nothing."""
    account = demo_contract(devices=3)
    login(page, account.email, account.password)
    open_device_list(page)
    page.get_by_label(t("MACアドレス"), exact=True).fill("zz:zz")
    page.get_by_role("button", name=t("検索"), exact=True).click()

    expect(
        page.get_by_role("alert").filter(
            has_text=t("検索条件に誤りがあります。入力内容を確認してください。")
        )
    ).to_be_visible()
    expect(page.get_by_text(MAC_FORMAT_ERROR)).to_be_visible()
    expect(page.get_by_label(t("MACアドレス"), exact=True)).to_have_value("zz:zz")
    # One search form, not a second one swapped in beside it.
    expect(page.get_by_role("button", name=t("検索"), exact=True)).to_have_count(1)
    expect(page.get_by_label(t("MACアドレス"), exact=True)).to_have_count(1)
    # Nothing was searched, and the list says so rather than that nothing matched.
    expect(count(page)).to_have_text(count_text("-", 3))
    expect(page.get_by_text(t("検索条件に誤りがあるため、検索していません。"))).to_be_visible()
    expect(page.get_by_text(t("条件に合う機器はありません。"))).to_have_count(0)
    shot(page, "invalid-search")

    # Corrected, the search works again.
    page.get_by_label(t("MACアドレス"), exact=True).fill(account.devices[2].mac.lower())
    page.get_by_role("button", name=t("検索"), exact=True).click()
    expect(count(page)).to_have_text(count_text(1, 3))
    expect(device_row(page, account.devices[2].name)).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    shot(page, "corrected-search")


def test_page_survives_detail_and_back(
    page: Page,
    js: bool,
    demo_contract: Callable[..., DemoContract],
    shot: Shot,
) -> None:
    """「次へ」 to page 2, 詳細, 戻る: page 2 comes back."""
    account = demo_contract(devices=55)
    second_page = account.devices[50:]
    login(page, account.email, account.password)
    open_device_list(page)
    expect(count(page)).to_have_text(count_text(55, 55))
    expect(device_rows(page)).to_have_count(50)
    expect(page.get_by_text(page_position(1, 2))).to_be_visible()
    if js:
        page.evaluate("document.body.dataset.e2eMarker = 'kept'")

    page.get_by_role("link", name=t("次へ"), exact=True).click()
    expect(page.get_by_text(page_position(2, 2))).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]page=2(&|$)"))
    expect(device_rows(page)).to_have_count(len(second_page))
    expect(device_rows(page).first).to_contain_text(second_page[0].name)
    if js:
        expect(page.locator("body")).to_have_attribute("data-e2e-marker", "kept")
    shot(page, "page-2")

    open_detail(page, second_page[0].name)
    main(page).get_by_role("link", name=t("戻る"), exact=True).click()

    expect(heading(page, t("機器一覧"))).to_be_visible()
    assert query_of(page.url) == {"page": ["2"]}
    expect(page.get_by_text(page_position(2, 2))).to_be_visible()
    expect(device_rows(page)).to_have_count(len(second_page))
    for device in second_page:
        expect(device_row(page, device.name)).to_be_visible()
    shot(page, "back-to-page-2")


def test_second_tab_is_told_the_device_is_already_deleted(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    shot: Shot,
    js: bool,
) -> None:
    """Two tabs on one confirmation: the second 「削除」 answers 既に削除されています, not a 500.

    With htmx the stale tab is sent back to 機器一覧 with the message; without, it gets a
    410 page that links there.
    """
    account = demo_contract(devices=2)
    target = account.devices[0]
    login(page, account.email, account.password)
    open_device_list(page)
    open_detail(page, target.name)
    main(page).get_by_role("link", name=DELETE_LINK, exact=True).click()
    expect(heading(page, t("機器の削除 (解約)"))).to_be_visible()
    other_tab = page.context.new_page()
    other_tab.goto(page.url)
    expect(heading(other_tab, t("機器の削除 (解約)"))).to_be_visible()

    for tab_page in (page, other_tab):
        tab_page.get_by_label(ACK_LICENCE, exact=True).check()
        tab_page.get_by_label(ACK_DATA, exact=True).check()
    page.get_by_role("button", name=t("削除"), exact=True).click()
    expect(messages(page)).to_contain_text(t("機器「%(name)s」を削除しました。", name=target.name))

    other_tab.get_by_role("button", name=t("削除"), exact=True).click()
    if js:
        expect(messages(other_tab)).to_contain_text(
            t("機器「%(name)s」は既に削除されています。", name=target.name)
        )
        shot(other_tab, "already-deleted")
    else:
        expect(other_tab.get_by_text(t("この機器は既に削除されています。"))).to_be_visible()
        expect(
            other_tab.get_by_text(
                t("機器「%(name)s」は削除済みです。機器一覧でご確認ください。", name=target.name)
            )
        ).to_be_visible()
        shot(other_tab, "already-deleted")
        other_tab.get_by_role("link", name=t("機器一覧へ"), exact=True).click()
    expect(heading(other_tab, t("機器一覧"))).to_be_visible()
    expect(count(other_tab)).to_have_text(count_text(1, 1))
