"""The contractor's own account: password reset by mail, and 契約者情報設定 (details, e-mail).

Mails go over SMTP to the local server of `mail_server`; the tests read them there and open
their links in the browser, as the contractor would from their mail reader.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import in_language, t
from tests.support.live_portal import SERVICE_NAME
from tests.support.mail import Mailbox
from tests.support.pages import (
    LOGIN_FAILED,
    detail_value,
    expect_field_error,
    expect_field_fine,
    field,
    heading,
    login,
    logout,
    main,
    manage_menu,
    menu_bar,
    messages,
    open_detail,
    open_manage,
    region,
    sub_value,
)
from tests.support.screenshots import Shot

# Mails come from templates/mail/ (Japanese) and templates/mail/en/, not from the catalog.
RESET_SUBJECT = in_language(
    ja=f"【{SERVICE_NAME}】パスワード再設定のご案内",
    en=f"[{SERVICE_NAME}] Resetting your password",
)
RESET_LINK_ONCE = in_language(
    ja="このリンクは30分間、1回だけ使えます。",
    en="This link is valid for 30 minutes and can be used only once.",
)
CHANGE_CONFIRM_SUBJECT = in_language(
    ja=f"【{SERVICE_NAME}】Eメールアドレス変更の確認",
    en=f"[{SERVICE_NAME}] Confirm your email address change",
)
CHANGE_NOTICE_SUBJECT = in_language(
    ja=f"【{SERVICE_NAME}】Eメールアドレス変更のお申し込みがありました",
    en=f"[{SERVICE_NAME}] Request to change your email address",
)
NEW_ADDRESS_LINE = in_language(ja="新しいアドレス: %(email)s", en="New address: %(email)s")

RESET_DONE = t("パスワードを再設定しました。新しいパスワードでログインしてください。")
MISMATCH = t("パスワードが一致しません。")
SET_PASSWORD = t("パスワードを設定する")  # the button of the new-password form
LINK_UNUSABLE = t("このリンクは使えません")
FORM_REFUSED = t(
    "入力内容に誤りがあります。各項目のメッセージをご確認ください。変更はまだ行われていません。"
)
FURIGANA_REFUSED = t("フリガナはカタカナで入力してください。")
NO_PHONE = t("電話番号は勤務先・携帯電話・自宅のいずれか1つ以上を入力してください。")
EMAIL_CHANGED = t("Eメールアドレスを変更しました。ログインには新しいアドレスをお使いください。")
ACCOUNT_CHANGED = t("契約者情報を変更しました。")


def open_account(page: Page) -> None:
    """From the portal: 「設定」 → 「契約者情報設定」, which shows 契約者情報確認."""
    open_manage(page, t("契約者情報設定"), t("契約者情報確認"))


def open_account_edit(page: Page) -> None:
    """契約者情報確認 → 「変更画面へ」."""
    main(page).get_by_role("link", name=t("変更画面へ"), exact=True).click()
    expect(heading(page, t("契約者情報の変更"))).to_be_visible()


def submit_change(page: Page) -> None:
    main(page).get_by_role("button", name=t("変更"), exact=True).click()


def phone_line(label: str, number: str) -> re.Pattern[str]:
    """One line of 電話番号 in 契約者情報確認: its sub-label, then the number (or 「-」)."""
    return re.compile(rf"{re.escape(t(label))}\s+{re.escape(number)}$")


# --- Password reset --------------------------------------------------------------------------


def test_password_reset_through_the_mailed_link(
    page: Page,
    second_page: Page,
    demo_contract: Callable[..., DemoContract],
    mailbox: Mailbox,
    base_url: str,
    shot: Shot,
) -> None:
    """パスワードを忘れた方はこちら → mail → link → new password twice → log in with it."""
    account = demo_contract(devices=1)
    stranger = f"e2e-nobody-{uuid.uuid4().hex[:12]}@example.com"
    new_password = "Hinoki-Reset-2026!"

    # Logged in on another PC (with the password that is about to be replaced).
    login(second_page, account.email, account.password)
    expect(heading(second_page, t("ポータル"))).to_be_visible()

    # The login site's link opens the e-mail entry.
    page.goto("/login")
    expect(heading(page, t("ユーザーポータルログイン"))).to_be_visible()
    shot(page, "login")
    page.get_by_role("link", name=t("パスワードを忘れた方はこちら"), exact=True).click()
    expect(heading(page, t("パスワードの再設定"))).to_be_visible()
    expect(page).to_have_url(f"{base_url}/password/forgot")
    shot(page, "forgot-form")

    # An address nobody has gets the same answer, and no mail.
    field(page, t("Eメールアドレス")).fill(stranger)
    page.get_by_role("button", name=t("送信"), exact=True).click()
    expect(heading(page, t("メールを確認してください"))).to_be_visible()
    answer_for_stranger = main(page).inner_text()
    # The mail would be sent during the request: the answer is shown after it.
    assert mailbox.to(stranger) == []
    shot(page, "forgot-sent-unknown")

    # The contractor's address.
    page.goto("/password/forgot")
    field(page, t("Eメールアドレス")).fill(account.email)
    shot(page, "forgot-filled")
    page.get_by_role("button", name=t("送信"), exact=True).click()
    expect(heading(page, t("メールを確認してください"))).to_be_visible()
    expect(main(page)).to_contain_text(
        t(
            "入力されたEメールアドレスが登録されている場合は、パスワード再設定用のリンクを"
            "お送りしました。リンクの有効期限は30分です。"
        )
    )
    assert main(page).inner_text() == answer_for_stranger
    shot(page, "forgot-sent")

    # The mail: one link, to this portal, valid 30 minutes, once.
    mail = mailbox.wait_for(account.email, RESET_SUBJECT)
    assert mail.subject == RESET_SUBJECT
    assert RESET_LINK_ONCE in mail.body
    link = mail.link()
    assert re.fullmatch(rf"{re.escape(base_url)}/password/reset/[\w-]{{20,}}", link), link

    # The link: 新しいパスワード twice; a mismatch is refused beside the confirmation.
    page.goto(link)
    expect(heading(page, t("新しいパスワードの設定"))).to_be_visible()
    shot(page, "reset-form")
    field(page, t("新しいパスワード")).fill(new_password)
    field(page, t("新しいパスワード (確認)")).fill(new_password + "x")
    page.get_by_role("button", name=SET_PASSWORD, exact=True).click()
    expect_field_error(page, t("新しいパスワード (確認)"), MISMATCH)
    expect_field_fine(page, t("新しいパスワード"))
    expect(heading(page, t("新しいパスワードの設定"))).to_be_visible()
    shot(page, "reset-mismatch")

    field(page, t("新しいパスワード")).fill(new_password)
    field(page, t("新しいパスワード (確認)")).fill(new_password)
    page.get_by_role("button", name=SET_PASSWORD, exact=True).click()
    expect(heading(page, t("ユーザーポータルログイン"))).to_be_visible()
    expect(page).to_have_url(f"{base_url}/login")
    expect(messages(page)).to_contain_text(RESET_DONE)
    shot(page, "reset-done")

    # The other PC's login has ended with the old password.
    second_page.reload()
    expect(heading(second_page, t("ユーザーポータルログイン"))).to_be_visible()
    expect(menu_bar(second_page)).to_have_count(0)

    # The same link a second time.
    response = page.goto(link)
    assert response is not None
    assert response.status == 410
    expect(heading(page, LINK_UNUSABLE)).to_be_visible()
    expect(field(page, t("新しいパスワード"))).to_have_count(0)
    shot(page, "link-used-again")

    # The old password no longer works; the new one does.
    login(page, account.email, account.password)
    expect(page.get_by_text(LOGIN_FAILED)).to_be_visible()
    expect(page).to_have_url(f"{base_url}/login")
    shot(page, "old-password-refused")
    login(page, account.email, new_password)
    expect(page).to_have_url(f"{base_url}/")
    expect(heading(page, t("ポータル"))).to_be_visible()
    expect(menu_bar(page).get_by_role("link", name=t("設定"), exact=True)).to_be_visible()
    shot(page, "portal-with-new-password")


# --- 契約者情報設定 ---------------------------------------------------------------------------


def test_contractor_details_are_checked_and_normalised(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    base_url: str,
    shot: Shot,
) -> None:
    """変更画面へ: フリガナ in kanji, no phone: refused; hiragana, 〒 with a hyphen: kept."""
    account = demo_contract(devices=1)
    login(page, account.email, account.password)
    open_account(page)
    company_before = detail_value(page, t("法人名・屋号")).inner_text()
    shot(page, "account")

    open_account_edit(page)
    expect(page).to_have_url(f"{base_url}/account/edit")
    expect(field(page, t("Eメールアドレス"))).to_have_value(account.email)
    expect(field(page, t("現在のパスワード"))).to_have_value("")
    shot(page, "edit-form")

    # Refused: フリガナ in kanji, and no phone number at all. Each message beside its field.
    field(page, t("お名前")).fill("山田 花子")
    field(page, t("フリガナ")).fill("山田 花子")
    field(page, t("郵便番号")).fill("150-0002")
    field(page, t("勤務先")).fill("")
    field(page, t("携帯電話")).fill("")
    field(page, t("自宅")).fill("")
    submit_change(page)
    expect_field_error(page, t("フリガナ"), FURIGANA_REFUSED)
    expect_field_error(page, t("勤務先"), NO_PHONE)
    expect_field_fine(page, t("郵便番号"))
    expect_field_fine(page, t("お名前"))
    expect(page.get_by_role("alert")).to_have_text(FORM_REFUSED)
    expect(heading(page, t("契約者情報の変更"))).to_be_visible()
    expect(field(page, t("フリガナ"))).to_have_value("山田 花子")
    # The postal code passed its check: it comes back as it is stored, seven digits.
    expect(field(page, t("郵便番号"))).to_have_value(re.compile(r"^150-?0002$"))
    shot(page, "edit-refused")

    # Corrected: フリガナ typed in hiragana, a mobile phone.
    field(page, t("フリガナ")).fill("やまだ はなこ")
    field(page, t("携帯電話")).fill("080-1234-5678")
    shot(page, "edit-corrected")
    submit_change(page)

    expect(heading(page, t("契約者情報確認"))).to_be_visible()
    expect(page).to_have_url(f"{base_url}/account")
    expect(messages(page)).to_contain_text(ACCOUNT_CHANGED)
    expect(detail_value(page, t("フリガナ"))).to_have_text("ヤマダ ハナコ")
    expect(detail_value(page, t("郵便番号"))).to_have_text("〒150-0002")
    expect(detail_value(page, t("お名前"))).to_have_text("山田 花子")
    expect(detail_value(page, t("法人名・屋号"))).to_have_text(company_before)
    expect(sub_value(page, t("勤務先"))).to_have_text(phone_line("勤務先", "-"))
    expect(sub_value(page, t("携帯電話"))).to_have_text(phone_line("携帯電話", "080-1234-5678"))
    expect(sub_value(page, t("自宅"))).to_have_text(phone_line("自宅", "-"))
    expect(detail_value(page, t("Eメールアドレス"))).to_have_text(account.email)
    shot(page, "account-changed")

    # The edit screen shows what was saved.
    open_account_edit(page)
    expect(field(page, t("フリガナ"))).to_have_value("ヤマダ ハナコ")
    expect(field(page, t("郵便番号"))).to_have_value("150-0002")
    expect(field(page, t("携帯電話"))).to_have_value("080-1234-5678")
    shot(page, "edit-form-after-change")


def test_history_lists_the_change_of_contractor_details(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    shot: Shot,
) -> None:
    """操作履歴 lists 契約者情報の変更 with the fields that changed, and tells the contractor's
    お名前 from a device's 機器名."""
    account = demo_contract(devices=1)
    device = account.devices[0]
    login(page, account.email, account.password)
    open_manage(page, t("機器管理"), t("機器一覧"))
    open_detail(page, device.name)
    main(page).get_by_role("link", name=t("変更画面へ"), exact=True).click()
    expect(heading(page, t("機器情報の変更"))).to_be_visible()
    field(page, t("機器名")).fill(f"{device.name} 2")
    submit_change(page)
    expect(messages(page)).to_contain_text(t("機器情報を変更しました。"))

    open_account(page)
    open_account_edit(page)
    field(page, t("お名前")).fill("山田 花子")
    field(page, t("フリガナ")).fill("やまだ はなこ")
    submit_change(page)
    expect(messages(page)).to_contain_text(ACCOUNT_CHANGED)

    manage_menu(page).get_by_role("link", name=t("操作履歴"), exact=True).click()
    expect(heading(page, t("操作履歴"))).to_be_visible()
    rows = region(page, t("操作の一覧")).get_by_role("row")
    change = rows.filter(has=page.get_by_role("cell", name=t("契約者情報の変更"), exact=True))
    expect(change).to_have_count(1)
    # 「変更: 」 and the labels of the fields that changed (「、」 between several).
    expect(change).to_contain_text(t("変更: ") + t("お名前") + t("、") + t("フリガナ"))
    rename = rows.filter(has=page.get_by_role("cell", name=t("機器情報の変更"), exact=True))
    expect(rename).to_have_count(1)
    expect(rename.get_by_role("cell", name=t("変更: ") + t("機器名"), exact=True)).to_be_visible()
    shot(page, "history")


def test_a_form_from_before_a_new_login_is_refused_and_says_why(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    shot: Shot,
) -> None:
    """A form left open while another tab logged out and in again: its token has expired,
    the change is refused (400) with the expired screen's message, and nothing changes."""
    account = demo_contract(devices=1)
    login(page, account.email, account.password)
    open_account(page)
    furigana_before = detail_value(page, t("フリガナ")).inner_text()
    open_account_edit(page)

    other_tab = page.context.new_page()
    other_tab.goto("/")
    logout(other_tab)
    login(other_tab, account.email, account.password)
    expect(heading(other_tab, t("ポータル"))).to_be_visible()
    other_tab.close()

    field(page, t("フリガナ")).fill("やまだ はなこ")
    with page.expect_response(lambda response: response.url.endswith("/account/edit")) as sent:
        submit_change(page)
    assert sent.value.status == 400
    expect(page.get_by_text(t("画面の有効期限が切れました。"))).to_be_visible()
    shot(page, "form-expired")

    open_account(page)
    expect(detail_value(page, t("フリガナ"))).to_have_text(furigana_before)


def test_contractor_changes_the_login_email_by_mail(
    page: Page,
    second_page: Page,
    demo_contract: Callable[..., DemoContract],
    mailbox: Mailbox,
    base_url: str,
    shot: Shot,
) -> None:
    """A new e-mail: confirmation at the new address, notice at the old; 変更を確定する; log in."""
    account = demo_contract(devices=1)
    new_email = f"e2e-moved-{uuid.uuid4().hex[:12]}@example.com"
    login(page, account.email, account.password)
    open_account(page)
    open_account_edit(page)
    field(page, t("Eメールアドレス")).fill(new_email)
    shot(page, "edit-email")
    submit_change(page)

    # Nothing changes until the link is opened.
    expect(heading(page, t("契約者情報確認"))).to_be_visible()
    expect(messages(page)).to_contain_text(
        t(
            "%(email)s に確認メールを送信しました。"
            "メールのリンクを開くと、Eメールアドレスの変更が完了します。",
            email=new_email,
        )
    )
    expect(detail_value(page, t("Eメールアドレス"))).to_have_text(account.email)
    shot(page, "account-email-pending")

    confirm = mailbox.wait_for(new_email, CHANGE_CONFIRM_SUBJECT)
    assert account.email in confirm.body  # "log in with the old address until then"
    notice = mailbox.wait_for(account.email, CHANGE_NOTICE_SUBJECT)
    assert NEW_ADDRESS_LINE % {"email": new_email} in notice.body
    assert re.search(r"https?://", notice.body) is None, "the notice to the old address has no link"
    link = confirm.link()
    assert link.startswith(f"{base_url}/account/email/"), link

    # Until then, the new address does not log in (tried from another browser).
    login(second_page, new_email, account.password)
    expect(second_page.get_by_text(LOGIN_FAILED)).to_be_visible()

    # The link: a confirmation page; opening it changes nothing by itself.
    page.goto(link)
    expect(heading(page, t("Eメールアドレスの変更"))).to_be_visible()
    # 「ログイン用のEメールアドレスを <new address> に変更します。」, built from three pieces.
    expect(main(page)).to_contain_text(
        re.compile(
            rf"{re.escape(t('ログイン用のEメールアドレスを'))}\s*{re.escape(new_email)}"
            rf"\s*{re.escape(t('に変更します。'))}"
        )
    )
    confirm_button = page.get_by_role("button", name=t("変更を確定する"), exact=True)
    expect(confirm_button).to_be_visible()
    shot(page, "email-confirm")
    confirm_button.click()
    expect(messages(page)).to_contain_text(EMAIL_CHANGED)
    # Still logged in in this browser: the login site sends the contractor on to the portal.
    expect(heading(page, t("ポータル"))).to_be_visible()
    shot(page, "email-confirmed")

    # The link is used up.
    response = page.goto(link)
    assert response is not None
    assert response.status == 410
    expect(heading(page, LINK_UNUSABLE)).to_be_visible()
    expect(page.get_by_role("button", name=t("変更を確定する"), exact=True)).to_have_count(0)
    shot(page, "email-link-used-again")

    # Log out, then: the old address is refused, the new one logs in.
    page.goto("/")
    logout(page)
    login(page, account.email, account.password)
    expect(page.get_by_text(LOGIN_FAILED)).to_be_visible()
    shot(page, "old-email-refused")
    login(page, new_email, account.password)
    expect(page).to_have_url(f"{base_url}/")
    expect(heading(page, t("ポータル"))).to_be_visible()
    open_account(page)
    expect(detail_value(page, t("Eメールアドレス"))).to_have_text(new_email)
    shot(page, "account-new-email")
