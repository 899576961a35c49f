"""The manual's steps as a contractor performs them, found by the screens' labels.

Every label is written as the portal's Japanese msgid and passed through t(), which gives
it in the run's language (E2E_LANGUAGE); see tests/support/language.py.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Locator, Page, expect

from tests.support.language import in_language, t
from tests.support.live_portal import SERVICE_NAME
from tests.support.screenshots import Shot

# The acknowledgements of the manual, word for word (each is a checkbox's label).
ACK_LICENCE = t(
    "ライセンスの有効期限が残っている場合でもライセンスキーを再利用することができません。"
)
ACK_DATA = t(
    "機器の設定や通知情報、録画データ等が削除されます。"
    "再度、機器登録を行った場合でもデータは引き継ぐことはできません。"
)
ACK_IRREVERSIBLE = t("退会処理を実行後、削除されたデータを元に戻すことはできません。")
ACK_NEW_CONTRACT = t(
    "再度「%(service)s」をご利用いただく場合は新規のご契約となります。"
    "各種情報は引き継がれませんのでご注意ください。",
    service=SERVICE_NAME,
)

# A date as the portal writes it (webapp/filters.py, date_ja): 2019年7月5日, or 2019-07-05.
DATE = in_language(ja=r"\d{4}年\d{1,2}月\d{1,2}日", en=r"\d{4}-\d{2}-\d{2}")

LOGIN_FAILED = t("Eメールアドレスまたはパスワードが正しくありません。")


def heading(page: Page, name: str) -> Locator:
    """Return the screen's title (its h1); *name* as shown (pass it through t())."""
    return page.get_by_role("heading", level=1, name=name, exact=True)


def login(page: Page, email: str, password: str, shot: Shot | None = None) -> None:
    """STEP1-2: open the login site, enter the e-mail and password, press 「ログイン」."""
    page.goto("/login")
    expect(heading(page, t("ユーザーポータルログイン"))).to_be_visible()
    page.get_by_label(t("Eメールアドレス"), exact=True).fill(email)
    page.get_by_label(t("パスワード"), exact=True).fill(password)
    if shot:
        shot(page, "login")
    page.get_by_role("button", name=t("ログイン"), exact=True).click()


def menu_bar(page: Page) -> Locator:
    return page.get_by_role("navigation", name=t("メニューバー"))


def manage_menu(page: Page) -> Locator:
    return page.get_by_role("navigation", name=t("管理メニュー"))


def open_device_list(page: Page) -> None:
    """STEP3: press 「設定」 in the menu bar, which opens 機器一覧."""
    menu_bar(page).get_by_role("link", name=t("設定"), exact=True).click()
    expect(heading(page, t("機器一覧"))).to_be_visible()


def device_rows(page: Page) -> Locator:
    """Return the rows of 機器一覧's table that show a device (each has a 「詳細」)."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=t("詳細"), exact=True))


def device_row(page: Page, name: str) -> Locator:
    return device_rows(page).filter(has=page.get_by_role("cell", name=name, exact=True))


def open_detail(page: Page, name: str) -> None:
    """STEP4: press the 「詳細」 of the device's row."""
    device_row(page, name).get_by_role("link", name=t("詳細"), exact=True).click()
    expect(heading(page, t("機器情報"))).to_be_visible()


def tab(page: Page, label: str) -> Locator:
    """Return a tab of 機器情報 (「機器情報」「ライセンス情報」「サービス設定」) by its label."""
    return page.get_by_role("navigation", name=t("機器情報の表示切替")).get_by_role(
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
    return page.get_by_text(t("表示件数:"))


def count_text(matching: int | str, total: int) -> str:
    """「表示件数: N / M」 as 機器一覧 shows it (the label, then the numbers; "-" for N when
    the conditions were refused and nothing was searched)."""
    return f"{t('表示件数:')} {matching} / {total}"


def page_position(number: int, pages: int) -> str:
    """「1 / 2 ページ」 as the pager shows it."""
    return f"{number} / {pages} {t('ページ')}"


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
    return page.get_by_role("cell").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s"))


def region(page: Page, name: str) -> Locator:
    """Return a section of a screen by its heading (「閲覧できる機器」 …)."""
    return page.get_by_role("region", name=name, exact=True)


def open_manage(page: Page, item: str, title: str | None = None) -> None:
    """From the portal: 「設定」, then *item* of the management menu, whose screen is *title*.

    *item* and *title* as shown (pass them through t()).
    """
    open_device_list(page)
    if item != t("機器管理"):
        manage_menu(page).get_by_role("link", name=item, exact=True).click()
    expect(heading(page, title or item)).to_be_visible()


def logout(page: Page) -> None:
    """「ログアウト」 in the menu bar: back on the login site."""
    menu_bar(page).get_by_role("button", name=t("ログアウト"), exact=True).click()
    expect(heading(page, t("ユーザーポータルログイン"))).to_be_visible()


def confirm_device_setup(page: Page) -> str:
    """On 機器情報: 「機器設定」, then confirm; return the new 機器認証キー shown once."""
    main(page).get_by_role("button", name=t("機器設定"), exact=True).click()
    expect(heading(page, t("機器設定"))).to_be_visible()
    main(page).get_by_role("button", name=t("新しい機器認証キーを発行"), exact=True).click()
    expect(heading(page, t("機器情報"))).to_be_visible()
    secret_field = page.get_by_role("textbox", name=t("機器認証キー"), exact=True)
    expect(secret_field).to_be_visible()
    return secret_field.input_value()
