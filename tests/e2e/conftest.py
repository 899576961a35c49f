"""Browser fixtures: Chromium, a live portal on its own database, demo contracts, screenshots.

The portal runs as in production (TESTING off, CSRF on) on a database built by the
migrations (a SQLite file, or a PostgreSQL database when TEST_DATABASE_URL is set), served by
Werkzeug in a thread, and sends its mail over SMTP to a real local server (aiosmtpd) whose
mailbox the tests read. Every flow runs twice: with JavaScript (htmx swaps) and without
(plain HTML pages).

Every screen a test photographs is also checked with axe-core: a violation fails the test.

The browser speaks the language of E2E_LANGUAGE ("ja", the default, or "en"); the portal
answers in it (demo users have no saved language, so Accept-Language decides). Tests find
the screens' texts through t(), which looks the Japanese up in the compiled English catalog.
"""

from __future__ import annotations

import functools
import itertools
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, Playwright
from pytest_playwright import CreateContextCallback

from tests.support.browser import CHROMIUM_ARGS, VIEWPORT, check_after, chromium_executable, watch
from tests.support.demo_contracts import DemoContract, make_demo_contract
from tests.support.language import BROWSER_LOCALE, LANGUAGE
from tests.support.live_portal import LivePortal, running_portal
from tests.support.mail import Mailbox, MailServer, running_mail_server

REPO = Path(__file__).parents[2]


SCREENSHOTS = Path(__file__).parent / "screenshots" / LANGUAGE


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
def page(page: Page, js: bool) -> Iterator[Page]:
    """The test's page; a server error, a script error or a CSP violation fails the test."""
    problems: list[str] = []
    watch(page.context, problems)
    yield page
    check_after(page, js, problems)


@pytest.fixture
def second_page(new_context: CreateContextCallback, js: bool) -> Iterator[Page]:
    """A page in a browser of its own (another person's PC): same settings, its own cookies.

    Watched like `page`: a server error, a script error or a CSP violation fails the test.
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

AXE = Axe()


def accessibility_violations(page: Page) -> list[str]:
    """Run axe-core on the page as it stands and describe each violation, with where it is."""
    found = AXE.run(page).response["violations"]
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in found
    ]


def load_copy(scratch: Page, page: Page) -> Page:
    """Show in *scratch* the document *page* shows, styled, with none of its scripts run.

    axe-core needs JavaScript, which the "nojs" runs switch off: they are checked on a copy
    of their document in a page that has it (the portal's own scripts are refused there).
    """
    html, url = page.content(), page.url
    scratch.unroute_all()
    scratch.route("**/*.js", lambda route: route.abort())
    scratch.route(
        lambda address: address == url,
        lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"),
    )
    scratch.goto(url)
    return scratch


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Iterator[Callable[[Page, str], Path]]:
    """Return shot(page, name): a full-page PNG in screenshots/<language>/<test>/<nn>-<name>.png.

    The screen must also pass axe-core's checks (WCAG 2.x A and AA, and best practices).
    """
    folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    numbers = itertools.count(1)
    scratch: list[BrowserContext] = []
    # Only the tests run with and without JavaScript (the `js` fixture) ever switch it off.
    callspec = getattr(request.node, "callspec", None)
    js = callspec is None or callspec.params.get("js", "js") == "js"

    def checked(page: Page) -> Page:
        if js:
            return page
        if not scratch:
            assert page.context.browser is not None
            scratch.append(page.context.browser.new_context(locale=BROWSER_LOCALE))
        pages = scratch[0].pages
        return load_copy(pages[0] if pages else scratch[0].new_page(), page)

    def take(page: Page, name: str) -> Path:
        path = folder / f"{next(numbers):02d}-{name}.png"
        # caret="initial": hiding the caret leaves style="" on every input, which htmx then
        # copies onto swapped-in inputs, a style attribute that the portal's CSP refuses.
        page.screenshot(path=path, full_page=True, animations="disabled", caret="initial")
        violations = accessibility_violations(checked(page))
        assert not violations, f"{path.name}: " + "; ".join(violations)
        return path

    yield take
    for context in scratch:
        context.close()
