"""Keeping recordings before an irreversible step, and the mail after it.

「録画データをダウンロード」 on the deletion confirmation and on 退会手続き saves a ZIP of the
recordings the step would delete; 録画一覧 pages to a date and saves one recording. After a
deletion and after withdrawal, a mail tells the contractor what was deleted and when.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Download, Page, expect
from sqlalchemy import func, select

from tests.support.demo_contracts import DemoContract, DemoDevice
from tests.support.language import in_language, t
from tests.support.live_portal import LivePortal
from tests.support.mail import Mailbox
from tests.support.pages import (
    ACK_DATA,
    ACK_IRREVERSIBLE,
    ACK_LICENCE,
    ACK_NEW_CONTRACT,
    expect_field_error,
    field,
    heading,
    login,
    main,
    manage_menu,
    messages,
    open_detail,
    open_device_list,
)
from tests.support.screenshots import Shot
from webapp import clock, storage
from webapp.archives import safe_file_name
from webapp.extensions import db
from webapp.models import Device, Recording

DOWNLOAD = t("録画データをダウンロード")


def stored_recordings(portal: LivePortal, device_ids: list[int]) -> list[bytes]:
    """The bytes of every recording of the devices, as the portal's storage holds them."""
    with portal.app.app_context():
        keys = db.session.scalars(
            select(Recording.storage_key).where(Recording.device_id.in_(device_ids))
        ).all()
        return sorted(storage.read(key) for key in keys)


def with_recordings(portal: LivePortal, account: DemoContract) -> list[DemoDevice]:
    """The demo devices that have recordings (those whose 機器設定 was completed)."""
    with portal.app.app_context():
        counts = dict(
            db.session.execute(
                select(Device.id, func.count(Recording.id))
                .join(Recording, Recording.device_id == Device.id)
                .where(Device.contract_id == account.contract_id)
                .group_by(Device.id)
            ).all()
        )
    return [device for device in account.devices if counts.get(device.id)]


def unzip(download: Download) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def demo_with_recordings(
    demo_contract: Callable[..., DemoContract], portal: LivePortal, devices: int
) -> tuple[DemoContract, list[DemoDevice]]:
    """A demo contract in which at least one device has recordings (most have)."""
    for _ in range(5):
        account = demo_contract(devices=devices)
        recorded = with_recordings(portal, account)
        if recorded:
            return account, recorded
    raise AssertionError("no demo device with recordings")


def test_the_deletion_confirmation_saves_the_devices_recordings_then_mails(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    mailbox: Mailbox,
    shot: Shot,
) -> None:
    account, recorded = demo_with_recordings(demo_contract, live_portal, 3)
    target = recorded[0]
    expected = stored_recordings(live_portal, [target.id])
    login(page, account.email, account.password)
    open_device_list(page)
    open_detail(page, target.name)
    main(page).get_by_role("link", name=t("機器削除 (機器の解約)"), exact=True).click()
    expect(heading(page, t("機器の削除 (解約)"))).to_be_visible()
    notice = t(
        "この機器の録画データ (%(count)s件) も削除されます。"
        "残しておきたい録画は、削除の前にダウンロードしてください (ZIP形式)。",
        count=len(expected),
    )
    expect(main(page)).to_contain_text(notice)
    shot(page, "delete-confirm-with-recordings")

    # A plain link: the browser saves the ZIP, the page stays where it is.
    with page.expect_download() as saved:
        main(page).get_by_role("link", name=DOWNLOAD, exact=True).click()
    download = saved.value
    assert download.suggested_filename.endswith(".zip")
    entries = unzip(download)
    assert sorted(entries.values()) == expected  # exactly the device's recordings
    folder = safe_file_name(target.name, target.domain)
    pattern = re.compile(rf"^{re.escape(folder)}/\d{{4}}-\d\d-\d\d_\d\d-\d\d-\d\d(_\d+)?\.png$")
    assert all(pattern.match(name) for name in entries), list(entries)
    expect(heading(page, t("機器の削除 (解約)"))).to_be_visible()

    # Then the deletion itself, and the mail after it.
    page.get_by_label(ACK_LICENCE, exact=True).check()
    page.get_by_label(ACK_DATA, exact=True).check()
    page.get_by_role("button", name=t("削除"), exact=True).click()
    expect(messages(page)).to_contain_text(t("機器「%(name)s」を削除しました。", name=target.name))
    subject = in_language(ja="機器を削除しました", en="Device deleted")
    mail = mailbox.wait_for(account.email, subject)
    assert target.name in mail.subject
    assert target.domain in mail.body and target.mac in mail.body
    assert in_language(ja=f"録画データ {len(expected)}件", en=f"{len(expected)} recording") in (
        mail.body
    )

    # The device is gone: its archive answers 410, never a stale ZIP.
    gone = page.request.get(f"/devices/{target.id}/recordings.zip")
    assert gone.status == 410


def test_recordings_page_to_a_date_and_save_one(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    shot: Shot,
) -> None:
    account, recorded = demo_with_recordings(demo_contract, live_portal, 2)
    camera = recorded[0]
    stranger = demo_contract(devices=1)
    with live_portal.app.app_context():
        today = clock.today()
        newest = db.session.execute(
            select(Recording.id, Recording.storage_key, Recording.captured_at)
            .where(Recording.device_id == camera.id)
            .order_by(Recording.captured_at.desc(), Recording.id.desc())
            .limit(1)
        ).one()
        newest_bytes = storage.read(newest.storage_key)
        day = clock.day_of(newest.captured_at)
    login(page, account.email, account.password)
    open_device_list(page)
    open_detail(page, camera.name)
    main(page).get_by_role("link", name=t("録画一覧"), exact=True).click()
    expect(heading(page, f"{t('録画一覧')}: {camera.name}")).to_be_visible()

    # 日付: the day of the newest recording pages to it and marks it.
    field(page, t("日付")).fill(day.isoformat())
    page.get_by_role("button", name=t("この日へ移動"), exact=True).click()
    shown_day = in_language(ja=f"{day.year}年{day.month}月{day.day}日", en=day.isoformat())
    expect(main(page).get_by_role("status")).to_have_text(
        t("%(day)sの録画から表示しています。", day=shown_day)
    )
    current = page.locator('li[aria-current="true"]')
    expect(current).to_have_attribute("id", f"recording-{newest.id}")
    expect(field(page, t("日付"))).to_have_value(day.isoformat())
    shot(page, "recordings-from-a-date")

    # A day after today has nothing yet: the list opens at the older ones and says so.
    later = today + dt.timedelta(days=1)
    field(page, t("日付")).fill(later.isoformat())
    page.get_by_role("button", name=t("この日へ移動"), exact=True).click()
    later_day = in_language(ja=f"{later.year}年{later.month}月{later.day}日", en=later.isoformat())
    expect(main(page).get_by_role("status")).to_have_text(
        t("%(day)sの録画はありません。それより前の録画から表示しています。", day=later_day)
    )

    # One recording, saved as a file named by the device and the time it was taken.
    with page.expect_download() as saved:
        current.get_by_role("link", name=t("ダウンロード"), exact=True).click()
    download = saved.value
    assert Path(download.path()).read_bytes() == newest_bytes
    taken = clock.local(newest.captured_at).strftime("%Y-%m-%d_%H-%M-%S")
    assert download.suggested_filename == f"{safe_file_name(camera.name, '')}_{taken}.png"

    # A date off the calendar: 422, the message next to the field, the list unchanged.
    answer = page.goto(f"/devices/{camera.id}/recordings?date=2026-02-30")
    assert answer is not None and answer.status == 422
    expect_field_error(
        page,
        t("日付"),
        t("日付が正しくありません。YYYY-MM-DD の形式で、暦にある日付を入力してください。"),
    )
    expect(page.locator('li[aria-current="true"]')).to_have_count(0)
    shot(page, "recordings-date-off-the-calendar")

    # Another contract's device: 404, whatever is asked of it.
    other = stranger.devices[0].id
    for path in (
        f"/devices/{other}/recordings.zip",
        f"/devices/{other}/recordings?date=2026-01-01",
    ):
        assert page.request.get(path).status == 404


def test_withdrawal_saves_the_contracts_recordings_then_mails(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    mailbox: Mailbox,
    shot: Shot,
) -> None:
    account, recorded = demo_with_recordings(demo_contract, live_portal, 2)
    expected = stored_recordings(live_portal, [device.id for device in account.devices])
    login(page, account.email, account.password)
    open_device_list(page)

    # 退会手続き while devices remain: the recordings of every device, in one ZIP.
    manage_menu(page).get_by_role("link", name=t("契約者情報設定"), exact=True).click()
    main(page).get_by_role("link", name=t("退会手続き"), exact=True).click()
    expect(heading(page, t("退会手続き"))).to_be_visible()
    shot(page, "withdraw-blocked-with-recordings")
    with page.expect_download() as saved:
        main(page).get_by_role("link", name=DOWNLOAD, exact=True).click()
    entries = unzip(saved.value)
    assert sorted(entries.values()) == expected
    folders = {name.split("/")[0] for name in entries}
    assert folders == {safe_file_name(device.name, device.domain) for device in recorded}

    # Every device deleted, then 退会最終確認: nothing left to save, and 退会.
    for device in account.devices:
        open_device_list(page)
        open_detail(page, device.name)
        main(page).get_by_role("link", name=t("機器削除 (機器の解約)"), exact=True).click()
        page.get_by_label(ACK_LICENCE, exact=True).check()
        page.get_by_label(ACK_DATA, exact=True).check()
        page.get_by_role("button", name=t("削除"), exact=True).click()
        expect(messages(page)).to_contain_text(
            t("機器「%(name)s」を削除しました。", name=device.name)
        )
    manage_menu(page).get_by_role("link", name=t("契約者情報設定"), exact=True).click()
    main(page).get_by_role("link", name=t("退会手続き"), exact=True).click()
    expect(heading(page, t("退会最終確認"))).to_be_visible()
    expect(main(page)).to_contain_text(
        t("録画データはありません。機器の録画データは、機器の削除とともに削除されています。")
    )
    page.get_by_label(ACK_IRREVERSIBLE, exact=True).check()
    page.get_by_label(ACK_NEW_CONTRACT, exact=True).check()
    page.get_by_role("button", name=t("退会"), exact=True).click()
    expect(heading(page, t("退会処理完了"))).to_be_visible()

    subject = in_language(ja="退会処理が完了しました", en="withdrawal is complete")
    mail = mailbox.wait_for(account.email, subject)
    assert in_language(ja="退会日時:", en="Withdrawn at:") in mail.body
    revoked = in_language(
        ja=r"ライセンスキー \d+件は失効しました", en=r"\d+ licence keys?, now revoked"
    )
    assert re.search(revoked, mail.body), mail.body
