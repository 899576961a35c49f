"""ライセンス一覧: the contract's licences at a glance, filtered, and downloaded as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect
from sqlalchemy import update

from tests.support.demo_contracts import DemoContract
from tests.support.language import t, tn
from tests.support.live_portal import LivePortal
from tests.support.pages import heading, login, main, manage_menu, open_device_list
from tests.support.screenshots import Shot
from webapp import clock
from webapp.extensions import db
from webapp.models import Device, Licence, mask_key
from webapp.services.licences import issue_licences


def prepare(live_portal: LivePortal, contract: DemoContract) -> tuple[str, str]:
    """End the first device's licence in 10 days, the others' in 200, and reserve a key.

    Returns the device's and the reserved key (whole: the page must never show them).
    """
    first = contract.devices[0]
    today = clock.today()
    with live_portal.app.app_context():
        device = db.session.get(Device, first.id)
        assert device is not None
        device_key = device.licence.key
        # The demo's terms are random: only the first device's may end within 30 days.
        db.session.execute(
            update(Licence)
            .where(Licence.contract_id == contract.contract_id)
            .values(ends_on=today + dt.timedelta(days=200))
        )
        db.session.execute(
            update(Licence)
            .where(Licence.id == device.licence_id)
            .values(ends_on=today + dt.timedelta(days=10))
        )
        db.session.commit()
        [reserved] = issue_licences(1, contract_id=contract.contract_id, days=20)
    return device_key, reserved


def days_shown(days: int, since: dt.date) -> re.Pattern[str]:
    """「N日」 for *days* counted on *since*, or one less should the service's day have turned
    since then (a run across midnight in Tokyo)."""
    turned = (clock.today() - since).days
    texts = {tn("%(num)s日", "%(num)s日", days - shift) for shift in {0, turned}}
    return re.compile("|".join(re.escape(text) for text in sorted(texts)))


def licence_rows(page: Page) -> Locator:
    """The rows of ライセンス一覧's table that show a licence (each has a masked key)."""
    return main(page).get_by_role("row").filter(has_text="****-****")


def test_licence_list_filter_and_download(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    base_url: str,
    shot: Shot,
) -> None:
    contract = demo_contract(devices=3)
    prepared_on = clock.today()
    device_key, reserved = prepare(live_portal, contract)
    first = contract.devices[0]

    login(page, contract.email, contract.password)
    open_device_list(page)
    manage_menu(page).get_by_role("link", name=t("ライセンス一覧"), exact=True).click()
    expect(heading(page, t("ライセンス一覧"))).to_be_visible()
    expect(page).to_have_url(f"{base_url}/licences")
    # Every device's licence, and the reserved key, masked.
    expect(licence_rows(page)).to_have_count(4)
    reserved_row = licence_rows(page).filter(has_text=mask_key(reserved))
    expect(reserved_row).to_contain_text(t("未登録 (予約済み)"))
    expect(reserved_row).to_contain_text(t("未使用"))
    expect(reserved_row).to_contain_text(days_shown(19, prepared_on))
    content = page.content()
    assert device_key not in content and reserved not in content
    shot(page, "licences")

    # 30日以内に終了: the device whose licence ends in 10 days, and the reserved key.
    ending = t("30日以内に終了")
    main(page).get_by_role("link", name=re.compile(rf"^{re.escape(ending)} \(\d+\)$")).click()
    expect(page).to_have_url(re.compile(r"/licences\?filter=ending30$"))
    expect(
        main(page).get_by_role("link", name=re.compile(rf"^{re.escape(ending)}"))
    ).to_have_attribute("aria-current", "true")
    expect(licence_rows(page)).to_have_count(2)
    device_row = licence_rows(page).filter(has_text=mask_key(device_key))
    expect(device_row).to_contain_text(days_shown(10, prepared_on))
    expect(device_row).to_contain_text(t("使用中"))
    shot(page, "licences-ending30")

    # The CSV of the filtered list, as shown: masked keys.
    with page.expect_download() as saved:
        main(page).get_by_role("link", name=t("CSVダウンロード"), exact=True).click()
    download = saved.value
    assert re.fullmatch(r"licences-ending30-\d{8}\.csv", download.suggested_filename)
    path = download.path()
    body = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == t("ライセンスキー")
    assert {row[0] for row in rows[1:]} == {mask_key(device_key), mask_key(reserved)}
    assert device_key not in body and reserved not in body
    assert [row[-1] for row in rows[1:] if row[0] == mask_key(device_key)] == [first.name]
    expect(heading(page, t("ライセンス一覧"))).to_be_visible()

    # The device's name leads to its detail.
    device_row.get_by_role("link", name=first.name, exact=True).click()
    expect(heading(page, t("機器情報"))).to_be_visible()

    # The download is in 操作履歴.
    manage_menu(page).get_by_role("link", name=t("操作履歴"), exact=True).click()
    expect(heading(page, t("操作履歴"))).to_be_visible()
    expect(main(page)).to_contain_text(t("ライセンス一覧のダウンロード"))
    expect(main(page)).to_contain_text(t("ライセンス %(count)s件", count=2))
