"""Browser fixtures: Chromium, a live portal on its own database, demo contracts, screenshots.

The portal runs as in production (TESTING off, CSRF on) on a SQLite file built by the
migrations, served by Werkzeug in a thread. Every flow runs twice: with JavaScript (htmx
swaps) and without (plain HTML pages).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import ConsoleMessage, Page, Playwright, Response
from sqlalchemy import func, select
from werkzeug.serving import make_server

from webapp import create_app
from webapp.extensions import db
from webapp.models import Device, User
from webapp.services.demo import seed_demo

SCREENSHOTS = Path(__file__).parent / "screenshots"
HTMX = Path(__file__).parents[2] / "webapp" / "static" / "vendor" / "htmx.min.js"
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
DEMO_PASSWORD = "e2e-demo-pass-2026"
SERVICE_NAME = "みえますねっと"


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
    """A Japanese desktop browser, with or without JavaScript."""
    return {
        **browser_context_args,
        "java_script_enabled": js,
        "locale": "ja-JP",
        "viewport": {"width": 1366, "height": 900},
    }


@pytest.fixture
def page(page: Page, js: bool) -> Iterator[Page]:
    """The test's page; a server error, a script error or a CSP violation fails the test."""
    problems: list[str] = []

    def on_response(response: Response) -> None:
        if response.status >= 500:
            problems.append(f"HTTP {response.status} from {response.url}")

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            where = message.page.url if message.page else "?"
            problems.append(f"CSP violation on {where}: {message.text}")

    page.context.on("response", on_response)
    page.context.on("console", on_console)
    page.context.on("weberror", lambda error: problems.append(f"script error: {error.error}"))
    yield page
    if js and not page.is_closed():
        # Otherwise the "js" runs would silently test the plain pages a second time.
        assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
    assert not problems, problems


# --- The live portal -------------------------------------------------------------------------


@dataclass(frozen=True)
class LivePortal:
    """The running portal: its URL, and its app for set-up and checks behind the browser."""

    app: Flask
    url: str

    def device_exists(self, device_id: int) -> bool:
        with self.app.app_context():
            return db.session.get(Device, device_id) is not None

    def account_exists(self, email: str) -> bool:
        with self.app.app_context():
            user_id = db.session.scalar(
                select(User.id).where(func.lower(User.email) == email.lower())
            )
            return user_id is not None


@pytest.fixture(scope="session")
def live_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePortal]:
    """Serve the portal on 127.0.0.1 (a free port) from its own, migrated SQLite file."""
    if not HTMX.exists():
        pytest.fail(
            f"{HTMX} is missing, so the JavaScript runs would test nothing: run `make setup`.",
            pytrace=False,
        )
    root = tmp_path_factory.mktemp("e2e-portal")
    # create_app reads the environment; monkeypatch is function-scoped, so save and restore.
    saved = {name: os.environ.pop(name) for name in PORTAL_ENV_VARS if name in os.environ}
    try:
        app = create_app(
            {
                "TESTING": False,
                "SECRET_KEY": "e2e-" + uuid.uuid4().hex,
                "ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'e2e.sqlite3'}",
                "RECORDINGS_DIR": root / "recordings",
                "SERVICE_NAME": SERVICE_NAME,
            },
            instance_path=root / "instance",
        )
    finally:
        os.environ.update(saved)
    assert app.config["WTF_CSRF_ENABLED"] is True, "the flows must run with CSRF on"
    with app.app_context():
        upgrade()  # the schema comes from the migrations, as in production

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-portal", daemon=True)
    thread.start()
    try:
        yield LivePortal(app=app, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
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


# --- Screenshots -----------------------------------------------------------------------------


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Return shot(page, name): a full-page PNG in screenshots/<test>/<nn>-<name>.png."""
    folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    numbers = itertools.count(1)

    def take(page: Page, name: str) -> Path:
        path = folder / f"{next(numbers):02d}-{name}.png"
        # caret="initial": hiding the caret leaves style="" on every input, which htmx then
        # copies onto swapped-in inputs, a style attribute that the portal's CSP refuses.
        page.screenshot(path=path, full_page=True, animations="disabled", caret="initial")
        return path

    return take
