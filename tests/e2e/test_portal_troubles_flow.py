"""The portal shows devices in trouble first: filter by 通信断 across pages, refresh."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import t
from tests.support.live_portal import LivePortal
from tests.support.pages import heading, login, query_of
from tests.support.screenshots import Shot
from webapp import clock
from webapp.enums import CommStatus, LicenceState, RecordingStatus, ServiceStatus, Trouble
from webapp.extensions import db
from webapp.models import Device

OFFLINE = 62  # more than a page of tiles (60)


def set_up_troubles(live_portal: LivePortal, account: DemoContract) -> None:
    """Make every device healthy, then OFFLINE of them 通信断 and one licence end in 10 days."""
    with live_portal.app.app_context():
        today = clock.today()
        for n, listed in enumerate(account.devices):
            device = db.session.get(Device, listed.id)
            assert device is not None
            device.comm_status = CommStatus.OFFLINE if n < OFFLINE else CommStatus.ONLINE
            device.recording_status = RecordingStatus.CONTINUOUS
            device.service_status = ServiceStatus.ACTIVE
            device.last_heartbeat_at = clock.utcnow() - dt.timedelta(minutes=n)
            device.licence.state = LicenceState.IN_USE
            device.licence.ends_on = today + dt.timedelta(days=10 if n == OFFLINE else 200)
        db.session.commit()


def take_offline(live_portal: LivePortal, device_id: int) -> None:
    with live_portal.app.app_context():
        device = db.session.get(Device, device_id)
        assert device is not None
        device.comm_status = CommStatus.OFFLINE
        db.session.commit()


def trouble_link(page: Page, trouble: Trouble) -> Locator:
    return page.get_by_role("navigation", name=t("問題のある機器")).get_by_role(
        "link", name=t(trouble.text)
    )


def tiles(page: Page) -> Locator:
    return page.locator(".tiles > li")


def test_filter_the_portal_by_offline_and_refresh(
    page: Page,
    js: bool,
    demo_contract: Callable[..., DemoContract],
    live_portal: LivePortal,
    shot: Shot,
) -> None:
    account = demo_contract(devices=OFFLINE + 3)
    set_up_troubles(live_portal, account)
    if js:
        # The tile area refreshes itself every 30 s: the browser's clock is moved on instead.
        page.clock.install()
    login(page, account.email, account.password)
    expect(heading(page, t("ポータル"))).to_be_visible()

    # The counts stand above the tiles, each a link.
    with_label = t("%(count)s台", count=OFFLINE)
    expect(trouble_link(page, Trouble.OFFLINE)).to_contain_text(with_label)
    expect(trouble_link(page, Trouble.LICENCE_ENDING)).to_contain_text(t("%(count)s台", count=1))
    expect(trouble_link(page, Trouble.SERVICE_STOPPED)).to_contain_text(t("%(count)s台", count=0))
    expect(page.get_by_text(t("最終通信日時")).first).to_be_visible()
    shot(page, "portal")

    # 通信断: only those tiles, over two pages, the filter kept in the URL.
    trouble_link(page, Trouble.OFFLINE).click()
    expect(page).to_have_url(f"{live_portal.url}/?trouble=offline")
    expect(tiles(page)).to_have_count(60)
    expect(
        page.get_by_text(
            t("表示中: %(trouble)s %(count)s台", trouble=t(Trouble.OFFLINE.text), count=OFFLINE)
        )
    ).to_be_visible()
    healthy = account.devices[-1].name
    expect(page.get_by_role("heading", level=2, name=healthy, exact=True)).to_have_count(0)
    shot(page, "offline")
    page.get_by_role("link", name=t("次へ"), exact=True).click()
    expect(tiles(page)).to_have_count(OFFLINE - 60)
    assert query_of(page.url) == {"trouble": ["offline"], "page": ["2"]}

    # Another device goes silent: a refresh shows it, on the same filter and page.
    take_offline(live_portal, account.devices[-1].id)
    refresh = page.get_by_role("link", name=t("最新の情報に更新"), exact=True)
    if js:
        refresh.focus()
        page.clock.run_for(31_000)
    else:
        refresh.click()
    expect(trouble_link(page, Trouble.OFFLINE)).to_contain_text(t("%(count)s台", count=OFFLINE + 1))
    expect(tiles(page)).to_have_count(OFFLINE + 1 - 60)
    expect(page.get_by_role("heading", level=2, name=healthy, exact=True)).to_be_visible()
    assert query_of(page.url) == {"trouble": ["offline"], "page": ["2"]}
    if js:
        expect(refresh).to_be_focused()  # the refresh does not lose a keyboard user's place
    expect(page.get_by_role("link", name=t("最新の情報に更新"), exact=True)).to_have_attribute(
        "href", "/?trouble=offline&page=2"
    )
    shot(page, "offline-page-2-refreshed")

    # A filter the portal does not know is refused with a message.
    response = page.goto("/?trouble=bogus")
    assert response is not None and response.status == 400
    expect(page.get_by_text(t("絞り込みの条件が正しくありません。"))).to_be_visible()
    page.get_by_role("link", name=t("すべての機器を表示"), exact=True).click()
    expect(tiles(page)).to_have_count(60)
