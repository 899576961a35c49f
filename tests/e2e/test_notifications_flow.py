"""通知メール設定: the addresses notifications go to, and which events of each device mail them.

At the end, the devices report a recording stop (what their heartbeat would do): the mails
reach the local SMTP server exactly as the saved settings say.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select, update

from tests.support.demo_contracts import DemoContract
from tests.support.language import in_language, t
from tests.support.live_portal import SERVICE_NAME, LivePortal
from tests.support.mail import Mailbox
from tests.support.pages import (
    expect_field_error,
    expect_field_fine,
    field,
    heading,
    login,
    main,
    manage_menu,
    messages,
    open_detail,
    open_manage,
    region,
    sub_value,
    tab,
)
from tests.support.screenshots import Shot
from webapp.enums import RecordingStatus
from webapp.extensions import db
from webapp.models import Device, NotificationSetting
from webapp.services.device_reports import record_status

EMAIL_MALFORMED = t("Eメールアドレスの形式が正しくありません。")
# Mails come from templates/mail/device_status.txt and templates/mail/en/device_status.txt.
RECORDING_STOPPED_SUBJECT = in_language(
    ja=f"【{SERVICE_NAME}】録画が停止しました", en=f"[{SERVICE_NAME}] Recording stopped"
)
DEVICE_NAME_LINE = in_language(ja="機器名: %(name)s", en="Device name: %(name)s")
EVENTS = ("通信状態の変化", "録画停止", "ライセンス期限")  # the columns of 機器ごとの通知内容


# --- Set-up and checks behind the browser ----------------------------------------------------


def notify_on_every_event(live_portal: LivePortal, contract_id: int) -> None:
    """Start from every event ticked for every device (demo data ticks 録画停止 at random)."""
    with live_portal.app.app_context():
        device_ids = select(Device.id).where(Device.contract_id == contract_id)
        db.session.execute(
            update(NotificationSetting)
            .where(NotificationSetting.device_id.in_(device_ids))
            .values(on_comm_change=True, on_recording_stop=True, on_licence_expiry=True)
        )
        db.session.commit()


def device_reports(live_portal: LivePortal, device_id: int, status: RecordingStatus) -> int:
    """Apply a 録画状態 a device reported, as its heartbeat would; return the mails sent."""
    with live_portal.app.app_context():
        device = db.session.get(Device, device_id)
        assert device is not None
        return record_status(device, status)


# --- Screens ---------------------------------------------------------------------------------


def recipients(page: Page) -> Locator:
    return region(page, t("通知先Eメールアドレス"))


def recipient(page: Page, number: int) -> Locator:
    """Return the field 通知先<number>."""
    return field(recipients(page), t("通知先%(number)s", number=number))


def events(page: Page) -> Locator:
    return region(page, t("機器ごとの通知内容"))


def event_box(page: Page, device_name: str, event: str) -> Locator:
    """Return the checkbox of one device's event (labelled 「<機器名>: 録画停止」).

    *event* is the Japanese label of the event (one of EVENTS).
    """
    return field(events(page), f"{device_name}: {t(event)}")


def notification_line(event: str, sent: bool) -> str:
    """A line of 通知メール in サービス設定: 「録画停止 送信しない」."""
    return f"{t(event)} {t('送信する') if sent else t('送信しない')}"


def expect_recipients(page: Page, *addresses: str) -> None:
    """通知先1-5 hold *addresses* in order, and the rest are empty."""
    for number in range(1, 6):
        value = addresses[number - 1] if number <= len(addresses) else ""
        expect(recipient(page, number)).to_have_value(value)


def test_notification_addresses_and_events(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    mailbox: Mailbox,
    live_portal: LivePortal,
    shot: Shot,
) -> None:
    """通知先1-2 saved (a repeat in 通知先3 merged), a bad address refused, 録画停止 off for one."""
    account = demo_contract(devices=2)
    quiet, loud = account.devices
    notify_on_every_event(live_portal, account.contract_id)
    run = uuid.uuid4().hex[:10]
    office = f"e2e-office-{run}@example.com"
    night = f"e2e-night-{run}@example.com"
    local, _, domain = account.email.partition("@")

    # The demo contract's addresses are shown in 通知先1 and 通知先2.
    login(page, account.email, account.password)
    open_manage(page, t("通知メール設定"))
    expect_recipients(page, account.email, f"{local}+alerts@{domain}")
    for device in account.devices:
        for event in EVENTS:
            expect(event_box(page, device.name, event)).to_be_checked()
    shot(page, "notifications")

    # Two new addresses, and the second once more in 通知先3 (in capitals): kept once.
    recipient(page, 1).fill(office)
    recipient(page, 2).fill(night)
    recipient(page, 3).fill(night.replace("e2e-night", "E2E-Night"))
    shot(page, "recipients-filled")
    recipients(page).get_by_role("button", name=t("変更"), exact=True).click()
    saved = t("通知先を保存しました (%(count)s件)。", count=2)
    expect(messages(page)).to_contain_text(saved)
    expect(heading(page, t("通知メール設定"))).to_be_visible()
    expect_recipients(page, office, night)
    shot(page, "recipients-saved")

    # A malformed address is refused beside its field; nothing is saved.
    recipient(page, 3).fill("night-shift@@example.com")
    recipients(page).get_by_role("button", name=t("変更"), exact=True).click()
    expect_field_error(recipients(page), t("通知先%(number)s", number=3), EMAIL_MALFORMED)
    expect_field_fine(recipients(page), t("通知先%(number)s", number=1))
    expect_field_fine(recipients(page), t("通知先%(number)s", number=2))
    expect(recipient(page, 3)).to_have_value("night-shift@@example.com")
    expect(messages(page)).not_to_contain_text(saved)
    shot(page, "recipient-refused")
    manage_menu(page).get_by_role("link", name=t("通知メール設定"), exact=True).click()
    expect(heading(page, t("通知メール設定"))).to_be_visible()
    expect_recipients(page, office, night)

    # 録画停止 off for one device; the other boxes stay as they were.
    event_box(page, quiet.name, "録画停止").uncheck()
    shot(page, "recording-stop-unticked")
    events(page).get_by_role("button", name=t("変更"), exact=True).click()
    expect(messages(page)).to_contain_text(
        t("機器ごとの通知設定を保存しました (%(count)s台を変更)。", count=1)
    )
    expect(event_box(page, quiet.name, "録画停止")).not_to_be_checked()
    expect(event_box(page, quiet.name, "通信状態の変化")).to_be_checked()
    expect(event_box(page, quiet.name, "ライセンス期限")).to_be_checked()
    expect(event_box(page, loud.name, "録画停止")).to_be_checked()
    shot(page, "events-saved")

    # 機器情報 → サービス設定 shows it: 送信しない for 録画停止 of that device only.
    manage_menu(page).get_by_role("link", name=t("機器管理"), exact=True).click()
    expect(heading(page, t("機器一覧"))).to_be_visible()
    open_detail(page, quiet.name)
    tab(page, t("サービス設定")).click()
    expect(tab(page, t("サービス設定"))).to_have_attribute("aria-current", "page")
    for event in EVENTS:
        expect(sub_value(page, t(event))).to_have_text(
            notification_line(event, sent=event != "録画停止")
        )
    shot(page, "service-settings-quiet")
    main(page).get_by_role("link", name=t("戻る"), exact=True).click()
    expect(heading(page, t("機器一覧"))).to_be_visible()
    open_detail(page, loud.name)
    tab(page, t("サービス設定")).click()
    expect(tab(page, t("サービス設定"))).to_have_attribute("aria-current", "page")
    expect(sub_value(page, t("録画停止"))).to_have_text(notification_line("録画停止", sent=True))
    shot(page, "service-settings-loud")

    # Both devices stop recording: only the device with 録画停止 on mails, to both addresses.
    # (The mails are sent before record_status returns, so "no mail" is certain here.)
    for device in account.devices:
        device_reports(live_portal, device.id, RecordingStatus.CONTINUOUS)
    assert device_reports(live_portal, quiet.id, RecordingStatus.STOPPED) == 0
    assert device_reports(live_portal, loud.id, RecordingStatus.STOPPED) == 2
    for address in (office, night):
        mail = mailbox.wait_for(address, f"{RECORDING_STOPPED_SUBJECT}: {loud.name}")
        assert DEVICE_NAME_LINE % {"name": loud.name} in mail.body
        assert all(quiet.name not in m.subject for m in mailbox.to(address))
    for former in (account.email, f"{local}+alerts@{domain}"):
        assert mailbox.to(former) == [], f"{former} is no longer a 通知先"
