"""Settings over 120 devices (three pages) in 通知メール設定 and a general user's devices:
a switch for every device at once, ticks kept over paging, and a search that narrows."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from tests.e2e.test_notifications_flow import event_box, events, notify_on_every_event
from tests.support.demo_contracts import DemoContract
from tests.support.factories import UserFactory
from tests.support.language import t
from tests.support.live_portal import LivePortal
from tests.support.pages import (
    count_text,
    field,
    heading,
    login,
    messages,
    open_manage,
    page_position,
    region,
)
from tests.support.screenshots import Shot
from webapp.enums import Role
from webapp.extensions import db
from webapp.models import Contract, Device, NotificationSetting, UserDevice

DEVICES = 120  # three pages of fifty


def bulk_button(page: Page, label: str, event: str) -> Locator:
    """「全N台でオン」/「全N台でオフ」 of one event (its name says which event)."""
    text = t(label, count=DEVICES)
    return events(page).get_by_role("button", name=f"{text} ({t(event)})", exact=True)


def stored_settings(live_portal: LivePortal, contract_id: int) -> dict[str, tuple[bool, bool]]:
    """Each device's (通信状態の変化, 録画停止) as saved, by device name."""
    with live_portal.app.app_context():
        rows = db.session.execute(
            select(
                Device.name,
                NotificationSetting.on_comm_change,
                NotificationSetting.on_recording_stop,
            )
            .join(NotificationSetting, NotificationSetting.device_id == Device.id)
            .where(Device.contract_id == contract_id)
        ).all()
    return {name: (comm, recording) for name, comm, recording in rows}


def test_switch_an_event_for_every_device_over_three_pages(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    shot: Shot,
) -> None:
    account = demo_contract(devices=DEVICES)
    devices = account.devices  # by name, as the list shows them
    notify_on_every_event(live_portal, account.contract_id)
    login(page, account.email, account.password)
    open_manage(page, t("通知メール設定"))
    expect(events(page).get_by_text(count_text(DEVICES, DEVICES))).to_be_visible()
    expect(events(page).get_by_text(page_position(1, 3))).to_be_visible()
    shot(page, "many-devices")

    # 「全120台でオフ」 of 録画停止 reaches the devices of every page.
    bulk_button(page, "全%(count)s台でオフ", "録画停止").click()
    expect(messages(page)).to_contain_text(
        t("全%(count)s台で「%(event)s」をオフにしました。", count=DEVICES, event=t("録画停止"))
    )
    expect(event_box(page, devices[0].name, "録画停止")).not_to_be_checked()
    expect(event_box(page, devices[0].name, "通信状態の変化")).to_be_checked()
    for number, device in ((2, devices[50]), (3, devices[119])):
        events(page).get_by_role("button", name=t("次へ"), exact=True).click()
        expect(events(page).get_by_text(page_position(number, 3))).to_be_visible()
        expect(event_box(page, device.name, "録画停止")).not_to_be_checked()
    shot(page, "all-off-page-3")
    assert {
        recording for _, recording in stored_settings(live_portal, account.contract_id).values()
    } == {False}

    # A tick on page 3 survives going to page 2 and back: 「前へ」 saves it first.
    event_box(page, devices[100].name, "録画停止").check()
    events(page).get_by_role("button", name=t("前へ"), exact=True).click()
    expect(messages(page)).to_contain_text(
        t("機器ごとの通知設定を保存しました (%(count)s台を変更)。", count=1)
    )
    expect(events(page).get_by_text(page_position(2, 3))).to_be_visible()
    events(page).get_by_role("button", name=t("次へ"), exact=True).click()
    expect(events(page).get_by_text(page_position(3, 3))).to_be_visible()
    expect(event_box(page, devices[100].name, "録画停止")).to_be_checked()
    expect(event_box(page, devices[101].name, "録画停止")).not_to_be_checked()

    # A search narrows the list to one device; its change is saved, the search kept.
    target = devices[77]
    field(events(page), t("機器名")).fill(target.name)
    events(page).get_by_role("button", name=t("検索"), exact=True).click()
    expect(events(page).get_by_text(count_text(1, DEVICES))).to_be_visible()
    expect(event_box(page, devices[0].name, "録画停止")).to_have_count(0)
    event_box(page, target.name, "通信状態の変化").uncheck()
    events(page).get_by_role("button", name=t("変更"), exact=True).click()
    expect(messages(page)).to_contain_text(
        t("機器ごとの通知設定を保存しました (%(count)s台を変更)。", count=1)
    )
    expect(events(page).get_by_text(count_text(1, DEVICES))).to_be_visible()
    expect(event_box(page, target.name, "通信状態の変化")).not_to_be_checked()
    shot(page, "narrowed")

    # 「全120台でオン」 while narrowed still reaches every device; then back to all of them.
    bulk_button(page, "全%(count)s台でオン", "録画停止").click()
    expect(messages(page)).to_contain_text(
        t("全%(count)s台で「%(event)s」をオンにしました。", count=DEVICES, event=t("録画停止"))
    )
    events(page).get_by_role("link", name=t("絞り込みを解除"), exact=True).click()
    expect(events(page).get_by_text(count_text(DEVICES, DEVICES))).to_be_visible()
    expect(event_box(page, devices[0].name, "録画停止")).to_be_checked()
    shot(page, "all-on")
    saved = stored_settings(live_portal, account.contract_id)
    assert {recording for _, recording in saved.values()} == {True}
    assert [name for name, (comm, _) in saved.items() if not comm] == [target.name]


def make_general_user(live_portal: LivePortal, contract_id: int) -> tuple[int, str]:
    with live_portal.app.app_context():
        contract = db.session.get(Contract, contract_id)
        user = UserFactory(
            email=f"viewer-{contract_id}@example.com", contract=contract, role=Role.GENERAL
        )
        return user.id, user.email


def allowed_names(live_portal: LivePortal, user_id: int) -> set[str]:
    with live_portal.app.app_context():
        return set(
            db.session.scalars(
                select(Device.name)
                .join(UserDevice, UserDevice.device_id == Device.id)
                .where(UserDevice.user_id == user_id)
            )
        )


def test_choose_a_users_devices_over_three_pages(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    shot: Shot,
) -> None:
    account = demo_contract(devices=DEVICES)
    devices = account.devices
    user_id, email = make_general_user(live_portal, account.contract_id)
    login(page, account.email, account.password)
    open_manage(page, t("ユーザー管理"))
    page.get_by_role("row").filter(has_text=email).get_by_role(
        "link", name=t("詳細"), exact=True
    ).click()
    expect(heading(page, t("ユーザー情報"))).to_be_visible()
    access = region(page, t("閲覧できる機器"))
    expect(access.get_by_text(count_text(DEVICES, DEVICES))).to_be_visible()

    # 「全120台を選択」 ticks the devices of every page.
    access.get_by_role("button", name=t("全%(count)s台を選択", count=DEVICES), exact=True).click()
    expect(messages(page)).to_contain_text(
        t("全%(count)s台を閲覧できる機器に選択しました。", count=DEVICES)
    )
    access = region(page, t("閲覧できる機器"))
    expect(access.get_by_role("checkbox", name=devices[0].name, exact=True)).to_be_checked()
    assert allowed_names(live_portal, user_id) == {device.name for device in devices}

    # 「選択した機器のみ」 with the first device unticked; 「次へ」 saves it, page 2 is intact.
    access.get_by_role("radio", name=t("選択した機器のみ"), exact=True).check()
    access.get_by_role("checkbox", name=devices[0].name, exact=True).uncheck()
    access.get_by_role("button", name=t("次へ"), exact=True).click()
    expect(messages(page)).to_contain_text(t("閲覧できる機器を変更しました。"))
    access = region(page, t("閲覧できる機器"))
    expect(access.get_by_text(page_position(2, 3))).to_be_visible()
    expect(access.get_by_role("checkbox", name=devices[50].name, exact=True)).to_be_checked()
    expect(access.get_by_role("radio", name=t("選択した機器のみ"), exact=True)).to_be_checked()
    shot(page, "user-access-page-2")

    # A search narrows the checklist to one device.
    field(access, t("機器名")).fill(devices[0].name)
    access.get_by_role("button", name=t("検索"), exact=True).click()
    access = region(page, t("閲覧できる機器"))
    expect(access.get_by_text(count_text(1, DEVICES))).to_be_visible()
    expect(access.get_by_role("checkbox", name=devices[0].name, exact=True)).not_to_be_checked()
    shot(page, "user-access-narrowed")
    assert allowed_names(live_portal, user_id) == {device.name for device in devices[1:]}

    # 「全120台の選択を解除」 unticks every device, the search kept.
    access.get_by_role(
        "button", name=t("全%(count)s台の選択を解除", count=DEVICES), exact=True
    ).click()
    expect(messages(page)).to_contain_text(t("全%(count)s台の選択を解除しました。", count=DEVICES))
    expect(region(page, t("閲覧できる機器")).get_by_text(count_text(1, DEVICES))).to_be_visible()
    assert allowed_names(live_portal, user_id) == set()
