"""通知メール設定 with 120 devices (three pages): an event switched for every device at once,
ticks kept over paging, and a search that narrows the list."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from tests.e2e.test_notifications_flow import event_box, events, notify_on_every_event
from tests.support.demo_contracts import DemoContract
from tests.support.language import t
from tests.support.live_portal import LivePortal
from tests.support.pages import count_text, field, login, messages, open_manage, page_position
from tests.support.screenshots import Shot
from webapp.extensions import db
from webapp.models import Device, NotificationSetting

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
