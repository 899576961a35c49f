"""A camera reports to the portal: 機器設定 never cuts it off, and its image appears.

The camera is the fake one of `flask fake-camera`, talking HTTP to the live portal with
the secret that 機器設定 shows once, exactly as a contractor would copy it into a device.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import in_language, t, t_pattern
from tests.support.live_portal import LivePortal
from tests.support.pages import (
    confirm_device_setup,
    detail_value,
    heading,
    login,
    main,
    messages,
    open_detail,
    open_manage,
)
from tests.support.screenshots import Shot
from webapp import clock
from webapp.dev.fakecamera import ApiError, FakeCamera
from webapp.extensions import db
from webapp.models import Device
from webapp.services.device_reports import replace_api_secret

PENDING = t_pattern(
    "機器が新しい機器認証キーで接続すると、機器設定が完了します。"
    "それまで機器は以前のキーで接続できます (%(until)sまで)。",
    until=r"\d{4}[/-]\d{2}[/-]\d{2} \d{2}:\d{2}",
)
SETUP_DONE = t_pattern("✓完了 (設定日時: %(at)s)", at=r"\d{4}[/-]\d{2}[/-]\d{2} \d{2}:\d{2}")
SETUP_TEXT = t(
    "この機器の新しい機器認証キーを発行します。機器設定を完了するには、"
    "発行された新しいキーを機器に設定してください。機器が新しいキーで接続すると、"
    "機器設定が完了します。"
)


def setup_done(at_iso: str, live_portal: LivePortal) -> str:
    """「✓完了 (設定日時: …)」 for a moment the API gave, as 機器情報 writes it."""
    moment = dt.datetime.fromisoformat(at_iso).astimezone(dt.UTC).replace(tzinfo=None)
    with live_portal.app.app_context():
        local = clock.local(moment)
    written = local.strftime(in_language(ja="%Y/%m/%d %H:%M", en="%Y-%m-%d %H:%M"))
    return t("✓完了 (設定日時: %(at)s)", at=written)


def test_setup_asks_first_and_never_cuts_off_a_working_camera(
    page: Page, live_portal: LivePortal, demo_contract: Callable[..., DemoContract], shot: Shot
) -> None:
    contract = demo_contract(devices=3)
    camera = next(device for device in contract.devices if device.is_camera)
    # The camera works with the secret it was set up with earlier.
    with live_portal.app.app_context():
        old_secret = replace_api_secret(db.session.get(Device, camera.id))
    fake = FakeCamera(live_portal.url, camera.id, old_secret, label="E2E")
    first = fake.heartbeat()
    login(page, contract.email, contract.password)
    open_manage(page, t("機器管理"), t("機器一覧"))
    open_detail(page, camera.name)
    expect(detail_value(page, t("通信状態"))).to_have_text(t("通信中"))
    expect(detail_value(page, t("機器設定"))).to_have_text(SETUP_DONE)
    done_before = detail_value(page, t("機器設定")).inner_text()

    # 1. 「機器設定」 asks first: what happens, and 「キャンセル」, which changes nothing.
    main(page).get_by_role("button", name=t("機器設定"), exact=True).click()
    expect(heading(page, t("機器設定"))).to_be_visible()
    expect(main(page)).to_contain_text(SETUP_TEXT)
    expect(detail_value(page, t("機器名"))).to_have_text(camera.name)
    expect(detail_value(page, t("ドメイン名"))).to_have_text(camera.domain)
    shot(page, "setup-confirmation")
    main(page).get_by_role("link", name=t("キャンセル"), exact=True).click()
    expect(heading(page, t("機器情報"))).to_be_visible()
    expect(detail_value(page, t("機器設定"))).to_have_text(done_before)
    expect(page.get_by_role("textbox", name=t("機器認証キー"), exact=True)).to_have_count(0)
    assert fake.heartbeat()["service_status"] == first["service_status"] == "active"

    # 2. Confirmed: the new secret is shown this once; 未完了 and 設定待ち until the camera
    #    reports with it.
    secret = confirm_device_setup(page)
    assert len(secret) >= 32 and secret != old_secret
    expect(messages(page)).to_contain_text(
        t(
            "機器「%(name)s」の新しい機器認証キーを発行しました。機器に設定してください。",
            name=camera.name,
        )
    )
    expect(detail_value(page, t("機器設定"))).to_have_text(t("未完了"))
    expect(detail_value(page, t("サービス稼働状態"))).to_have_text(t("設定待ち"))
    shot(page, "secret-shown-once")

    # 3. The camera, not set up yet, keeps working with its old secret.
    fake.run(interval=0, count=2, sleep=lambda _: None)
    assert fake.secret_expires_at is not None
    page.reload()
    expect(detail_value(page, t("通信状態"))).to_have_text(t("通信中"))
    expect(detail_value(page, t("機器設定"))).to_have_text(t("未完了"))
    expect(page.get_by_role("textbox", name=t("機器認証キー"), exact=True)).to_have_count(0)
    expect(main(page).get_by_text(PENDING)).to_be_visible()
    shot(page, "old-secret-still-works")

    # 4. Set up with the new one: its first heartbeat completes 機器設定, at its own time.
    fake.set_up(secret)
    answer = fake.heartbeat()
    assert answer["service_status"] == "active" and answer["api_secret_expires_at"] is None
    page.reload()
    expect(detail_value(page, t("機器設定"))).to_have_text(
        setup_done(answer["last_heartbeat_at"], live_portal)
    )
    expect(detail_value(page, t("サービス稼働状態"))).to_have_text(t("サービス有効"))
    expect(main(page).get_by_text(PENDING)).to_have_count(0)
    shot(page, "setup-complete")
    # The old secret is over for good.
    with pytest.raises(ApiError) as refused:
        FakeCamera(live_portal.url, camera.id, old_secret).heartbeat()
    assert refused.value.status == 401


def test_a_fake_cameras_image_appears_on_the_portal(
    page: Page, live_portal: LivePortal, demo_contract: Callable[..., DemoContract], shot: Shot
) -> None:
    contract = demo_contract(devices=3)
    camera = next(device for device in contract.devices if device.is_camera)
    login(page, contract.email, contract.password)
    open_manage(page, t("機器管理"), t("機器一覧"))
    open_detail(page, camera.name)
    secret = confirm_device_setup(page)

    # The camera, configured with it, reports twice.
    fake = FakeCamera(live_portal.url, camera.id, secret, label="E2E")
    fake.run(interval=0, count=2, sleep=lambda _: None)
    assert fake.sent == {"heartbeats": 2, "uploads": 2}
    newest = fake.upload()["id"]
    content = f"/devices/{camera.id}/recordings/{newest}/content"

    # 機器情報 shows 通信中 and the newest image; the secret is not shown again.
    page.goto(f"/devices/{camera.id}")
    expect(detail_value(page, t("通信状態"))).to_have_text(t("通信中"))
    expect(page.get_by_role("textbox", name=t("機器認証キー"), exact=True)).to_have_count(0)
    latest = page.locator(f'img[src="{content}"]')
    expect(latest).to_be_visible()
    assert latest.evaluate("image => image.complete && image.naturalWidth") == 640
    assert drawn_width(latest) <= 320  # the 640 px picture shrinks to fit its place
    shot(page, "detail-latest-image")

    # The portal's tile shows it too.
    page.goto("/")
    tile_image = page.locator(f'.tile img[src="{content}"]')
    expect(tile_image).to_be_visible()
    assert tile_image.evaluate("image => image.complete && image.naturalWidth") == 640
    shot(page, "portal-tile-image")

    # 録画一覧: newest first; the viewer opens it.
    tile_image.click()
    expect(heading(page, f"{t('録画一覧')}: {camera.name}")).to_be_visible()
    first = page.locator(".recording-tiles a").first
    expect(first).to_have_attribute("href", f"/devices/{camera.id}/recordings/{newest}")
    shot(page, "recordings-list")
    first.click()
    viewed = page.locator(f'figure img[src="{content}"]')
    expect(viewed).to_be_visible()
    assert drawn_width(viewed) <= 960
    shot(page, "recording-viewer")


def drawn_width(image: Locator) -> float:
    """The width *image* takes on the page once loaded, in CSS pixels."""
    expect(image).to_be_visible()
    image.page.wait_for_function("image => image.complete", arg=image.element_handle())
    box = image.bounding_box()
    assert box is not None
    return box["width"]


def test_small_images_are_shown_at_a_readable_size(
    page: Page, demo_contract: Callable[..., DemoContract], shot: Shot
) -> None:
    """The demo's stills are 64×36 pixels: the tile, 機器情報 and the viewer draw them larger."""
    contract = demo_contract(devices=3)
    login(page, contract.email, contract.password)

    tile_image = page.locator(".tile img").first
    assert drawn_width(tile_image) >= 200
    assert tile_image.evaluate("image => image.naturalWidth") == 64
    shot(page, "portal-tiles")
    recordings_url = page.locator(".tile a.tile-image").first.get_attribute("href")
    assert recordings_url is not None
    device_url = recordings_url.removesuffix("/recordings")

    page.goto(device_url)
    assert drawn_width(page.locator("img.latest-image")) >= 300
    shot(page, "detail-latest-image")

    page.goto(recordings_url)
    page.locator(".recording-tiles a").first.click()
    assert drawn_width(page.locator("figure img")) >= 600
    shot(page, "recording-viewer")
