"""A device's life: 機器登録, 機器設定, 変更画面, 機器の交換, and what 操作履歴 shows of it."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import t, t_pattern
from tests.support.live_portal import LivePortal
from tests.support.pages import (
    ACK_DATA,
    ACK_LICENCE,
    confirm_device_setup,
    count,
    count_text,
    detail_value,
    device_row,
    expect_field_error,
    expect_field_fine,
    field,
    heading,
    login,
    main,
    manage_menu,
    messages,
    open_detail,
    open_device_list,
    query_of,
    sub_value,
    tab,
)
from tests.support.screenshots import Shot
from webapp.dev.fakecamera import ApiError, FakeCamera
from webapp.extensions import db
from webapp.identifiers import normalise_mac
from webapp.models import Device
from webapp.services.licences import format_licence_key, issue_licences, new_licence_key

KEY_UNKNOWN = t("このライセンスキーは登録されていません。入力内容をご確認ください。")
MAC_MALFORMED = t("MACアドレスの形式が正しくありません。(例: 00:80:45:AB:CD:EF)")
# 「✓完了 (設定日時: 2019/07/08 15:24)」: the date-time is written alike in every language.
# Date-times read 2026/11/26 17:44 in Japanese and 2026-11-26 17:44 in English.
SETUP_DONE = t_pattern("✓完了 (設定日時: %(at)s)", at=r"\d{4}[/-]\d{2}[/-]\d{2} \d{2}:\d{2}")
DELETE_LINK = t("機器削除 (機器の解約)")  # on 機器情報


# --- Set-up behind the browser ---------------------------------------------------------------


def issue_key(live_portal: LivePortal, contract_id: int) -> tuple[str, str]:
    """Issue one unused licence key to the contract, as the operator would.

    Return the key as the contractor types it (ABCD-EFGH-…) and as 機器情報 masks it.
    """
    with live_portal.app.app_context():
        (key,) = issue_licences(1, contract_id=contract_id)
        db.session.commit()
    return format_licence_key(key), "****-****-****-****-" + key[-4:]


def free_mac(live_portal: LivePortal) -> tuple[str, str]:
    """Return a MAC that no device has: as typed (00-80-45-ab-cd-99) and as shown (…:AB:CD:99).

    The live portal is shared by every test (and by the js and nojs runs), so each run
    needs hardware of its own.
    """
    while True:
        tail = secrets.token_hex(3)
        typed = "00-80-45-" + "-".join(tail[i : i + 2] for i in range(0, 6, 2))
        stored = normalise_mac(typed)
        assert stored is not None
        with live_portal.app.app_context():
            taken = db.session.query(Device.id).filter(Device.mac == stored).first()
        if taken is None:
            return typed, ":".join(stored[i : i + 2] for i in range(0, 12, 2))


def domain_suffix(live_portal: LivePortal) -> str:
    return str(live_portal.app.config["DEVICE_DOMAIN_SUFFIX"])


def registered(name: str) -> str:
    """The message after 機器登録."""
    return t(
        "機器「%(name)s」を登録しました。表示された機器認証キーを機器に設定してください。",
        name=name,
    )


def domain_malformed(live_portal: LivePortal) -> str:
    return t(
        "ドメイン名は半角英小文字・数字・「-」で入力してください。(例: camera01.%(suffix)s)",
        suffix=domain_suffix(live_portal),
    )


# --- Screens ---------------------------------------------------------------------------------


def group(page: Page, legend: str) -> Locator:
    """Return a fieldset by its legend as shown (「カメラの管理」「カメラの一覧」「新しい機器」)."""
    return page.get_by_role("group", name=legend, exact=True)


def history_rows(page: Page) -> Locator:
    """Return the rows of 操作履歴's table that show an operation."""
    return (
        page.get_by_role("region", name=t("操作の一覧"), exact=True)
        .get_by_role("row")
        .filter(has=page.get_by_role("cell"))
    )


def history_rows_of(page: Page, action: str) -> Locator:
    """Return the rows of one kind of operation (its label in the run's language)."""
    return history_rows(page).filter(has=page.get_by_role("cell", name=action, exact=True))


def open_registration(page: Page) -> None:
    """From 機器一覧, 「機器登録」."""
    main(page).get_by_role("link", name=t("機器登録"), exact=True).click()
    expect(heading(page, t("機器登録"))).to_be_visible()


def fill_registration(
    page: Page, *, key: str, name: str, model: str, mac: str, kind: str = "ネットワークカメラ"
) -> None:
    """Fill in 機器登録; *kind* is the Japanese label of 機器の種類's choice."""
    field(page, t("ライセンスキー")).fill(key)
    field(page, t("機器名")).fill(name)
    page.get_by_role("group", name=t("機器の種類"), exact=True).get_by_label(
        t(kind), exact=True
    ).check()
    field(page, t("品番")).fill(model)
    field(page, t("MACアドレス")).fill(mac)


# --- The flows -------------------------------------------------------------------------------


def test_device_lifecycle_register_set_up_change_and_exchange(
    page: Page,
    js: bool,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    base_url: str,
    shot: Shot,
) -> None:
    """機器登録 (and its refusals), 機器設定, 変更画面, 機器の交換, old MAC re-used, 操作履歴."""
    account = demo_contract(devices=2)
    run = uuid.uuid4().hex[:6]
    name = f"裏口カメラ {run}"
    new_name = f"裏庭カメラ {run}"
    domain_label = f"backyard-cam-{run}"
    key, masked_key = issue_key(live_portal, account.contract_id)
    mac_typed, mac_shown = free_mac(live_portal)
    new_mac_typed, new_mac_shown = free_mac(live_portal)

    login(page, account.email, account.password)
    open_device_list(page)
    expect(count(page)).to_have_text(count_text(2, 2))

    # 1. 機器登録: 「機器登録」 on 機器一覧 opens the form.
    open_registration(page)
    expect(page).to_have_url(re.compile(r"/devices/new(\?|$)"))
    expect(page.get_by_role("radio", name=t("ネットワークカメラ"), exact=True)).to_be_checked()
    shot(page, "register-form")

    # An unknown key and a malformed MAC: the MAC is refused first, the input is kept.
    unknown_key = format_licence_key(new_licence_key())
    fill_registration(page, key=unknown_key, name=name, model="WV-S1131", mac="00-80-45-zz-cd-99")
    page.get_by_role("button", name=t("登録"), exact=True).click()
    expect_field_error(page, t("MACアドレス"), MAC_MALFORMED)
    expect(heading(page, t("機器登録"))).to_be_visible()
    expect(field(page, t("機器名"))).to_have_value(name)
    expect(field(page, t("ライセンスキー"))).to_have_value(unknown_key)
    expect(field(page, t("MACアドレス"))).to_have_value("00-80-45-zz-cd-99")
    shot(page, "register-bad-mac")

    # The MAC corrected, the unknown key is refused next to its field; nothing registered.
    field(page, t("MACアドレス")).fill(mac_typed)
    page.get_by_role("button", name=t("登録"), exact=True).click()
    expect_field_error(page, t("ライセンスキー"), KEY_UNKNOWN)
    expect_field_fine(page, t("MACアドレス"))
    expect(field(page, t("機器名"))).to_have_value(name)
    shot(page, "register-unknown-key")

    # A key issued to this contract: 「登録」 lands on 機器情報 of the new device.
    fill_registration(page, key=key, name=name, model="WV-S1131", mac=mac_typed)
    shot(page, "register-filled")
    page.get_by_role("button", name=t("登録"), exact=True).click()
    expect(heading(page, t("機器情報"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/devices/\d+(\?|$)"))
    device_url = page.url.split("?")[0]
    expect(messages(page)).to_contain_text(registered(name))
    expect(detail_value(page, t("機器名"))).to_have_text(name)
    expect(detail_value(page, t("品番"))).to_have_text("WV-S1131")
    expect(detail_value(page, t("MACアドレス"))).to_have_text(mac_shown)
    expect(detail_value(page, t("ドメイン名"))).to_have_text(
        re.compile(rf"^[a-z0-9]+\.{re.escape(domain_suffix(live_portal))}$")
    )
    assigned_domain = detail_value(page, t("ドメイン名")).inner_text().strip()
    expect(detail_value(page, t("機器設定"))).to_have_text(t("未完了"))
    expect(detail_value(page, t("サービス稼働状態"))).to_have_text(t("設定待ち"))
    expect(page.get_by_role("rowheader", name=t("カメラの管理"), exact=True)).to_be_visible()
    shot(page, "registered-detail")

    # 機器一覧 counts one more device, and lists it.
    main(page).get_by_role("link", name=t("戻る"), exact=True).click()
    expect(heading(page, t("機器一覧"))).to_be_visible()
    expect(count(page)).to_have_text(count_text(3, 3))
    expect(device_row(page, name)).to_contain_text(mac_shown)
    expect(device_row(page, name)).to_contain_text(t("設定待ち"))
    shot(page, "list-after-register")
    open_detail(page, name)

    # 2. 機器設定 asks first; 「キャンセル」 goes back and changes nothing.
    main(page).get_by_role("button", name=t("機器設定"), exact=True).click()
    expect(heading(page, t("機器設定"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/devices/\d+/setup(\?|$)"))
    shot(page, "setup-confirmation")
    main(page).get_by_role("link", name=t("キャンセル"), exact=True).click()
    expect(heading(page, t("機器情報"))).to_be_visible()
    expect(detail_value(page, t("機器設定"))).to_have_text(t("未完了"))
    # Confirmed: a new 機器認証キー, and still 未完了 and 設定待ち until the device reports
    # with it; its first heartbeat completes 機器設定 and the service starts.
    secret = confirm_device_setup(page)
    expect(messages(page)).to_contain_text(
        t(
            "機器「%(name)s」の新しい機器認証キーを発行しました。機器に設定してください。",
            name=name,
        )
    )
    expect(page).to_have_url(re.compile(rf"^{re.escape(device_url)}(\?|$)"))
    expect(detail_value(page, t("機器設定"))).to_have_text(t("未完了"))
    expect(detail_value(page, t("サービス稼働状態"))).to_have_text(t("設定待ち"))
    device_id = int(device_url.rsplit("/", 1)[1])
    new_device = FakeCamera(live_portal.url, device_id, secret)
    new_device.heartbeat()
    page.reload()
    expect(detail_value(page, t("機器設定"))).to_have_text(SETUP_DONE)
    expect(detail_value(page, t("サービス稼働状態"))).to_have_text(t("サービス有効"))
    shot(page, "after-setup")

    # 3. 変更画面へ: a new name, a domain typed as its label only, the management pair.
    main(page).get_by_role("link", name=t("変更画面へ"), exact=True).click()
    expect(heading(page, t("機器情報の変更"))).to_be_visible()
    expect(field(page, t("機器名"))).to_have_value(name)
    expect(field(page, t("ドメイン名"))).to_have_value(assigned_domain)
    admin = group(page, t("カメラの管理"))
    viewing = group(page, t("カメラの一覧"))
    expect(field(admin, t("ユーザー ID"))).to_have_value("")
    expect(field(admin, t("パスワード"))).to_have_value("")
    expect(field(viewing, t("ユーザー ID"))).to_have_value("")
    shot(page, "edit-form")
    field(page, t("機器名")).fill(new_name)
    field(page, t("ドメイン名")).fill(domain_label)
    field(admin, t("ユーザー ID")).fill("admin-e2e")
    field(admin, t("パスワード")).fill("Cam-Pass-2026!")
    shot(page, "edit-filled")
    page.get_by_role("button", name=t("変更"), exact=True).click()

    expect(heading(page, t("機器情報"))).to_be_visible()
    expect(messages(page)).to_contain_text(t("機器情報を変更しました。"))
    expect(detail_value(page, t("機器名"))).to_have_text(new_name)
    new_domain = f"{domain_label}.{domain_suffix(live_portal)}"
    expect(detail_value(page, t("ドメイン名"))).to_have_text(new_domain)
    expect(sub_value(page, t("ユーザー ID")).first).to_have_text(
        re.compile(rf"{re.escape(t('ユーザー ID'))}\s+admin-e2e$")
    )
    expect(sub_value(page, t("パスワード")).first).to_have_text(
        re.compile(rf"{re.escape(t('パスワード'))}\s+\*{{8}}$")
    )
    expect(sub_value(page, t("パスワード")).nth(1)).to_contain_text(t("(カメラの管理と同じ)"))
    expect(main(page)).not_to_contain_text("Cam-Pass-2026!")
    # A change leaves 機器設定 as it was.
    expect(detail_value(page, t("機器設定"))).to_have_text(SETUP_DONE)
    shot(page, "after-edit")

    # 4. 機器の交換: the current hardware is shown; a new 品番 and MAC.
    main(page).get_by_role("link", name=t("機器の交換"), exact=True).click()
    expect(heading(page, t("機器の交換"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/devices/\d+/exchange(\?|$)"))
    expect(detail_value(page, t("機器名"))).to_have_text(new_name)
    expect(detail_value(page, t("ドメイン名"))).to_have_text(new_domain)
    expect(detail_value(page, t("現在の品番"))).to_have_text("WV-S1131")
    expect(detail_value(page, t("現在のMACアドレス"))).to_have_text(mac_shown)
    shot(page, "exchange-form")
    new_hardware = group(page, t("新しい機器"))
    field(new_hardware, t("品番")).fill("wv-s2136")
    field(new_hardware, t("MACアドレス")).fill(new_mac_typed)
    shot(page, "exchange-filled")
    page.get_by_role("button", name=t("交換"), exact=True).click()

    expect(heading(page, t("機器情報"))).to_be_visible()
    expect(page).to_have_url(re.compile(rf"^{re.escape(device_url)}(\?|$)"))
    expect(messages(page)).to_contain_text(
        t(
            "機器「%(name)s」を交換しました。新しい機器の準備ができたら「機器設定」を行ってください。",
            name=new_name,
        )
    )
    expect(detail_value(page, t("品番"))).to_have_text("WV-S2136")
    expect(detail_value(page, t("MACアドレス"))).to_have_text(new_mac_shown)
    expect(detail_value(page, t("機器名"))).to_have_text(new_name)
    expect(detail_value(page, t("ドメイン名"))).to_have_text(new_domain)
    expect(detail_value(page, t("機器設定"))).to_have_text(t("未完了"))
    expect(detail_value(page, t("サービス稼働状態"))).to_have_text(t("設定待ち"))
    expect(sub_value(page, t("ユーザー ID")).first).to_have_text(re.compile(r"admin-e2e$"))
    shot(page, "after-exchange")
    # The old hardware is gone: its 機器認証キー no longer works.
    with pytest.raises(ApiError) as refused:
        new_device.heartbeat()
    assert refused.value.status == 401

    # The licence stayed with the device: still 使用中, the same key.
    tab(page, t("ライセンス情報")).click()
    expect(tab(page, t("ライセンス情報"))).to_have_attribute("aria-current", "page")
    expect(detail_value(page, t("ライセンスキー"))).to_have_text(masked_key)
    expect(detail_value(page, t("ライセンス状態"))).to_have_text(t("使用中"))
    shot(page, "licence-after-exchange")

    # The old MAC is free again: another device registers with it and a fresh key.
    other_key, _ = issue_key(live_portal, account.contract_id)
    other_name = f"旧ハード再利用 {run}"
    main(page).get_by_role("link", name=t("戻る"), exact=True).click()
    expect(heading(page, t("機器一覧"))).to_be_visible()
    expect(count(page)).to_have_text(count_text(3, 3))
    expect(device_row(page, new_name)).to_contain_text(new_mac_shown)
    open_registration(page)
    fill_registration(page, key=other_key, name=other_name, model="WV-S1131", mac=mac_typed)
    shot(page, "register-old-mac")
    page.get_by_role("button", name=t("登録"), exact=True).click()
    expect(heading(page, t("機器情報"))).to_be_visible()
    expect(messages(page)).to_contain_text(registered(other_name))
    expect(detail_value(page, t("MACアドレス"))).to_have_text(mac_shown)
    shot(page, "registered-old-mac")
    main(page).get_by_role("link", name=t("戻る"), exact=True).click()
    expect(count(page)).to_have_text(count_text(4, 4))
    shot(page, "list-after-second-register")

    # 5. 操作履歴: every step is there.
    manage_menu(page).get_by_role("link", name=t("操作履歴"), exact=True).click()
    expect(heading(page, t("操作履歴"))).to_be_visible()
    expect(history_rows_of(page, t("機器登録"))).to_have_count(2)
    expect(history_rows_of(page, t("機器設定"))).to_have_count(1)
    expect(history_rows_of(page, t("機器情報の変更"))).to_have_count(1)
    expect(history_rows_of(page, t("機器の交換"))).to_have_count(1)
    expect(history_rows_of(page, t("機器設定"))).to_contain_text(name)
    expect(history_rows_of(page, t("機器の交換"))).to_contain_text(new_name)
    expect(history_rows_of(page, t("機器の交換"))).to_contain_text(account.email)
    shot(page, "history")
    if js:
        page.evaluate("document.body.dataset.e2eMarker = 'kept'")
        history_before = page.evaluate("history.length")

    # Only 機器の交換.
    field(page, t("操作の種類")).select_option(label=t("機器の交換"))
    page.get_by_role("button", name=t("表示"), exact=True).click()
    expect(page.get_by_text(f"{t('件数:')} 1", exact=True)).to_be_visible()
    expect(history_rows(page)).to_have_count(1)
    expect(history_rows_of(page, t("機器の交換"))).to_have_count(1)
    expect(history_rows_of(page, t("機器登録"))).to_have_count(0)
    expect(field(page, t("操作の種類"))).to_have_value("device.exchange")
    expect(page).to_have_url(re.compile(r"/history\?(.*&)?action=device\.exchange(&|$)"))
    assert query_of(page.url) == {"action": ["device.exchange"]}
    if js:
        # Only the list was swapped, and the filtered URL was pushed.
        expect(page.locator("body")).to_have_attribute("data-e2e-marker", "kept")
        assert page.evaluate("history.length") == history_before + 1
    shot(page, "history-exchange-only")


def test_refused_change_changes_nothing(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    shot: Shot,
) -> None:
    """変更画面 with the domain "bad_domain": the message is beside the field, nothing is saved."""
    account = demo_contract(devices=2)
    target = account.devices[0]
    login(page, account.email, account.password)
    open_device_list(page)
    open_detail(page, target.name)

    main(page).get_by_role("link", name=t("変更画面へ"), exact=True).click()
    expect(heading(page, t("機器情報の変更"))).to_be_visible()
    field(page, t("機器名")).fill(f"{target.name} 改")
    field(page, t("ドメイン名")).fill("bad_domain")
    page.get_by_role("button", name=t("変更"), exact=True).click()

    expect_field_error(page, t("ドメイン名"), domain_malformed(live_portal))
    expect_field_fine(page, t("機器名"))
    expect(heading(page, t("機器情報の変更"))).to_be_visible()
    expect(field(page, t("ドメイン名"))).to_have_value("bad_domain")
    expect(field(page, t("機器名"))).to_have_value(f"{target.name} 改")
    shot(page, "edit-refused")

    main(page).get_by_role("link", name=t("戻る"), exact=True).click()
    expect(heading(page, t("機器情報"))).to_be_visible()
    expect(detail_value(page, t("機器名"))).to_have_text(target.name)
    expect(detail_value(page, t("ドメイン名"))).to_have_text(target.domain)
    expect(messages(page)).not_to_contain_text(t("機器情報を変更しました。"))
    shot(page, "detail-unchanged")

    main(page).get_by_role("link", name=t("戻る"), exact=True).click()
    expect(heading(page, t("機器一覧"))).to_be_visible()
    expect(device_row(page, target.name)).to_contain_text(target.domain)
    expect(device_row(page, f"{target.name} 改")).to_have_count(0)


def test_deletion_confirmation_offers_the_exchange_instead(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    base_url: str,
    shot: Shot,
) -> None:
    """The 機器の交換 link in the deletion notice opens the exchange of the same device."""
    account = demo_contract(devices=2)
    target = account.devices[1]
    login(page, account.email, account.password)
    open_device_list(page)
    open_detail(page, target.name)
    main(page).get_by_role("link", name=DELETE_LINK, exact=True).click()
    expect(heading(page, t("機器の削除 (解約)"))).to_be_visible()
    expect(page.get_by_label(ACK_LICENCE, exact=True)).to_be_visible()
    expect(page.get_by_label(ACK_DATA, exact=True)).to_be_visible()
    # The notice is built of three pieces: its text, the 「機器の交換」 link, and its end.
    notice = main(page).get_by_text(
        t(
            "機器を削除したライセンスを使って別の機器を登録することはできません。"
            "使用中のライセンスを別の機器に付与する場合は、機器を削除するのではなく「"
        )
    )
    expect(notice).to_contain_text(t("」を行ってください。"))
    exchange_link = notice.get_by_role("link", name=t("機器の交換"), exact=True)
    expect(exchange_link).to_be_visible()
    shot(page, "delete-confirm")

    exchange_link.click()
    expect(heading(page, t("機器の交換"))).to_be_visible()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base_url)}/devices/{target.id}/exchange"))
    expect(detail_value(page, t("機器名"))).to_have_text(target.name)
    expect(detail_value(page, t("現在の品番"))).to_have_text(target.model)
    expect(detail_value(page, t("現在のMACアドレス"))).to_have_text(target.mac)
    shot(page, "exchange-from-delete")


def test_registration_reports_unknown_key_and_malformed_mac_together(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    shot: Shot,
) -> None:
    """One 「登録」 with an unknown key and a malformed MAC shows both messages."""
    account = demo_contract(devices=1)
    login(page, account.email, account.password)
    open_device_list(page)
    open_registration(page)
    fill_registration(
        page,
        key=format_licence_key(new_licence_key()),
        name="入力ミスのカメラ",
        model="WV-S1131",
        mac="00-80-45-zz-cd-99",
    )
    page.get_by_role("button", name=t("登録"), exact=True).click()
    expect_field_error(page, t("MACアドレス"), MAC_MALFORMED)
    shot(page, "register-two-mistakes")
    expect_field_error(page, t("ライセンスキー"), KEY_UNKNOWN)


def test_a_message_does_not_outlive_its_screen(
    page: Page,
    js: bool,
    request: pytest.FixtureRequest,
    demo_contract: Callable[..., DemoContract],
    shot: Shot,
) -> None:
    """The message of 機器設定 belongs to 機器情報; 変更画面へ no longer shows it."""
    account = demo_contract(devices=1)
    target = account.devices[0]
    login(page, account.email, account.password)
    open_device_list(page)
    open_detail(page, target.name)
    confirm_device_setup(page)
    done = t(
        "機器「%(name)s」の新しい機器認証キーを発行しました。機器に設定してください。",
        name=target.name,
    )
    expect(messages(page)).to_contain_text(done)

    main(page).get_by_role("link", name=t("変更画面へ"), exact=True).click()
    expect(heading(page, t("機器情報の変更"))).to_be_visible()
    shot(page, "edit-after-setup")
    expect(messages(page)).not_to_contain_text(done, timeout=2000)
