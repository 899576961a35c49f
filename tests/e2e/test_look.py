"""The look of the portal: 1024 to 1920 px wide, a list of many devices, printouts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import watched_context
from tests.support.demo_contracts import DemoContract
from tests.support.language import BROWSER_LOCALE, t
from tests.support.pages import (
    heading,
    login,
    main,
    manage_menu,
    menu_bar,
    open_detail,
    open_device_list,
)
from tests.support.screenshots import Shot

WIDTHS = (1024, 1366, 1920)


@pytest.fixture
def desk(browser: Browser, base_url: str) -> Iterator[Page]:
    """A PC's browser with JavaScript, whose window size the test sets."""
    with watched_context(browser, base_url=base_url, locale=BROWSER_LOCALE) as context:
        yield context.new_page()


def fits_its_window(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_every_width_from_1024_to_1920_fits(
    desk: Page, demo_contract: Callable[..., DemoContract], shot: Shot
) -> None:
    """No screen scrolls sideways at 1024, 1366 or 1920 px; the list's header stays in view."""
    account = demo_contract(devices=60)
    page = desk
    login(page, account.email, account.password)
    expect(heading(page, t("ポータル"))).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.goto("/")
        assert fits_its_window(page), f"the portal is wider than {width} px"
        shot(page, f"portal-{width}")
        open_device_list(page)
        shot(page, f"device-list-{width}")
        assert fits_its_window(page), f"機器一覧 is wider than {width} px"
        open_detail(page, account.devices[0].name)
        assert fits_its_window(page), f"機器情報 is wider than {width} px"
        shot(page, f"device-detail-{width}")

    # Far down a long list, the column headings are still at the top of the window.
    page.set_viewport_size({"width": 1366, "height": 700})
    open_device_list(page)
    page.get_by_role("row").last.scroll_into_view_if_needed()
    column = main(page).get_by_role("columnheader", name=t("機器名"), exact=True)
    box = column.bounding_box()
    assert box is not None and 0 <= box["y"] < 700 - box["height"], box
    shot(page, "device-list-scrolled")


def test_printouts_show_the_information_only(
    desk: Page, demo_contract: Callable[..., DemoContract], shot: Shot
) -> None:
    """機器情報 and 契約者情報 print without the menus, buttons and messages around them."""
    account = demo_contract(devices=1)
    page = desk
    login(page, account.email, account.password)
    open_device_list(page)
    open_detail(page, account.devices[0].name)
    page.emulate_media(media="print")
    expect(menu_bar(page)).to_be_hidden()
    expect(manage_menu(page)).to_be_hidden()
    expect(main(page).get_by_role("link", name=t("変更画面へ"), exact=True)).to_be_hidden()
    expect(main(page).get_by_role("button", name=t("機器設定"), exact=True)).to_be_hidden()
    expect(heading(page, t("機器情報"))).to_be_visible()
    expect(main(page).get_by_role("rowheader", name=t("MACアドレス"), exact=True)).to_be_visible()
    shot(page, "device-detail-print")

    page.emulate_media(media="screen")
    manage_menu(page).get_by_role("link", name=t("契約者情報設定"), exact=True).click()
    expect(heading(page, t("契約者情報確認"))).to_be_visible()
    page.emulate_media(media="print")
    expect(manage_menu(page)).to_be_hidden()
    expect(main(page).get_by_role("link", name=t("退会手続き"), exact=True)).to_be_hidden()
    expect(main(page).get_by_role("rowheader", name=t("お名前"), exact=True)).to_be_visible()
    shot(page, "account-print")
