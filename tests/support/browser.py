"""The browser of the browser tests: which Chromium, its switches, and what fails a test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
)

DEBIAN_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Both EXCLUDEs are needed: the live server is on 127.0.0.1, nothing else is reachable.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
# The desktop screen the flows are written for.
VIEWPORT = {"width": 1366, "height": 900}


def chromium_executable(playwright: Playwright) -> str:
    """Return Playwright's own Chromium when it is installed, else Debian's."""
    bundled = playwright.chromium.executable_path
    if os.path.exists(bundled):
        return bundled
    if os.path.exists(DEBIAN_CHROMIUM):
        return DEBIAN_CHROMIUM
    pytest.fail(
        f"No Chromium found (neither {bundled} nor {DEBIAN_CHROMIUM}): "
        "run `make setup` and `scripts/setup chromium` first.",
        pytrace=False,
    )


# What a screen is fetched as: a page, or a part of one that htmx asks for.
SCREENS = frozenset({"document", "xhr", "fetch"})
# How Chromium reports, in the console, a response whose status is 4xx or 5xx.
STATUS_REPORT = "Failed to load resource: the server responded with a status of "


def watch(context: BrowserContext, problems: list[str]) -> None:
    """Collect into *problems* what goes wrong in *context*'s pages, whatever the test checks.

    That is every console error (a Content Security Policy violation, a script's or htmx's
    error log, a request that failed), every script error, every server error, and any
    image, style sheet, script or font that did not load. A screen answered with 4xx is the
    portal's answer (a refused form 422, a conflict 409, something already deleted 410, a
    failed login 401): the tests check those statuses themselves, so the console's report
    of the status of a page or a swap is left to them.
    """

    def on_response(response: Response) -> None:
        kind = response.request.resource_type
        if response.status >= 500:
            problems.append(f"HTTP {response.status} from {response.url}")
        elif response.status >= 400 and kind not in SCREENS:
            problems.append(f"HTTP {response.status} for the {kind} {response.url}")

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error" or message.text.startswith(STATUS_REPORT):
            return  # a status: judged above, where it is known what was asked for
        where = message.page.url if message.page else "?"
        source = message.location.get("url") or "?"
        problems.append(f"console error on {where} (from {source}): {message.text}")

    context.on("response", on_response)
    context.on("console", on_console)
    context.on("weberror", lambda error: problems.append(f"script error: {error.error}"))


@contextmanager
def watched_context(browser: Browser, **options: Any) -> Iterator[BrowserContext]:
    """A browser context of a test's own (a phone, a window of another size), watched as the
    `page` fixture's is: what goes wrong in it fails the test."""
    context = browser.new_context(**options)
    problems: list[str] = []
    watch(context, problems)
    try:
        yield context
    finally:
        context.close()
    assert not problems, problems


def check_after(page: Page, js: bool, problems: list[str]) -> None:
    if js and not page.is_closed() and page.url != "about:blank":
        # Otherwise the "js" runs would silently test the plain pages a second time. (A test
        # that failed before its first page has its own error to show.)
        assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
    assert not problems, problems
