"""A camera reports to the portal: its image appears on the tile, in 機器情報 and 録画一覧.

The camera is the fake one of `flask fake-camera`, talking HTTP to the live portal with
the secret that 機器設定 shows once, exactly as a contractor would copy it into a device.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import t
from tests.support.live_portal import LivePortal
from tests.support.pages import detail_value, heading, login, main, open_detail, open_manage
from tests.support.screenshots import Shot
from webapp.dev.fakecamera import FakeCamera


def test_a_fake_cameras_image_appears_on_the_portal(
    page: Page, live_portal: LivePortal, demo_contract: Callable[..., DemoContract], shot: Shot
) -> None:
    contract = demo_contract(devices=3)
    camera = next(device for device in contract.devices if device.is_camera)
    login(page, contract.email, contract.password)
    open_manage(page, t("機器管理"), t("機器一覧"))
    open_detail(page, camera.name)

    # 機器設定 shows the device's secret this once.
    main(page).get_by_role("button", name=t("機器設定"), exact=True).click()
    secret_field = page.get_by_role("textbox", name=t("機器認証キー"), exact=True)
    expect(secret_field).to_be_visible()
    shot(page, "secret-shown-once")
    secret = secret_field.input_value()
    assert len(secret) >= 32

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
