"""Fixtures of the browser tests, by concern; the code behind them is in tests/support.

- Browser (support/browser.py): Chromium, and every flow run twice, with JavaScript
  (htmx swaps) and without (plain HTML pages); a server error, a console error (a CSP
  violation, a script's error) or a resource that did not load fails the test.
- Mail (support/mail.py): a real SMTP server on loopback (aiosmtpd) whose mailbox the
  tests read.
- The live portal (support/live_portal.py): the portal as in production (TESTING off,
  CSRF on) on a migrated database of its own, served by Werkzeug in a thread.
- Demo contracts (support/demo_contracts.py): fresh contracts seeded as `seed-demo` does.
- Screenshots and accessibility (support/screenshots.py): every screen a test photographs
  is also checked with axe-core; a violation fails the test.

The run's language (E2E_LANGUAGE, "ja" or "en") and t(), which gives a screen's text in it,
are in support/language.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Playwright
from pytest_playwright import CreateContextCallback

from tests.support.browser import CHROMIUM_ARGS, VIEWPORT, check_after, chromium_executable, watch
from tests.support.demo_contracts import DemoContract, make_demo_contract
from tests.support.language import BROWSER_LOCALE
from tests.support.live_portal import LivePortal, running_portal
from tests.support.mail import Mailbox, MailServer, running_mail_server
from tests.support.screenshots import Shot, screenshots

# --- Browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], playwright: Playwright
) -> dict[str, Any]:
    """Launch Playwright's own Chromium when it is installed, else Debian's."""
    executable = chromium_executable(playwright)
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@pytest.fixture(params=["js", "nojs"])
def js(request: pytest.FixtureRequest) -> bool:
    """Run the test with JavaScript on (htmx swaps) and off (plain pages)."""
    return request.param == "js"


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any], js: bool) -> dict[str, Any]:
    """A desktop browser in the run's language, with or without JavaScript."""
    return {
        **browser_context_args,
        "java_script_enabled": js,
        "locale": BROWSER_LOCALE,
        "viewport": VIEWPORT,
    }


@pytest.fixture
def browser_problems() -> list[str]:
    """What has gone wrong so far in `page`'s browser; a test takes out what it caused."""
    return []


@pytest.fixture
def page(page: Page, js: bool, browser_problems: list[str]) -> Iterator[Page]:
    """The test's page; a server error, a console error or a resource that did not load
    fails the test."""
    watch(page.context, browser_problems)
    yield page
    check_after(page, js, browser_problems)


@pytest.fixture
def second_page(new_context: CreateContextCallback, js: bool) -> Iterator[Page]:
    """A page in a browser of its own (another person's PC): same settings, its own cookies.

    Watched like `page`: a server error, a console error or a resource that did not load
    fails the test.
    """
    context = new_context()
    problems: list[str] = []
    watch(context, problems)
    other = context.new_page()
    yield other
    check_after(other, js, problems)


# --- Mail ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailServer]:
    """A real SMTP server on loopback that the live portal sends every mail to."""
    with running_mail_server() as server:
        yield server


@pytest.fixture
def mailbox(mail_server: MailServer) -> Mailbox:
    """The mails the live portal has sent (the whole session's: use addresses of your own)."""
    return mail_server.mailbox


# --- The live portal -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_portal(
    tmp_path_factory: pytest.TempPathFactory, mail_server: MailServer
) -> Iterator[LivePortal]:
    """The portal served on 127.0.0.1 from its own database, its mail going to `mail_server`."""
    with running_portal(tmp_path_factory.mktemp("e2e-portal"), mail_server) as portal:
        yield portal


@pytest.fixture(scope="session")
def base_url(live_portal: LivePortal) -> str:
    """Point page.goto("/…") at the live portal."""
    return live_portal.url


# --- Demo contracts --------------------------------------------------------------------------


@pytest.fixture
def demo_contract(live_portal: LivePortal) -> Callable[[int], DemoContract]:
    """Return a maker of fresh demo contracts, each with its own e-mail address."""
    return functools.partial(make_demo_contract, live_portal.app)


# --- Screenshots and accessibility -----------------------------------------------------------


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Iterator[Shot]:
    """Return shot(page, name): a full-page PNG in screenshots/<language>/<test>/<nn>-<name>.png.

    The screen must also pass axe-core's checks (WCAG 2.x A and AA, and best practices).
    """
    # Only the tests run with and without JavaScript (the `js` fixture) ever switch it off.
    callspec = getattr(request.node, "callspec", None)
    js = callspec is None or callspec.params.get("js", "js") == "js"
    with screenshots(request.node.name, js=js) as take:
        yield take
