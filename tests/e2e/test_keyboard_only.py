"""Both flows of the manual with the keyboard alone: Tab to move, Space to tick, Enter to go.

Text is typed into the fields; nothing is clicked. Where htmx swaps a screen in, the focus
lands on it: its heading, or its first error.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import t
from tests.support.live_portal import LivePortal
from tests.support.pages import (
    ACK_DATA,
    ACK_IRREVERSIBLE,
    ACK_LICENCE,
    ACK_NEW_CONTRACT,
    device_row,
    heading,
    main,
    manage_menu,
    menu_bar,
    messages,
)
from tests.support.screenshots import Shot

WITHDRAWAL_REFUSED = t("確認事項のすべてにチェックしてください。退会処理は行われていません。")
# More than any of these screens needs: a control that takes longer is out of reach.
MAX_TABS = 60


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until *target* has the focus, as a keyboard user gets there."""
    expect(target).to_be_visible()
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{MAX_TABS} presses of Tab never reached {target}")


def press(page: Page, target: Locator, key: str) -> None:
    tab_to(page, target)
    page.keyboard.press(key)


def type_into(page: Page, target: Locator, text: str) -> None:
    tab_to(page, target)
    page.keyboard.type(text)


def expect_focus_on(target: Locator, js: bool) -> None:
    """After an htmx swap the focus is on *target*; a whole new page starts from its top."""
    if js:
        expect(target).to_be_focused()


def test_delete_a_device_and_withdraw_with_the_keyboard_alone(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    shot: Shot,
    js: bool,
) -> None:
    account = demo_contract(devices=1)
    device = account.devices[0]

    # Log in.
    page.goto("/login")
    type_into(page, page.get_by_label(t("Eメールアドレス"), exact=True), account.email)
    type_into(page, page.get_by_label(t("パスワード"), exact=True), account.password)
    press(page, page.get_by_role("button", name=t("ログイン"), exact=True), "Enter")
    expect(heading(page, t("ポータル"))).to_be_visible()

    # The first flow: 設定 → 機器一覧 → 詳細 → 機器削除, both acknowledgements, 削除.
    press(page, menu_bar(page).get_by_role("link", name=t("設定"), exact=True), "Enter")
    expect(heading(page, t("機器一覧"))).to_be_visible()
    detail = device_row(page, device.name).get_by_role("link", name=t("詳細"), exact=True)
    press(page, detail, "Enter")
    expect(heading(page, t("機器情報"))).to_be_visible()
    press(page, main(page).get_by_role("link", name=t("機器削除 (機器の解約)")), "Enter")
    expect(heading(page, t("機器の削除 (解約)"))).to_be_visible()
    expect_focus_on(heading(page, t("機器の削除 (解約)")), js)
    press(page, page.get_by_label(ACK_LICENCE, exact=True), "Space")
    press(page, page.get_by_label(ACK_DATA, exact=True), "Space")
    expect(page.get_by_label(ACK_LICENCE, exact=True)).to_be_checked()
    expect(page.get_by_label(ACK_DATA, exact=True)).to_be_checked()
    shot(page, "delete-ticked")
    press(page, page.get_by_role("button", name=t("削除"), exact=True), "Enter")
    expect(messages(page)).to_contain_text(t("機器「%(name)s」を削除しました。", name=device.name))
    expect(heading(page, t("機器一覧"))).to_be_visible()

    # The second flow: 契約者情報設定 → 退会手続き, both acknowledgements, 退会.
    press(page, manage_menu(page).get_by_role("link", name=t("契約者情報設定")), "Enter")
    expect(heading(page, t("契約者情報確認"))).to_be_visible()
    press(page, main(page).get_by_role("link", name=t("退会手続き"), exact=True), "Enter")
    expect(heading(page, t("退会最終確認"))).to_be_visible()
    expect_focus_on(heading(page, t("退会最終確認")), js)
    # 「退会」 without the acknowledgements: refused, and the focus is on what to correct.
    press(page, page.get_by_role("button", name=t("退会"), exact=True), "Enter")
    expect(page.get_by_role("alert").filter(has_text=WITHDRAWAL_REFUSED)).to_be_visible()
    expect_focus_on(page.locator("[role=alert], [aria-invalid=true]").first, js)
    press(page, page.get_by_label(ACK_IRREVERSIBLE, exact=True), "Space")
    press(page, page.get_by_label(ACK_NEW_CONTRACT, exact=True), "Space")
    shot(page, "withdraw-ticked")
    press(page, page.get_by_role("button", name=t("退会"), exact=True), "Enter")
    expect(heading(page, t("退会処理完了"))).to_be_visible()
    assert not live_portal.account_exists(account.email)
    shot(page, "withdrawn")
