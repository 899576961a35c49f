"""The manual's steps as a contractor performs them, found by the screens' Japanese labels."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Locator, Page, expect

# The acknowledgements of the manual, word for word (each is a checkbox's label).
ACK_LICENCE = "ライセンスの有効期限が残っている場合でもライセンスキーを再利用することができません。"
ACK_DATA = (
    "機器の設定や通知情報、録画データ等が削除されます。"
    "再度、機器登録を行った場合でもデータは引き継ぐことはできません。"
)
ACK_IRREVERSIBLE = "退会処理を実行後、削除されたデータを元に戻すことはできません。"
ACK_NEW_CONTRACT = (
    "再度「みえますねっと」をご利用いただく場合は新規のご契約となります。"
    "各種情報は引き継がれませんのでご注意ください。"
)
Shot = Callable[[Page, str], Path]

LOGIN_FAILED = "Eメールアドレスまたはパスワードが正しくありません。"


def heading(page: Page, name: str) -> Locator:
    """Return the screen's title (its h1)."""
    return page.get_by_role("heading", level=1, name=name, exact=True)


def login(page: Page, email: str, password: str, shot: Shot | None = None) -> None:
    """STEP1-2: open the login site, enter the e-mail and password, press 「ログイン」."""
    page.goto("/login")
    expect(heading(page, "ユーザーポータルログイン")).to_be_visible()
    page.get_by_label("Eメールアドレス", exact=True).fill(email)
    page.get_by_label("パスワード", exact=True).fill(password)
    if shot:
        shot(page, "login")
    page.get_by_role("button", name="ログイン", exact=True).click()


def menu_bar(page: Page) -> Locator:
    return page.get_by_role("navigation", name="メニューバー")


def manage_menu(page: Page) -> Locator:
    return page.get_by_role("navigation", name="管理メニュー")


def open_device_list(page: Page) -> None:
    """STEP3: press 「設定」 in the menu bar, which opens 機器一覧."""
    menu_bar(page).get_by_role("link", name="設定", exact=True).click()
    expect(heading(page, "機器一覧")).to_be_visible()


def device_rows(page: Page) -> Locator:
    """Return the rows of 機器一覧's table that show a device (each has a 「詳細」)."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name="詳細", exact=True))


def device_row(page: Page, name: str) -> Locator:
    return device_rows(page).filter(has=page.get_by_role("cell", name=name, exact=True))


def open_detail(page: Page, name: str) -> None:
    """STEP4: press the 「詳細」 of the device's row."""
    device_row(page, name).get_by_role("link", name="詳細", exact=True).click()
    expect(heading(page, "機器情報")).to_be_visible()


def tab(page: Page, label: str) -> Locator:
    """Return a tab of 機器情報 (「機器情報」「ライセンス情報」「サービス設定」)."""
    return page.get_by_role("navigation", name="機器情報の表示切替").get_by_role(
        "link", name=label, exact=True
    )


def detail_value(page: Page, label: str) -> Locator:
    """Return the cell beside a row heading of a details table (機器名, ドメイン名 …)."""
    return (
        page.get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=label, exact=True))
        .get_by_role("cell")
    )


def count(page: Page) -> Locator:
    """Return 「表示件数: N / M」."""
    return page.get_by_text("表示件数:")


def messages(page: Page) -> Locator:
    """Return the message area (flashed messages such as 「…を削除しました。」)."""
    return page.get_by_role("status")


def main(page: Page) -> Locator:
    """Return the screen's main area (the manage menu has a 「戻る」 of its own)."""
    return page.get_by_role("main")


def query_of(url: str) -> dict[str, list[str]]:
    """Return the query arguments of *url*."""
    return parse_qs(urlsplit(url).query)


def field(scope: Page | Locator, label: str) -> Locator:
    """Return the form control whose label is exactly *label*."""
    return scope.get_by_label(label, exact=True)


def expect_field_error(page: Page | Locator, label: str, message: str) -> None:
    """The message is shown, and tied to the field it is about (aria-describedby)."""
    control = field(page, label)
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(control).to_have_accessible_description(re.compile(re.escape(message)))
    expect(page.get_by_text(message, exact=False)).to_be_visible()


def expect_field_fine(page: Page | Locator, label: str) -> None:
    expect(field(page, label)).not_to_have_attribute("aria-invalid", "true")


def sub_value(page: Page, label: str) -> Locator:
    """Return the cells of a details table that start with a sub-label.

    (ユーザー ID and パスワード of 機器情報, 勤務先 … of 電話番号, 録画停止 … of 通知メール.)
    """
    return page.get_by_role("cell").filter(has_text=re.compile(rf"^\s*{label}\s"))


def region(page: Page, name: str) -> Locator:
    """Return a section of a screen by its heading (「閲覧できる機器」 …)."""
    return page.get_by_role("region", name=name, exact=True)


def open_manage(page: Page, item: str, title: str | None = None) -> None:
    """From the portal: 「設定」, then *item* of the management menu, whose screen is *title*."""
    open_device_list(page)
    if item != "機器管理":
        manage_menu(page).get_by_role("link", name=item, exact=True).click()
    expect(heading(page, title or item)).to_be_visible()


def logout(page: Page) -> None:
    """「ログアウト」 in the menu bar: back on the login site."""
    menu_bar(page).get_by_role("button", name="ログアウト", exact=True).click()
    expect(heading(page, "ユーザーポータルログイン")).to_be_visible()
