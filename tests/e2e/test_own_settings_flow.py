"""アカウント設定: a general user changes their own password, e-mail and language.

The general user works in `page`; `second_page` is their other PC, logged out by the
password change. The contractor then finds the wrong password in 操作履歴.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import LANGUAGE, in_language, t
from tests.support.live_portal import SERVICE_NAME
from tests.support.mail import Mailbox
from tests.support.pages import (
    LOGIN_FAILED,
    expect_field_error,
    field,
    heading,
    login,
    logout,
    main,
    menu_bar,
    messages,
    open_manage,
)
from tests.support.screenshots import Shot

CHANGE_CONFIRM_SUBJECT = in_language(  # templates/mail/email_change_confirm.txt, mail/en/
    ja=f"【{SERVICE_NAME}】Eメールアドレス変更の確認",
    en=f"[{SERVICE_NAME}] Confirm your email address change",
)
NEW_PASSWORD = "Sakura-Viewer-2026"
LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}  # the header's language switch


def section(page: Page, name: str) -> Locator:
    """One of the three forms of アカウント設定, by its heading."""
    return main(page).get_by_role("region", name=name, exact=True)


def change(scope: Locator) -> None:
    scope.get_by_role("button", name=t("変更"), exact=True).click()


def open_settings(page: Page) -> None:
    menu_bar(page).get_by_role("link", name=t("アカウント設定"), exact=True).click()
    expect(heading(page, t("アカウント設定"))).to_be_visible()


def test_a_general_user_changes_their_password_email_and_language(
    page: Page,
    second_page: Page,
    demo_contract: Callable[..., DemoContract],
    mailbox: Mailbox,
    shot: Shot,
) -> None:
    account = demo_contract(devices=1)
    local, _, domain = account.email.partition("@")
    viewer = f"{local}+viewer1@{domain}"
    new_email = f"e2e-own-{uuid.uuid4().hex[:12]}@example.com"

    # The user is logged in on two PCs; the header offers アカウント設定.
    login(second_page, viewer, account.password)
    expect(heading(second_page, t("ポータル"))).to_be_visible()
    login(page, viewer, account.password)
    expect(heading(page, t("ポータル"))).to_be_visible()
    open_settings(page)
    expect(main(page)).to_contain_text(viewer)
    shot(page, "settings")

    # A wrong current password is refused next to its field; nothing changes.
    password = section(page, t("パスワード"))
    field(password, t("現在のパスワード")).fill("not-my-password-at-all")
    field(password, t("新しいパスワード")).fill(NEW_PASSWORD)
    field(password, t("新しいパスワード (確認)")).fill(NEW_PASSWORD)
    change(password)
    password = section(page, t("パスワード"))
    expect_field_error(password, t("現在のパスワード"), t("現在のパスワードが正しくありません。"))
    shot(page, "wrong-current-password")

    # The right one: changed, and the other PC is logged out.
    field(password, t("現在のパスワード")).fill(account.password)
    field(password, t("新しいパスワード")).fill(NEW_PASSWORD)
    field(password, t("新しいパスワード (確認)")).fill(NEW_PASSWORD)
    change(password)
    expect(messages(page)).to_contain_text(
        t("パスワードを変更しました。ほかの端末のログインは終了しました。")
    )
    expect(heading(page, t("アカウント設定"))).to_be_visible()
    shot(page, "password-changed")
    second_page.reload()
    expect(heading(second_page, t("ユーザーポータルログイン"))).to_be_visible()

    # A new e-mail address: a mail to it, whose link confirms the change once.
    email = section(page, t("Eメールアドレス"))
    field(email, t("新しいEメールアドレス")).fill(account.email)
    change(email)
    email = section(page, t("Eメールアドレス"))
    expect_field_error(
        email, t("新しいEメールアドレス"), t("このEメールアドレスは既に使われています。")
    )
    field(email, t("新しいEメールアドレス")).fill(new_email)
    change(email)
    expect(messages(page)).to_contain_text(new_email)
    mail = mailbox.wait_for(new_email, CHANGE_CONFIRM_SUBJECT)
    link = mail.link()
    page.goto(link)
    page.get_by_role("button", name=t("変更を確定する"), exact=True).click()
    expect(messages(page)).to_contain_text(
        t("Eメールアドレスを変更しました。ログインには新しいアドレスをお使いください。")
    )
    assert page.goto(link).status == 410
    page.goto("/")
    open_settings(page)
    expect(main(page)).to_contain_text(new_email)

    # The language: the other one, then back; the screen speaks it at once.
    other, other_label = ("en", "English") if LANGUAGE == "ja" else ("ja", "日本語")
    language = section(page, t("表示言語"))
    language.get_by_role("radio", name=other_label, exact=True).check()
    change(language)
    expect(page.locator("html")).to_have_attribute("lang", other)
    shot(page, "language-changed")
    page.locator("form.language-switch").get_by_role(
        "button", name=LANGUAGE_NAMES[LANGUAGE]
    ).click()
    expect(page.locator("html")).to_have_attribute("lang", LANGUAGE)

    # Logged out: the old address and the old password no longer work, the new ones do.
    # (The old address is nobody's now: its failure is in no contract's history. The old
    # password on the new address is a failed login of this account.)
    logout(page)
    login(page, viewer, NEW_PASSWORD)
    expect(page.get_by_text(LOGIN_FAILED)).to_be_visible()
    login(page, new_email, account.password)
    expect(page.get_by_text(LOGIN_FAILED)).to_be_visible()
    login(page, new_email, NEW_PASSWORD)
    expect(heading(page, t("ポータル"))).to_be_visible()
    logout(page)

    # The contractor sees the failed login (and the changes) in 操作履歴, by kind.
    login(page, account.email, account.password)
    open_manage(page, t("操作履歴"))
    filter_form = page.get_by_role("group", name=t("絞り込み"))
    filter_form.get_by_label(t("操作の種類"), exact=True).select_option(label=t("ログインの失敗"))
    filter_form.get_by_role("button", name=t("表示"), exact=True).click()
    rows = main(page).get_by_role("row").filter(has_text=t("ログインの失敗"))
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(new_email)
    expect(rows).to_contain_text(
        re.compile(re.escape(t("ブラウザ: %(browser)s", browser="")) + r"\S")
    )
    expect(page).to_have_url(re.compile(r"action=login\.failed"))
    shot(page, "history-failed-logins")
