"""The browser of the browser tests: which Chromium, its switches, and what fails a test."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Playwright, Response

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


def watch(context: BrowserContext, problems: list[str]) -> None:
    """Collect a server error, a script error or a CSP violation in *context* into *problems*."""

    def on_response(response: Response) -> None:
        if response.status >= 500:
            problems.append(f"HTTP {response.status} from {response.url}")

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            where = message.page.url if message.page else "?"
            problems.append(f"CSP violation on {where}: {message.text}")

    context.on("response", on_response)
    context.on("console", on_console)
    context.on("weberror", lambda error: problems.append(f"script error: {error.error}"))


def check_after(page: Page, js: bool, problems: list[str]) -> None:
    if js and not page.is_closed():
        # Otherwise the "js" runs would silently test the plain pages a second time.
        assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
    assert not problems, problems
