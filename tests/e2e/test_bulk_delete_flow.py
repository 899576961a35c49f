"""「選択した機器を削除」: a selection deleted at once, and a withdrawal that deletes them all."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import t
from tests.support.live_portal import LivePortal
from tests.support.pages import (
    ACK_DATA,
    ACK_LICENCE,
    count,
    count_text,
    device_row,
    heading,
    login,
    main,
    manage_menu,
    messages,
    open_device_list,
)
from tests.support.screenshots import Shot

REFUSED = t("確認事項のすべてにチェックしてください。機器は削除されていません。")
DELETE_SELECTED = t("選択した機器を削除")


def tick(page: Page, name: str) -> None:
    page.get_by_label(t("「%(name)s」を選択", name=name), exact=True).check()


def test_delete_two_ticked_devices(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    shot: Shot,
) -> None:
    """Tick two rows, 「選択した機器を削除」: refused without the ticks, then both are gone."""
    account = demo_contract(devices=4)
    chosen, kept = account.devices[1:3], [account.devices[0], account.devices[3]]
    login(page, account.email, account.password)
    open_device_list(page)
    expect(count(page)).to_have_text(count_text(4, 4))
    for device in chosen:
        tick(page, device.name)
    shot(page, "list-ticked")
    main(page).get_by_role("button", name=DELETE_SELECTED, exact=True).click()

    expect(heading(page, t("機器の削除 (解約)"))).to_be_visible()
    expect(main(page)).to_contain_text(t("選択した%(count)s台の機器情報を削除します。", count=2))
    for device in chosen:
        expect(page.get_by_role("cell", name=device.name, exact=True)).to_be_visible()
    for device in kept:
        expect(page.get_by_role("cell", name=device.name, exact=True)).to_have_count(0)
    expect(main(page)).to_contain_text(
        t("ライセンスの有効期間中に解約 (機器を削除) した場合の払い戻しは行いません。")
    )
    expect(main(page).get_by_role("link", name=t("機器の交換"), exact=True).first).to_be_visible()
    shot(page, "confirm")

    page.get_by_role("button", name=t("削除"), exact=True).click()
    expect(page.get_by_role("alert").filter(has_text=REFUSED)).to_be_visible()
    assert all(live_portal.device_exists(device.id) for device in chosen)
    shot(page, "refused")

    page.get_by_label(ACK_LICENCE, exact=True).check()
    page.get_by_label(ACK_DATA, exact=True).check()
    page.get_by_role("button", name=t("削除"), exact=True).click()

    expect(heading(page, t("機器一覧"))).to_be_visible()
    expect(messages(page)).to_contain_text(t("%(count)s台の機器を削除しました。", count=2))
    expect(count(page)).to_have_text(count_text(2, 2))
    for device in kept:
        expect(device_row(page, device.name)).to_be_visible()
    assert not any(live_portal.device_exists(device.id) for device in chosen)
    shot(page, "after")


def test_withdraw_a_contract_with_many_devices_in_a_few_steps(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    shot: Shot,
) -> None:
    """Blocked 退会手続き: 「まとめて削除」 selects every device; one confirmation; 退会最終確認."""
    account = demo_contract(devices=55)
    login(page, account.email, account.password)
    open_device_list(page)
    manage_menu(page).get_by_role("link", name=t("契約者情報設定"), exact=True).click()
    main(page).get_by_role("link", name=t("退会手続き"), exact=True).click()
    expect(heading(page, t("退会手続き"))).to_be_visible()
    expect(main(page)).to_contain_text(t("残っている機器: %(count)s台", count=55))
    shot(page, "withdraw-blocked")

    main(page).get_by_role(
        "link", name=t("残っている%(count)s台の機器をまとめて削除", count=55), exact=True
    ).click()
    expect(main(page)).to_contain_text(t("選択した%(count)s台の機器情報を削除します。", count=55))
    expect(main(page)).to_contain_text(t("ほか %(count)s台", count=5))
    shot(page, "confirm-all")
    page.get_by_label(ACK_LICENCE, exact=True).check()
    page.get_by_label(ACK_DATA, exact=True).check()
    page.get_by_role("button", name=t("削除"), exact=True).click()

    expect(heading(page, t("退会最終確認"))).to_be_visible()
    expect(messages(page)).to_contain_text(t("%(count)s台の機器を削除しました。", count=55))
    assert not any(live_portal.device_exists(device.id) for device in account.devices)
    shot(page, "withdraw-confirm")

    open_device_list(page)
    expect(count(page)).to_have_text(count_text(0, 0))


def test_select_every_device_matching_a_search(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    shot: Shot,
) -> None:
    """A search, 「全 N 台を選択」, 「選択した機器を削除」: exactly the matching devices go."""
    account = demo_contract(devices=3)
    target = account.devices[1]
    fragment = target.name.split()[-1]
    login(page, account.email, account.password)
    open_device_list(page)
    page.get_by_label(t("機器名"), exact=True).fill(fragment)
    page.get_by_role("button", name=t("検索"), exact=True).click()
    expect(count(page)).to_have_text(count_text(1, 3))
    page.get_by_label(t("検索条件に合う全%(count)s台を選択", count=1), exact=True).check()
    main(page).get_by_role("button", name=DELETE_SELECTED, exact=True).click()
    expect(main(page)).to_contain_text(t("選択した%(count)s台の機器情報を削除します。", count=1))
    page.get_by_label(ACK_LICENCE, exact=True).check()
    page.get_by_label(ACK_DATA, exact=True).check()
    page.get_by_role("button", name=t("削除"), exact=True).click()
    expect(messages(page)).to_contain_text(t("%(count)s台の機器を削除しました。", count=1))
    expect(count(page)).to_have_text(count_text(0, 2))
    assert not live_portal.device_exists(target.id)
    assert live_portal.device_exists(account.devices[0].id)
    shot(page, "after-search-delete")
