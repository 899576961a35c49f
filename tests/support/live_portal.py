"""The portal served for the browser tests, as in production, on a database of its own.

It runs with TESTING off and CSRF on, on a database built by the migrations (a SQLite file,
or a PostgreSQL database when TEST_DATABASE_URL is set), served by Werkzeug in a thread, and
sends its mail over SMTP to the local server of tests/support/mail.py.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.support.databases import throwaway_database
from tests.support.mail import MailServer
from webapp import create_app
from webapp.enums import LicenceState
from webapp.extensions import db
from webapp.models import Device, User

HTMX = Path(__file__).parents[2] / "webapp" / "static" / "vendor" / "htmx.min.js"
# Variables that would point the live server at another database, key or folder.
PORTAL_ENV_VARS = ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEYS", "RECORDINGS_DIR", "PORTAL_ENV")
SERVICE_NAME = "みえますねっと"


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


@contextmanager
def running_portal(root: Path, mail_server: MailServer) -> Iterator[LivePortal]:
    """Serve the portal on 127.0.0.1 (a free port) from its own, migrated database in *root*.

    The database comes from tests/support/databases.py: a SQLite file, or a fresh PostgreSQL
    database when TEST_DATABASE_URL is set (scripts/with-postgres); it is dropped at the end.
    Its mail goes over SMTP to *mail_server*; the links in the mails point at this server.
    """
    if not HTMX.exists():
        pytest.fail(
            f"{HTMX} is missing, so the JavaScript runs would test nothing: run `make setup`.",
            pytrace=False,
        )
    with throwaway_database(root) as database_url:
        yield from _serve(root, database_url, mail_server)


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
                **mail_server.app_config(),
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
