"""2段階認証: set up an authenticator app, log in with its code, then with recovery codes.

The code the app would show is computed here with pyotp from the key the page shows for
manual entry. A recovery code logs in once; the second time it is refused.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pyotp
from playwright.sync_api import Page, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import in_language, t
from tests.support.live_portal import SERVICE_NAME
from tests.support.mail import Mailbox
from tests.support.pages import (
    expect_field_error,
    field,
    heading,
    login,
    logout,
    main,
    menu_bar,
    region,
)
from tests.support.screenshots import Shot

ENABLED_SUBJECT = in_language(  # templates/mail/two_factor_changed.txt, mail/en/
    ja=f"【{SERVICE_NAME}】2段階認証を設定しました",
    en=f"[{SERVICE_NAME}] Two-step verification turned on",
)
RECOVERY_USED_SUBJECT = in_language(
    ja=f"【{SERVICE_NAME}】リカバリーコードでログインしました",
    en=f"[{SERVICE_NAME}] Logged in with a recovery code",
)


def enter_code(page: Page, code: str) -> None:
    """On 確認コード: type the code and press 「ログイン」."""
    expect(heading(page, t("確認コード"))).to_be_visible()
    field(page, t("確認コード")).fill(code)
    page.get_by_role("button", name=t("ログイン"), exact=True).click()


def test_enrol_totp_then_log_in_with_a_code_and_with_recovery_codes(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    mailbox: Mailbox,
    shot: Shot,
) -> None:
    account = demo_contract(devices=1)
    local, _, domain = account.email.partition("@")
    viewer = f"{local}+viewer1@{domain}"  # a general user of the demo contract
    login(page, viewer, account.password)
    expect(heading(page, t("ポータル"))).to_be_visible()
    menu_bar(page).get_by_role("link", name=t("アカウント設定"), exact=True).click()
    expect(heading(page, t("アカウント設定"))).to_be_visible()

    # 2段階認証 → the QR code and the key for manual entry.
    two_factor = region(page, t("2段階認証"))
    two_factor.get_by_role("button", name=t("2段階認証を設定"), exact=True).click()
    expect(heading(page, t("2段階認証の設定"))).to_be_visible()
    expect(main(page).get_by_role("img", name=t("認証アプリに登録するQRコード"))).to_be_visible()
    secret = main(page).locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    shot(page, "enrol")

    # A code of the wrong length is refused next to the field; then the app's code.
    field(page, t("確認コード")).fill("12345")
    page.get_by_role("button", name=t("確認"), exact=True).click()
    expect_field_error(page, t("確認コード"), t("確認コードは6桁の数字で入力してください。"))
    field(page, t("確認コード")).fill(totp.now())
    page.get_by_role("button", name=t("確認"), exact=True).click()
    expect(heading(page, t("リカバリーコード"))).to_be_visible()
    codes = main(page).get_by_role("list", name=t("リカバリーコード")).locator("code")
    expect(codes).to_have_count(10)
    recovery = codes.first.inner_text()
    assert re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}", recovery)
    shot(page, "recovery-codes")
    mailbox.wait_for(viewer, ENABLED_SUBJECT)
    main(page).get_by_role("link", name=t("アカウント設定へ"), exact=True).click()
    expect(region(page, t("2段階認証"))).to_contain_text(
        t("未使用のリカバリーコード: %(count)s個", count=10)
    )
    logout(page)

    # The password alone no longer opens the portal: the app's next code does.
    login(page, viewer, account.password)
    expect(heading(page, t("確認コード"))).to_be_visible()
    page.goto("/")
    expect(heading(page, t("ユーザーポータルログイン"))).to_be_visible()
    login(page, viewer, account.password)
    enter_code(page, totp.at(time.time() + 30))
    expect(heading(page, t("ポータル"))).to_be_visible()
    logout(page)

    # A recovery code logs in once, and is mailed about.
    login(page, viewer, account.password)
    enter_code(page, recovery)
    expect(heading(page, t("ポータル"))).to_be_visible()
    mailbox.wait_for(viewer, RECOVERY_USED_SUBJECT)
    logout(page)

    # The same recovery code a second time: refused, and still not logged in.
    login(page, viewer, account.password)
    enter_code(page, recovery)
    expect_field_error(page, t("確認コード"), t("確認コードが正しくないか、既に使われています。"))
    shot(page, "recovery-code-refused")
    page.goto("/")
    expect(heading(page, t("ユーザーポータルログイン"))).to_be_visible()
