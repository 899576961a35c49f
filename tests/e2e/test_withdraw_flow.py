"""Withdrawing from the service (退会): the manual's STEP1-7, after deleting every device."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import t
from tests.support.live_portal import SERVICE_NAME, LivePortal
from tests.support.pages import (
    ACK_DATA,
    ACK_IRREVERSIBLE,
    ACK_LICENCE,
    ACK_NEW_CONTRACT,
    LOGIN_FAILED,
    count,
    count_text,
    detail_value,
    expect_field_error,
    field,
    heading,
    login,
    main,
    manage_menu,
    menu_bar,
    messages,
    open_detail,
    open_device_list,
)
from tests.support.screenshots import Shot

BLOCKED = t("登録している機器が残っているため、退会できません。")
REFUSED = t("確認事項のすべてにチェックしてください。退会処理は行われていません。")
NOT_CONFIRMED = t("現在のパスワードを確認できませんでした。退会処理は行われていません。")
CURRENT_PASSWORD = t("現在のパスワード")
ACCOUNT_FIELDS = (
    "Eメールアドレス",
    "パスワード",
    "法人名・屋号",
    "お名前",
    "フリガナ",
    "郵便番号",
    "住所",
    "電話番号",
    "お知らせメール",
)


def open_account(page: Page) -> None:
    """STEP4: 「契約者情報設定」 in the management menu opens 契約者情報確認."""
    manage_menu(page).get_by_role("link", name=t("契約者情報設定"), exact=True).click()
    expect(heading(page, t("契約者情報確認"))).to_be_visible()


def delete_device(page: Page, name: str) -> None:
    """Delete a device from 機器一覧 as the manual's first flow does."""
    open_detail(page, name)
    main(page).get_by_role("link", name=t("機器削除 (機器の解約)"), exact=True).click()
    expect(heading(page, t("機器の削除 (解約)"))).to_be_visible()
    page.get_by_label(ACK_LICENCE, exact=True).check()
    page.get_by_label(ACK_DATA, exact=True).check()
    page.get_by_role("button", name=t("削除"), exact=True).click()
    expect(messages(page)).to_contain_text(t("機器「%(name)s」を削除しました。", name=name))


def test_withdraw_following_the_manual(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    base_url: str,
    shot: Shot,
) -> None:
    """Blocked while a device remains; then 退会 needs both ticks, and ends the account."""
    account = demo_contract(devices=1)
    device = account.devices[0]

    # STEP1-3: log in, 「設定」.
    login(page, account.email, account.password, shot)
    expect(page).to_have_url(f"{base_url}/")
    open_device_list(page)
    expect(count(page)).to_have_text(count_text(1, 1))

    # With a device left, 「退会手続き」 says to delete every device first, with a link to 機器一覧.
    open_account(page)
    shot(page, "account-with-device")
    main(page).get_by_role("link", name=t("退会手続き"), exact=True).click()
    expect(heading(page, t("退会手続き"))).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(BLOCKED)
    expect(page.get_by_role("checkbox")).to_have_count(0)
    expect(page.get_by_role("button", name=t("退会"), exact=True)).to_have_count(0)
    shot(page, "withdraw-blocked")
    main(page).get_by_role("link", name=t("機器一覧へ"), exact=True).click()
    expect(heading(page, t("機器一覧"))).to_be_visible()

    # Delete the device through the UI.
    delete_device(page, device.name)
    expect(count(page)).to_have_text(count_text(0, 0))
    expect(main(page)).to_contain_text(t("登録されている機器はありません。"))
    shot(page, "device-list-empty")

    # STEP4: 「契約者情報設定」 shows 契約者情報確認.
    open_account(page)
    for label in ACCOUNT_FIELDS:
        expect(page.get_by_role("rowheader", name=t(label), exact=True)).to_be_visible()
    expect(detail_value(page, t("Eメールアドレス"))).to_have_text(account.email)
    expect(detail_value(page, t("パスワード"))).to_have_text("********")
    expect(detail_value(page, t("お名前"))).not_to_be_empty()
    shot(page, "account")

    # STEP5: 「退会手続き」 shows 退会最終確認 with both notes.
    main(page).get_by_role("link", name=t("退会手続き"), exact=True).click()
    expect(heading(page, t("退会最終確認"))).to_be_visible()
    expect(main(page)).to_contain_text(t("「%(service)s」から退会します。", service=SERVICE_NAME))
    expect(page.get_by_label(ACK_IRREVERSIBLE, exact=True)).not_to_be_checked()
    expect(page.get_by_label(ACK_NEW_CONTRACT, exact=True)).not_to_be_checked()
    expect(main(page).get_by_role("link", name=t("戻る"), exact=True)).to_be_visible()
    shot(page, "withdraw-confirm")

    # STEP6, first without the acknowledgements: refused, nothing withdrawn.
    page.get_by_role("button", name=t("退会"), exact=True).click()
    expect(page.get_by_role("alert").filter(has_text=REFUSED)).to_be_visible()
    expect(heading(page, t("退会最終確認"))).to_be_visible()
    assert live_portal.account_exists(account.email)
    shot(page, "withdraw-refused")

    # STEP6: both ticked, 「退会」.
    page.get_by_label(ACK_IRREVERSIBLE, exact=True).check()
    page.get_by_label(ACK_NEW_CONTRACT, exact=True).check()
    shot(page, "withdraw-ticked")
    page.get_by_role("button", name=t("退会"), exact=True).click()

    # STEP7: 退会処理完了, the thanks, and a link back to the login site; the session is over.
    expect(heading(page, t("退会処理完了"))).to_be_visible()
    expect(page).to_have_url(f"{base_url}/account/withdrawn")
    expect(main(page)).to_contain_text(t("退会処理が完了しました。"))
    expect(main(page)).to_contain_text(
        t("「%(service)s」をご利用いただき、ありがとうございました。", service=SERVICE_NAME)
    )
    expect(main(page)).to_contain_text(t("またのご利用をお待ちしております。"))
    expect(menu_bar(page)).to_have_count(0)
    assert not live_portal.account_exists(account.email)
    shot(page, "withdrawn")

    page.get_by_role("link", name=t("「%(service)s」へ", service=SERVICE_NAME), exact=True).click()
    expect(heading(page, t("ユーザーポータルログイン"))).to_be_visible()
    expect(page).to_have_url(f"{base_url}/login")

    # The credentials no longer work.
    login(page, account.email, account.password)
    expect(page.get_by_text(LOGIN_FAILED)).to_be_visible()
    expect(page).to_have_url(f"{base_url}/login")
    expect(menu_bar(page)).to_have_count(0)
    shot(page, "login-refused")


def test_withdraw_asks_for_the_password_again(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    monkeypatch: pytest.MonkeyPatch,
    shot: Shot,
) -> None:
    """Long after logging in, 退会 needs the password: without it or wrong, nothing happens."""
    # No test waits 5 minutes: a window of 0 makes every 退会 "long after" the login.
    monkeypatch.setitem(live_portal.app.config, "REAUTH_MINUTES", 0)
    account = demo_contract(devices=0)
    login(page, account.email, account.password)
    open_device_list(page)
    open_account(page)
    main(page).get_by_role("link", name=t("退会手続き"), exact=True).click()
    expect(heading(page, t("退会最終確認"))).to_be_visible()
    expect(field(page, CURRENT_PASSWORD)).to_be_empty()
    shot(page, "withdraw-password-asked")

    # Both ticked, no password: refused next to the field, nothing withdrawn.
    page.get_by_label(ACK_IRREVERSIBLE, exact=True).check()
    page.get_by_label(ACK_NEW_CONTRACT, exact=True).check()
    page.get_by_role("button", name=t("退会"), exact=True).click()
    expect(page.get_by_role("alert").filter(has_text=NOT_CONFIRMED)).to_be_visible()
    expect_field_error(
        page, CURRENT_PASSWORD, t("退会するには、現在のパスワードを入力してください。")
    )
    assert live_portal.account_exists(account.email)
    shot(page, "withdraw-password-missing")

    # A wrong password: refused the same way (and counted, like a failed login).
    expect(page.get_by_label(ACK_IRREVERSIBLE, exact=True)).to_be_checked()
    field(page, CURRENT_PASSWORD).fill("not-the-password-at-all")
    page.get_by_role("button", name=t("退会"), exact=True).click()
    expect_field_error(page, CURRENT_PASSWORD, t("現在のパスワードが正しくありません。"))
    assert live_portal.account_exists(account.email)

    # The right one: 退会処理完了.
    field(page, CURRENT_PASSWORD).fill(account.password)
    page.get_by_role("button", name=t("退会"), exact=True).click()
    expect(heading(page, t("退会処理完了"))).to_be_visible()
    assert not live_portal.account_exists(account.email)
