"""ユーザー管理: invite a general user by mail, limit what they see, delete them.

The contractor works in `page`; the general user in `second_page`, a browser of their own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import in_language, t
from tests.support.live_portal import SERVICE_NAME, LivePortal
from tests.support.mail import Mailbox
from tests.support.pages import (
    LOGIN_FAILED,
    detail_value,
    field,
    heading,
    login,
    main,
    manage_menu,
    menu_bar,
    messages,
    open_manage,
    region,
)
from tests.support.screenshots import Shot

INVITATION_SUBJECT = in_language(  # templates/mail/invitation.txt, mail/en/invitation.txt
    ja=f"【{SERVICE_NAME}】ユーザー登録のご案内",
    en=f"[{SERVICE_NAME}] Invitation to register as a user",
)
USER_PASSWORD = "Keyaki-Viewer-2026"
SET_PASSWORD = t("パスワードを設定する")  # the button of the new-password form
# 「一般ユーザーはカメラの閲覧だけを行えます。登録数: N / 5」
SEATS = t("一般ユーザーはカメラの閲覧だけを行えます。登録数:")


def user_rows(page: Page) -> Locator:
    """Return the rows of ユーザー管理's table that show a user (each has a 「詳細」)."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=t("詳細"), exact=True))


def user_row(page: Page, email: str) -> Locator:
    return user_rows(page).filter(has=page.get_by_role("cell", name=email, exact=True))


def tile(page: Page, name: str) -> Locator:
    """Return a device's tile title on the portal."""
    return page.get_by_role("heading", level=2, name=name, exact=True)


def open_users(page: Page) -> None:
    manage_menu(page).get_by_role("link", name=t("ユーザー管理"), exact=True).click()
    expect(heading(page, t("ユーザー管理"))).to_be_visible()


def test_invite_limit_and_delete_a_general_user(
    page: Page,
    second_page: Page,
    demo_contract: Callable[..., DemoContract],
    mailbox: Mailbox,
    live_portal: LivePortal,
    base_url: str,
    shot: Shot,
    js: bool,
) -> None:
    """ユーザー登録 → invitation mail → password → the user's portal; 選択した機器のみ; 削除."""
    account = demo_contract(devices=3)
    invitee = f"e2e-viewer-{uuid.uuid4().hex[:12]}@example.com"
    shown, *hidden = account.devices
    user = second_page

    # The contractor: ユーザー管理 lists the demo contract's two general users.
    login(page, account.email, account.password)
    open_manage(page, t("ユーザー管理"))
    expect(user_rows(page)).to_have_count(2)
    expect(main(page)).to_contain_text(f"{SEATS} 2 / 5")
    shot(page, "users")

    # 「ユーザー登録」 with the e-mail: the invitation is sent, the user awaits their password.
    main(page).get_by_role("link", name=t("ユーザー登録"), exact=True).click()
    expect(heading(page, t("ユーザー登録"))).to_be_visible()
    field(page, t("Eメールアドレス")).fill(invitee)
    shot(page, "invite-form")
    main(page).get_by_role("button", name=t("登録"), exact=True).click()
    expect(heading(page, t("ユーザー情報"))).to_be_visible()
    expect(messages(page)).to_contain_text(
        t("%(email)s に招待メールを送信しました。", email=invitee)
    )
    expect(detail_value(page, t("Eメールアドレス"))).to_have_text(invitee)
    expect(detail_value(page, t("状態"))).to_have_text(t("招待中 (パスワード未設定)"))
    shot(page, "invited")

    # The invitation mail, opened in the user's own browser.
    mail = mailbox.wait_for(invitee, INVITATION_SUBJECT)
    link = mail.link()
    assert link.startswith(f"{base_url}/invite/"), link
    user.goto(link)
    expect(heading(user, t("パスワードの設定"))).to_be_visible()
    expect(main(user)).to_contain_text(
        t(
            "%(email)s のパスワードを設定してください。"
            "10文字以上で、推測されにくいものにしてください。",
            email=invitee,
        )
    )
    shot(user, "user-set-password")
    field(user, t("新しいパスワード")).fill(USER_PASSWORD)
    field(user, t("新しいパスワード (確認)")).fill(USER_PASSWORD)
    user.get_by_role("button", name=SET_PASSWORD, exact=True).click()
    expect(heading(user, t("ユーザーポータルログイン"))).to_be_visible()
    expect(messages(user)).to_contain_text(t("パスワードを設定しました。ログインしてください。"))
    shot(user, "user-password-set")

    # The invitation link works once.
    response = user.goto(link)
    assert response is not None
    assert response.status == 410
    expect(heading(user, t("このリンクは使えません"))).to_be_visible()
    shot(user, "user-invitation-used-again")

    # The user logs in: first the terms, then the portal with every device, without 「設定」.
    login(user, invitee, USER_PASSWORD)
    expect(heading(user, t("規約への同意"))).to_be_visible()
    shot(user, "user-terms")
    user.get_by_label(t("規約に同意する"), exact=True).check()
    user.get_by_role("button", name=t("同意する"), exact=True).click()
    expect(heading(user, t("ポータル"))).to_be_visible()
    expect(user).to_have_url(f"{base_url}/")
    expect(user.get_by_text(t("登録機器: %(count)s台", count=3))).to_be_visible()
    for device in account.devices:
        expect(tile(user, device.name)).to_be_visible()
    expect(menu_bar(user).get_by_role("button", name=t("ログアウト"), exact=True)).to_be_visible()
    expect(menu_bar(user).get_by_role("link", name=t("設定"), exact=True)).to_have_count(0)
    shot(user, "user-portal")

    # Management does not exist for a general user.
    response = user.goto("/devices")
    assert response is not None
    assert response.status == 404
    expect(heading(user, t("ページが見つかりません。"))).to_be_visible()
    expect(manage_menu(user)).to_have_count(0)
    shot(user, "user-devices-404")

    # The contractor: the user is 有効 now; 「詳細」 → 「選択した機器のみ」 with one device.
    open_users(page)
    expect(user_row(page, invitee)).to_contain_text(t("有効"))
    shot(page, "users-with-invitee")
    user_row(page, invitee).get_by_role("link", name=t("詳細"), exact=True).click()
    expect(heading(page, t("ユーザー情報"))).to_be_visible()
    expect(detail_value(page, t("状態"))).to_have_text(t("有効"))
    expect(detail_value(page, t("最終ログイン"))).not_to_have_text("-")
    access = region(page, t("閲覧できる機器"))
    expect(access.get_by_role("radio", name=t("すべての機器"), exact=True)).to_be_checked()
    access.get_by_role("radio", name=t("選択した機器のみ"), exact=True).check()
    access.get_by_role("checkbox", name=shown.name, exact=True).check()
    shot(page, "access-selected")
    access.get_by_role("button", name=t("変更"), exact=True).click()
    expect(messages(page)).to_contain_text(t("閲覧できる機器を変更しました。"))
    access = region(page, t("閲覧できる機器"))
    expect(access.get_by_role("radio", name=t("選択した機器のみ"), exact=True)).to_be_checked()
    expect(access.get_by_role("checkbox", name=shown.name, exact=True)).to_be_checked()
    for device in hidden:
        expect(access.get_by_role("checkbox", name=device.name, exact=True)).not_to_be_checked()
    shot(page, "access-saved")

    # The user's portal shows only that device.
    user.goto("/")
    expect(heading(user, t("ポータル"))).to_be_visible()
    expect(user.get_by_text(t("登録機器: %(count)s台", count=1))).to_be_visible()
    expect(tile(user, shown.name)).to_be_visible()
    for device in hidden:
        expect(tile(user, device.name)).to_have_count(0)
    shot(user, "user-portal-one-device")

    # 削除: the confirmation shows the e-mail; 「キャンセル」 changes nothing.
    main(page).get_by_role("link", name=t("削除"), exact=True).click()
    expect(heading(page, t("ユーザーの削除"))).to_be_visible()
    expect(detail_value(page, t("Eメールアドレス"))).to_have_text(invitee)
    shot(page, "delete-confirm")
    main(page).get_by_role("link", name=t("キャンセル"), exact=True).click()
    expect(heading(page, t("ユーザー情報"))).to_be_visible()
    expect(detail_value(page, t("Eメールアドレス"))).to_have_text(invitee)
    assert live_portal.account_exists(invitee)
    user.reload()
    expect(tile(user, shown.name)).to_be_visible()
    shot(page, "delete-cancelled")

    # 「削除」: gone from the list, and from the database. With JavaScript, the button is
    # disabled once the form is on its way, so a second press cannot send it again (what
    # the button went through is kept in sessionStorage, which outlives the page).
    main(page).get_by_role("link", name=t("削除"), exact=True).click()
    expect(heading(page, t("ユーザーの削除"))).to_be_visible()
    delete = main(page).get_by_role("button", name=t("削除"), exact=True)
    if js:
        delete.evaluate(
            """button => new MutationObserver(() => sessionStorage.setItem(
                   "delete-button", button.disabled ? "disabled" : "enabled")
               ).observe(button, {attributes: true})"""
        )
    delete.click()
    expect(heading(page, t("ユーザー管理"))).to_be_visible()
    expect(messages(page)).to_contain_text(t("ユーザー %(email)s を削除しました。", email=invitee))
    expect(user_row(page, invitee)).to_have_count(0)
    expect(user_rows(page)).to_have_count(2)
    expect(main(page)).to_contain_text(f"{SEATS} 2 / 5")
    assert not live_portal.account_exists(invitee)
    if js:
        assert page.evaluate("sessionStorage.getItem('delete-button')") == "disabled"
    shot(page, "deleted")

    # The user's session is over, and the credentials no longer work.
    user.reload()
    expect(heading(user, t("ユーザーポータルログイン"))).to_be_visible()
    expect(user).to_have_url(re.compile(rf"^{re.escape(base_url)}/login(\?|$)"))
    expect(menu_bar(user)).to_have_count(0)
    shot(user, "user-session-over")
    login(user, invitee, USER_PASSWORD)
    expect(user.get_by_text(LOGIN_FAILED)).to_be_visible()
    shot(user, "user-login-refused")
