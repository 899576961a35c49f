"""「ログアウト」 says so, whatever the portal's images are doing meanwhile."""

from __future__ import annotations

import json
from collections.abc import Callable

from playwright.sync_api import Page, Route, expect

from tests.support.demo_contracts import DemoContract
from tests.support.language import t
from tests.support.pages import (
    heading,
    login,
    logout,
    menu_bar,
    messages,
    open_detail,
    open_device_list,
    tab,
)
from tests.support.screenshots import Shot


def is_image_of_a_recording(url: str) -> bool:
    return url.endswith("/content")


def test_logout_says_so_while_the_portals_images_are_still_loading(
    page: Page,
    demo_contract: Callable[..., DemoContract],
    browser_problems: list[str],
    shot: Shot,
) -> None:
    """Images of another tab reach the portal between the logout and the login page."""
    contract = demo_contract(devices=3)
    login(page, contract.email, contract.password)
    expect(heading(page, t("ポータル"))).to_be_visible()

    # A second tab shows the portal, its images held on their way.
    held: list[Route] = []
    released: list[bool] = []

    def hold_image(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    portal_tab = page.context.new_page()
    portal_tab.route(is_image_of_a_recording, hold_image)
    with portal_tab.expect_request(lambda request: is_image_of_a_recording(request.url)):
        portal_tab.goto("/", wait_until="domcontentloaded")

    def log_out_while_the_images_arrive(route: Route) -> None:
        """Let the portal log out, then have the images reach it, then answer the browser."""
        logged_out = route.fetch(max_redirects=0)
        released.append(True)
        for image in held:
            image.continue_()
        portal_tab.wait_for_load_state("load")
        route.fulfill(response=logged_out)

    page.route("**/logout", log_out_while_the_images_arrive)
    menu_bar(page).get_by_role("button", name=t("ログアウト"), exact=True).click()

    expect(heading(page, t("ユーザーポータルログイン"))).to_be_visible()
    expect(messages(page)).to_have_text(t("ログアウトしました。"))
    shot(page, "logged-out")
    page.reload()
    expect(heading(page, t("ユーザーポータルログイン"))).to_be_visible()
    expect(messages(page)).to_have_text("")

    # The portal tab's images reached the portal after the logout, and were refused: nothing
    # to show without a login, and nothing left for the next page.
    refused = [
        problem
        for problem in browser_problems
        if problem.startswith("HTTP 401 for the image ") and problem.endswith("/content")
    ]
    assert len(refused) == len(held) > 0
    browser_problems[:] = [problem for problem in browser_problems if problem not in refused]


STORED = "JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])"


def test_logout_leaves_nothing_of_the_contract_in_the_browser(
    page: Page, js: bool, demo_contract: Callable[..., DemoContract], shot: Shot
) -> None:
    """No htmx history snapshot is kept, what the tab stored is cleared, and going back
    after 「ログアウト」 shows the login page, not the contract's last screen."""
    contract = demo_contract(devices=3)
    device = contract.devices[0]
    login(page, contract.email, contract.password)
    open_device_list(page)
    open_detail(page, device.name)
    tab(page, t("ライセンス情報")).click()
    expect(tab(page, t("ライセンス情報"))).to_have_attribute("aria-current", "page")
    if js:
        # htmx pushed the tab's URL without keeping the screen it left (the device's details).
        assert device.mac not in page.evaluate(STORED)
        assert page.evaluate("sessionStorage.getItem('htmx-history-cache')") is None
        page.evaluate(
            "sessionStorage.setItem('left', 'in the tab'); localStorage.setItem('left', 'here')"
        )

    logout(page)
    if js:
        # Only what the login page itself keeps: htmx's note of the page it is on.
        session, local = json.loads(page.evaluate(STORED))
        assert dict(session) == {"htmx-current-path-for-history": "/login"}
        assert local == []
    page.go_back()
    expect(heading(page, t("ユーザーポータルログイン"))).to_be_visible()
    expect(page.get_by_text(device.mac)).to_have_count(0)
    shot(page, "back-after-logout")
