"""Screenshots of the browser tests' screens, each checked with axe-core on the way.

They land in tests/e2e/screenshots/<language>/<test>/<nn>-<name>.png (ignored by git).
"""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page

from tests.support.language import BROWSER_LOCALE, LANGUAGE

SCREENSHOTS = Path(__file__).parents[1] / "e2e" / "screenshots" / LANGUAGE
AXE = Axe()

# shot(page, name): photograph the page and check it; returns the PNG's path.
Shot = Callable[[Page, str], Path]


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


@contextmanager
def screenshots(test_name: str, *, js: bool) -> Iterator[Shot]:
    """Yield shot(page, name) for the test *test_name*, whose pages run with or without *js*.

    Each screen photographed must also pass axe-core's checks (WCAG 2.x A and AA, and best
    practices). The test's folder starts empty; the screenshots are numbered in order.
    """
    folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "-", test_name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    numbers = itertools.count(1)
    scratch: list[BrowserContext] = []

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

    try:
        yield take
    finally:
        for context in scratch:
            context.close()
