"""A plan decides what is stored: ライブ映像 keeps the newest image only, 録画 7日 seven days.

A ライブ映像 device never shows nor accepts recordings: its tile and 機器情報 lead to the
ライブ映像 view (which brings the newest image by itself, or by its link without
JavaScript), 録画状態 reads 録画なし, 録画一覧 is not offered, and the camera's clip is
refused. A 録画 7日 recording captured 8 days ago is gone from 録画一覧 before the
retention job runs, and after it (with its file).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from tests.support.demo_contracts import DemoContract, DemoDevice
from tests.support.language import t
from tests.support.live_portal import LivePortal
from tests.support.pages import detail_value, heading, login, main, open_detail, open_manage
from tests.support.screenshots import Shot
from webapp import clock, storage
from webapp.dev.fakecamera import FakeCamera, draw_image
from webapp.enums import Plan, RecordingKind
from webapp.extensions import db
from webapp.models import Device, Recording
from webapp.services.device_reports import replace_api_secret
from webapp.services.retention import prune_recordings

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


def device_on(contract: DemoContract, plan: Plan) -> DemoDevice:
    return next(device for device in contract.devices if device.plan is plan)


def camera_for(live_portal: LivePortal, device: DemoDevice) -> FakeCamera:
    """The device's camera, with a secret issued for it (as 機器設定 would)."""
    with live_portal.app.app_context():
        secret = replace_api_secret(db.session.get(Device, device.id))
    return FakeCamera(live_portal.url, device.id, secret, label="E2E")


def recordings_of(live_portal: LivePortal, device_id: int) -> list[int]:
    with live_portal.app.app_context():
        return list(
            db.session.scalars(
                select(Recording.id).where(Recording.device_id == device_id).order_by(Recording.id)
            )
        )


def content_url(device_id: int, recording_id: int) -> str:
    return f"/devices/{device_id}/recordings/{recording_id}/content"


def test_a_live_only_device_never_shows_or_accepts_recordings(
    page: Page,
    js: bool,
    live_portal: LivePortal,
    demo_contract: Callable[..., DemoContract],
    shot: Shot,
) -> None:
    contract = demo_contract(devices=5)
    device = device_on(contract, Plan.LIVE)
    camera = camera_for(live_portal, device)

    # The camera is told that its plan records nothing, and its clip is refused.
    answer = camera.heartbeat("continuous")
    assert answer["recording_status"] == "none"
    assert (answer["licence"]["records"], answer["licence"]["retention_days"]) == (False, None)
    first = camera.upload()["id"]
    clip = page.request.post(
        f"{live_portal.url}/api/v1/devices/{device.id}/recordings",
        headers={
            "Authorization": f"Bearer {camera.secret}",
            "Content-Type": "video/mp4",
            "Idempotency-Key": "e2e-clip",
            "X-Captured-At": dt.datetime.now(dt.UTC).isoformat(),
        },
        data=MP4,
    )
    assert clip.status == 403 and clip.json()["error"] == "plan_records_nothing"
    assert recordings_of(live_portal, device.id) == [first]  # the newest image, nothing else

    # The portal: its tile shows the image and 録画なし, and leads to ライブ映像.
    login(page, contract.email, contract.password)
    tile = page.locator(".tile").filter(has=page.get_by_role("heading", name=device.name))
    expect(tile.get_by_text(t("録画なし"), exact=True)).to_be_visible()
    expect(tile.get_by_text(t("常時録画中"), exact=True)).to_have_count(0)
    image_link = tile.locator("a.tile-image")
    expect(image_link).to_have_attribute("href", f"/devices/{device.id}/live")
    expect(tile.locator(f'img[src="{content_url(device.id, first)}"]')).to_be_visible()
    shot(page, "portal-live-tile")

    # ライブ映像 shows the newest image, and the next one as it arrives.
    image_link.click()
    expect(heading(page, f"{t('ライブ映像')}: {device.name}")).to_be_visible()
    expect(page.locator(f'figure img[src="{content_url(device.id, first)}"]')).to_be_visible()
    # Its automatic refresh, and the pause of it, are there only where they work.
    pause = main(page).get_by_role("link", name=t("自動更新を停止"), exact=True)
    expect(pause).to_be_visible() if js else expect(pause).to_be_hidden()
    shot(page, "live-view")
    newer = camera.upload()["id"]
    assert recordings_of(live_portal, device.id) == [newer]  # it replaced the one before
    if js:
        # htmx asks again every 10 s, by itself.
        expect(page.locator(f'figure img[src="{content_url(device.id, newer)}"]')).to_be_visible(
            timeout=20_000
        )
    else:
        main(page).get_by_role("link", name=t("最新の画像に更新"), exact=True).click()
        expect(page.locator(f'figure img[src="{content_url(device.id, newer)}"]')).to_be_visible()
    shot(page, "live-view-refreshed")

    # 機器情報: 録画なし, and ライブ映像 where 録画一覧 would be.
    page.goto("/")
    open_manage(page, t("機器管理"), t("機器一覧"))
    open_detail(page, device.name)
    expect(detail_value(page, t("録画状態"))).to_have_text(t("録画なし"))
    expect(main(page).get_by_role("link", name=t("ライブ映像"), exact=True)).to_be_visible()
    expect(main(page).get_by_role("link", name=t("録画一覧"), exact=True)).to_have_count(0)
    shot(page, "detail-live-only")

    # 録画一覧 is not offered, even by its address.
    response = page.goto(f"/devices/{device.id}/recordings")
    assert response is not None and response.status == 404
    expect(heading(page, t("この機器の録画はありません。"))).to_be_visible()
    expect(
        page.get_by_text(
            t(
                "加入サービス「%(plan)s」では録画は保存されず、最新の画像だけが表示されます。",
                plan=t("ライブ映像"),
            )
        )
    ).to_be_visible()
    shot(page, "no-recordings-list")
    page.get_by_role("link", name=t("ライブ映像へ"), exact=True).click()
    expect(heading(page, f"{t('ライブ映像')}: {device.name}")).to_be_visible()


def test_a_seven_day_recording_captured_8_days_ago_is_gone_before_and_after_the_job(
    page: Page,
    live_portal: LivePortal,
    demo_contract: Callable[..., DemoContract],
    shot: Shot,
) -> None:
    contract = demo_contract(devices=2)
    device = device_on(contract, Plan.RECORDING_7)
    app = live_portal.app
    with app.app_context():
        now = clock.utcnow()
        prefix = storage.device_prefix(contract.contract_id, device.id)
        rows = {}
        for name, days in (("old", 8), ("week", 6)):
            captured_at = now - dt.timedelta(days=days)
            image = draw_image(captured_at.replace(tzinfo=dt.UTC), "E2E")
            rows[name] = Recording(
                device_id=device.id,
                kind=RecordingKind.IMAGE,
                captured_at=captured_at,
                content_type="image/jpeg",
                size_bytes=len(image),
                storage_key=f"{prefix}/e2e-{name}.jpg",
            )
            storage.write(rows[name].storage_key, image, content_type="image/jpeg")
            db.session.add(rows[name])
        db.session.commit()
        old, week = rows["old"].id, rows["week"].id
        old_file = storage.path_for(rows["old"].storage_key)
        listed = db.session.scalar(
            select(func.count()).select_from(Recording).where(Recording.device_id == device.id)
        )
    shown = listed - 1  # all but the one captured 8 days ago

    def expect_the_list_without_it(name: str) -> None:
        page.goto(f"/devices/{device.id}/recordings")
        expect(heading(page, f"{t('録画一覧')}: {device.name}")).to_be_visible()
        expect(page.get_by_text(t("録画: %(count)s件 (新しい順)", count=shown))).to_be_visible()
        expect(page.locator(f'a[href="/devices/{device.id}/recordings/{week}"]')).to_have_count(1)
        expect(page.locator(f'a[href="/devices/{device.id}/recordings/{old}"]')).to_have_count(0)
        shot(page, name)
        for path in (f"/recordings/{old}", f"/recordings/{old}/content"):
            response = page.goto(f"/devices/{device.id}{path}")
            assert response is not None and response.status == 404

    login(page, contract.email, contract.password)
    expect_the_list_without_it("before-the-job")
    assert Path(old_file).exists()  # hidden, not yet removed

    with app.app_context():
        assert prune_recordings().recordings == 1
    assert not Path(old_file).exists()
    assert old not in recordings_of(live_portal, device.id)
    expect_the_list_without_it("after-the-job")
