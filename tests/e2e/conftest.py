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

import email
import gettext
import itertools
import os
import re
import shutil
import socket
import threading
import uuid
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from axe_playwright_python.sync_playwright import Axe
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Playwright, Response
from pytest_playwright import CreateContextCallback
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.databases import create_database, drop_database
from webapp import create_app
from webapp.dev.demo import seed_demo
from webapp.enums import LicenceState
from webapp.extensions import db
from webapp.models import Device, User

REPO = Path(__file__).parents[2]
HTMX = REPO / "webapp" / "static" / "vendor" / "htmx.min.js"
TRANSLATIONS = REPO / "webapp" / "translations"
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
# Variables that would point the live server at another database, key or folder.
PORTAL_ENV_VARS = ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEYS", "RECORDINGS_DIR", "PORTAL_ENV")
# How long a mail may take to reach the local SMTP server (it is sent during the request,
# so it is normally there before the browser shows the answer).
MAIL_TIMEOUT = 10.0
DEMO_PASSWORD = "e2e-demo-pass-2026"
SERVICE_NAME = "みえますねっと"


# --- Language --------------------------------------------------------------------------------

LANGUAGE = os.environ.get("E2E_LANGUAGE", "ja") or "ja"
if LANGUAGE not in ("ja", "en"):
    raise pytest.UsageError(f"E2E_LANGUAGE must be 'ja' or 'en', not {LANGUAGE!r}")
BROWSER_LOCALE = {"ja": "ja-JP", "en": "en-US"}[LANGUAGE]
SCREENSHOTS = Path(__file__).parent / "screenshots" / LANGUAGE


def _load_catalog() -> gettext.NullTranslations:
    """The compiled catalog of the run's language (none for Japanese, the msgids)."""
    if LANGUAGE == "ja":
        return gettext.NullTranslations()  # the msgids are the Japanese texts
    try:
        return gettext.translation("messages", TRANSLATIONS, languages=[LANGUAGE])
    except FileNotFoundError:
        raise pytest.UsageError(
            f"No compiled catalog for {LANGUAGE!r} under {TRANSLATIONS}: run `make setup`."
        ) from None


CATALOG = _load_catalog()


class UntranslatedText(UserWarning):
    """t() was given a text that the run's catalog does not translate."""


def t(text: str, **values: object) -> str:
    """Return the portal's text *text* (its Japanese msgid) in the run's language.

    With *values*, the placeholders (%(name)s …) are filled in as the portal does. A text
    the catalog does not have (demo data such as device names) comes back as it is.
    """
    translated = CATALOG.gettext(text)
    if LANGUAGE != "ja" and translated == text:
        # Either not a text of the portal, or the catalog lacks it (the screen shows Japanese).
        warnings.warn(UntranslatedText(f"not in the {LANGUAGE} catalog: {text!r}"), stacklevel=2)
    return translated % values if values else translated


def t_pattern(text: str, **patterns: str) -> re.Pattern[str]:
    """Return a regex matching the whole of t(text), its placeholders matched by *patterns*.

    t_pattern("✓完了 (設定日時: %(at)s)", at=r"\\d{4}/…") matches
    「✓完了 (設定日時: 2019/07/08 15:24)」 (in English 「✓ Complete (set up on 2019/07/08 15:24)」).
    """
    markers = {name: f"\x00{name}\x00" for name in patterns}
    pattern = re.escape(t(text, **markers))
    for name, marker in markers.items():
        pattern = pattern.replace(re.escape(marker), f"(?:{patterns[name]})")
    return re.compile(f"^{pattern}$")


def tn(singular: str, plural: str, n: int, **values: object) -> str:
    """Return a plural text (ngettext) for *n*, its %(num)s filled in with *n*."""
    return CATALOG.ngettext(singular, plural, n) % {"num": n, **values}


def in_language(*, ja: str, en: str) -> str:
    """Return the text for the run's language: for texts outside the catalog (mails)."""
    return en if LANGUAGE == "en" else ja


# --- Browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], playwright: Playwright
) -> dict[str, Any]:
    """Launch Playwright's own Chromium when it is installed, else Debian's."""
    bundled = playwright.chromium.executable_path
    if os.path.exists(bundled):
        executable = bundled
    elif os.path.exists(DEBIAN_CHROMIUM):
        executable = DEBIAN_CHROMIUM
    else:
        pytest.fail(
            f"No Chromium found (neither {bundled} nor {DEBIAN_CHROMIUM}): "
            "run `make setup` and `scripts/setup chromium` first.",
            pytrace=False,
        )
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
        "viewport": {"width": 1366, "height": 900},
    }


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


@dataclass(frozen=True)
class ReceivedMail:
    """One mail as the SMTP server received it."""

    envelope_to: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return str(self.message.get_content())

    def link(self) -> str:
        """Return the one portal link in the body (the whole URL, as a mail reader shows it)."""
        links = re.findall(r"https?://\S+", self.body)
        assert len(links) == 1, f"expected one link in the mail, found {links}: {self.body}"
        return links[0]


class MailNotReceived(AssertionError):
    """No mail with the awaited subject arrived (a test may expect this failure precisely)."""


@dataclass
class Mailbox:
    """Mails received by the local SMTP server; tests wait for them without polling."""

    _mails: list[ReceivedMail] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def deliver(self, mail: ReceivedMail) -> None:
        """Called in the SMTP server's thread for every mail."""
        with self._arrived:
            self._mails.append(mail)
            self._arrived.notify_all()

    def to(self, address: str) -> list[ReceivedMail]:
        """Return the mails received so far for *address* (envelope or To header)."""
        with self._arrived:
            return self._to(address)

    def wait_for(self, address: str, subject: str, timeout: float = MAIL_TIMEOUT) -> ReceivedMail:
        """Wait until a mail to *address* whose subject contains *subject* arrives; return it.

        With several such mails, the newest one. The SMTP handler's notify wakes the wait.
        """

        def newest() -> ReceivedMail | None:
            found = [m for m in self._to(address) if subject in m.subject]
            return found[-1] if found else None

        with self._arrived:
            mail = self._arrived.wait_for(newest, timeout=timeout)
        if mail is None:
            raise MailNotReceived(
                f"no mail to {address} about {subject!r} within {timeout}s; "
                f"it received: {[m.subject for m in self.to(address)]}"
            )
        return mail

    def _to(self, address: str) -> list[ReceivedMail]:
        address = address.lower()
        return [mail for mail in self._mails if address in _recipients(mail)]


def _recipients(mail: ReceivedMail) -> set[str]:
    headers = {a.addr_spec.lower() for a in mail.message["To"].addresses}
    return headers | {a.lower() for a in mail.envelope_to}


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    mailbox: Mailbox


class _DeliverToMailbox:
    """aiosmtpd handler: decode every mail and put it in the mailbox."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mailbox.deliver(ReceivedMail(tuple(envelope.rcpt_tos), message))
        return "250 OK"


def free_port(host: str = "127.0.0.1") -> int:
    """Return a port that is free now (aiosmtpd cannot be given port 0)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailServer]:
    """A real SMTP server on loopback that the live portal sends every mail to."""
    mailbox = Mailbox()
    host = "127.0.0.1"
    port = free_port(host)
    controller = Controller(_DeliverToMailbox(mailbox), hostname=host, port=port)
    controller.start()
    try:
        yield MailServer(host=host, port=port, mailbox=mailbox)
    finally:
        controller.stop()


@pytest.fixture
def mailbox(mail_server: MailServer) -> Mailbox:
    """The mails the live portal has sent (the whole session's: use addresses of your own)."""
    return mail_server.mailbox


# --- The live portal -------------------------------------------------------------------------


@dataclass(frozen=True)
class LivePortal:
    """The running portal: its URL, and its app for set-up and checks behind the browser."""

    app: Flask
    url: str

    def device_exists(self, device_id: int) -> bool:
        with self.app.app_context():
            return db.session.get(Device, device_id) is not None

    def licence_days_left(self, device_id: int) -> int | None:
        """Return 残り日数 of the device's licence, or None when it is not in use (「-」)."""
        with self.app.app_context():
            device = db.session.get(Device, device_id)
            assert device is not None
            if device.licence.effective_state() is not LicenceState.IN_USE:
                return None
            return device.licence.days_left()

    def account_exists(self, email: str) -> bool:
        with self.app.app_context():
            user_id = db.session.scalar(
                select(User.id).where(func.lower(User.email) == email.lower())
            )
            return user_id is not None


@pytest.fixture(scope="session")
def live_portal(
    tmp_path_factory: pytest.TempPathFactory, mail_server: MailServer
) -> Iterator[LivePortal]:
    """Serve the portal on 127.0.0.1 (a free port) from its own, migrated database.

    The database comes from tests/databases.py: a SQLite file, or a fresh PostgreSQL
    database when TEST_DATABASE_URL is set (scripts/with-postgres); it is dropped at the end.
    Its mail goes over SMTP to `mail_server`; the links in the mails point at this server.
    """
    if not HTMX.exists():
        pytest.fail(
            f"{HTMX} is missing, so the JavaScript runs would test nothing: run `make setup`.",
            pytrace=False,
        )
    root = tmp_path_factory.mktemp("e2e-portal")
    database_url = create_database(root)
    try:
        yield from _serve(root, database_url, mail_server)
    finally:
        drop_database(database_url)


def _serve(root: Path, database_url: str, mail_server: MailServer) -> Iterator[LivePortal]:
    """Create the app on *database_url*, migrate it, and serve it until the generator ends."""
    # create_app reads the environment; monkeypatch is function-scoped, so save and restore.
    saved = {name: os.environ.pop(name) for name in PORTAL_ENV_VARS if name in os.environ}
    try:
        app = create_app(
            {
                "TESTING": False,
                "SECRET_KEY": "e2e-" + uuid.uuid4().hex,
                "ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
                "SQLALCHEMY_DATABASE_URI": database_url,
                "RECORDINGS_DIR": root / "recordings",
                "SERVICE_NAME": SERVICE_NAME,
                "MAIL_SERVER": mail_server.host,
                "MAIL_PORT": mail_server.port,
                "MAIL_USE_TLS": False,
                "MAIL_USE_SSL": False,
                "MAIL_USERNAME": None,
                "MAIL_PASSWORD": None,
                "MAIL_SUPPRESS_SEND": False,
            },
            instance_path=root / "instance",
        )
    finally:
        os.environ.update(saved)
    try:
        assert app.config["WTF_CSRF_ENABLED"] is True, "the flows must run with CSRF on"
        with app.app_context():
            upgrade()  # the schema comes from the migrations, as in production

        server = make_server("127.0.0.1", 0, app, threaded=True)
        url = f"http://127.0.0.1:{server.server_port}"
        app.config["PORTAL_BASE_URL"] = url  # links in mails open this server
        thread = threading.Thread(target=server.serve_forever, name="e2e-portal", daemon=True)
        thread.start()
        try:
            yield LivePortal(app=app, url=url)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
    finally:
        # Every connection closed before the database is dropped.
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_portal: LivePortal) -> str:
    """Point page.goto("/…") at the live portal."""
    return live_portal.url


# --- Demo contracts --------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoDevice:
    id: int
    name: str
    model: str
    mac: str  # as displayed: 00:80:45:AB:CD:EF
    domain: str
    is_camera: bool
    camera_admin_password: str | None


@dataclass(frozen=True)
class DemoContract:
    contract_id: int
    email: str
    password: str
    devices: tuple[DemoDevice, ...]  # in the order of 機器一覧 (by name)


@pytest.fixture
def demo_contract(live_portal: LivePortal) -> Callable[..., DemoContract]:
    """Return a maker of fresh demo contracts, each with its own e-mail address."""

    def make(devices: int) -> DemoContract:
        email = f"e2e-{uuid.uuid4().hex[:12]}@example.com"
        with live_portal.app.app_context():
            result = seed_demo(
                email, DEMO_PASSWORD, devices=devices, seed=zlib.crc32(email.encode())
            )
            rows = db.session.scalars(
                select(Device)
                .where(Device.contract_id == result.contract_id)
                .order_by(Device.name, Device.id)
            ).all()
            listed = tuple(
                DemoDevice(
                    id=row.id,
                    name=row.name,
                    model=row.model,
                    mac=row.mac_display,
                    domain=row.domain,
                    is_camera=row.is_camera,
                    camera_admin_password=row.camera_admin_password,
                )
                for row in rows
            )
        return DemoContract(result.contract_id, email, DEMO_PASSWORD, listed)

    return make


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
