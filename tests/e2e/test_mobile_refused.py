"""The login site refuses smartphones and tablets (ログインはパソコンから行ってください)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import watched_context
from tests.support.language import BROWSER_LOCALE, t
from tests.support.pages import heading
from tests.support.screenshots import Shot

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1"
)


PHONES = [(IPHONE, {"width": 390, "height": 844}), (IPAD, {"width": 820, "height": 1180})]


@pytest.mark.parametrize(("user_agent", "viewport"), PHONES, ids=["iphone", "ipad"])
def test_login_from_a_smartphone_or_tablet_is_refused(
    browser: Browser, base_url: str, shot: Shot, user_agent: str, viewport: dict[str, int]
) -> None:
    """A phone or tablet gets the refusal on /login, and no password field to fill."""
    with watched_context(
        browser,
        base_url=base_url,
        user_agent=user_agent,
        viewport=viewport,
        is_mobile=True,
        has_touch=True,
        locale=BROWSER_LOCALE,
    ) as context:
        page = context.new_page()
        response = page.goto("/login")
        assert response is not None
        assert response.status == 403
        expect(heading(page, t("ログインはパソコンから行ってください"))).to_be_visible()
        expect(page.get_by_label(t("パスワード"), exact=True)).to_have_count(0)
        expect(page.locator("input[type=password]")).to_have_count(0)
        expect(page.get_by_role("button", name=t("ログイン"), exact=True)).to_have_count(0)
        shot(page, "refused")


@pytest.mark.parametrize(("user_agent", "viewport"), PHONES, ids=["iphone", "ipad"])
def test_a_phone_opening_the_portal_is_refused_without_being_asked_to_log_in(
    browser: Browser, base_url: str, shot: Shot, user_agent: str, viewport: dict[str, int]
) -> None:
    """The portal's address sends a phone to the refusal, which asks for no login it refuses."""
    with watched_context(
        browser,
        base_url=base_url,
        user_agent=user_agent,
        viewport=viewport,
        is_mobile=True,
        has_touch=True,
        locale=BROWSER_LOCALE,
    ) as context:
        page = context.new_page()
        response = page.goto("/devices")
        assert response is not None
        assert response.status == 403
        expect(heading(page, t("ログインはパソコンから行ってください"))).to_be_visible()
        expect(page.get_by_role("status")).to_have_text("")
        expect(page.get_by_text(t("ログインしてください。"))).to_have_count(0)
        shot(page, "refused-from-the-portal")


def test_the_refusal_fits_a_phone_screen(browser: Browser, base_url: str) -> None:
    """The refusal is readable on the phone it refuses: no page wider than the screen."""
    with watched_context(
        browser,
        base_url=base_url,
        user_agent=IPHONE,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale=BROWSER_LOCALE,
    ) as context:
        page = context.new_page()
        page.goto("/login")
        expect(heading(page, t("ログインはパソコンから行ってください"))).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
