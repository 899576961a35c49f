"""Every screen a contractor reaches by its links, and every part htmx swaps on them, opens
without a console error.

The `page` fixture fails the test on a console error (a Content Security Policy violation,
a script's or htmx's error), a resource that does not load or a server error: this walks
the links of the portal from its first page, so that a screen or a swap no flow visits is
looked at too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page

from tests.support.demo_contracts import DemoContract
from tests.support.pages import login

# Files rather than screens: images, downloads and exports.
NOT_A_SCREEN = re.compile(r"/content$|/download$|\.(csv|json|zip)$")


def shape(path: str) -> str:
    """/devices/12/licence and /devices/7/licence are the same screen."""
    return re.sub(r"/\d+", "/N", path)


def swap_every_part(page: Page, swapped: set[str]) -> None:
    """Follow each link that htmx swaps a part with (tabs, columns, pages, screen links), each
    kind once."""
    addresses = page.locator("a[hx-get]").evaluate_all(
        "links => links.map(link => link.getAttribute('hx-get'))"
    )
    for address in addresses:
        target = urlsplit(address)
        here = shape(urlsplit(page.url).path)
        kind = f"{here} -> {shape(target.path)}?{sorted(parse_qs(target.query))}"
        link = page.locator(f'a[hx-get="{address}"]').first
        if kind in swapped or not link.is_visible():
            continue  # seen, or gone with an earlier swap
        swapped.add(kind)
        with page.expect_response(lambda response, wanted=address: response.url.endswith(wanted)):
            link.click()
        page.wait_for_function("() => !document.querySelector('.htmx-request')")


def test_every_linked_screen_opens_cleanly(
    page: Page, js: bool, demo_contract: Callable[..., DemoContract]
) -> None:
    contract = demo_contract(devices=5)  # the fifth is on ライブ映像
    login(page, contract.email, contract.password)

    to_visit, visited, swapped = ["/"], set(), set[str]()
    while to_visit:
        address = to_visit.pop(0)
        if shape(urlsplit(address).path) in visited:
            continue
        visited.add(shape(urlsplit(address).path))
        response = page.goto(address)
        assert response is not None
        assert response.status == 200, f"{address} answered {response.status}"
        links = page.locator("a[href]").evaluate_all(
            "links => links.map(link => link.getAttribute('href'))"
        )
        for href in links:
            target = urlsplit(href)
            if target.scheme or target.netloc or not target.path.startswith("/"):
                continue  # another site (サービス情報サイト, ユーザーサポート) or a fragment
            if NOT_A_SCREEN.search(target.path):
                continue
            to_visit.append(target.path + (f"?{target.query}" if target.query else ""))
        if js:
            swap_every_part(page, swapped)

    # The screens of the portal that a contractor's links lead to, at least.
    assert {
        "/",
        "/devices",
        "/devices/N",
        "/devices/N/licence",
        "/devices/N/service",
        "/devices/N/edit",
        "/devices/N/delete",
        "/devices/N/exchange",
        "/devices/new",
        "/devices/N/recordings",
        "/devices/N/recordings/N",
        "/devices/N/live",
        "/licences",
        "/users",
        "/account",
        "/account/edit",
        "/account/withdraw",
        "/notifications",
        "/history",
        "/terms",
    } <= visited, visited
    if js:
        assert swapped, "no part of any screen was swapped"
