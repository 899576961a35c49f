"""Fixtures: an app on a throwaway database (SQLite, or PostgreSQL), CSRF on, and logins."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import stamp, upgrade
from sqlalchemy import make_url

from tests.support.databases import ON_POSTGRES, create_database, drop_database
from tests.support.factories import PASSWORD, ContractFactory, UserFactory
from tests.support.mail import Mailbox, running_mail_server
from webapp import create_app
from webapp import mail as webapp_mail
from webapp.extensions import db

PC_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)
CSRF_PATTERN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


CONFIG_VARIABLES = (
    "DATABASE_URL",
    "SECRET_KEY",
    "ENCRYPTION_KEYS",
    "RECORDINGS_DIR",
    "PORTAL_ENV",
    "PORTAL_BASE_URL",
    "MAIL_SERVER",
    "MAIL_OUTBOX_DIR",
    "RATELIMIT_STORAGE_URI",
    "STORAGE_BACKEND",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_REGION",
    "S3_PREFIX",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own configuration out of the tests."""
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def build_app(tmp_path: Path, database_url: str | None = None) -> Flask:
    """Create the app on *database_url* (default: an empty SQLite file in *tmp_path*)."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
            "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{tmp_path / 'test.sqlite3'}",
            "RECORDINGS_DIR": tmp_path / "recordings",
        },
        instance_path=tmp_path / "instance",
    )


def close_app(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """On PostgreSQL, a database built by the migrations that each test's copy starts from."""
    if not ON_POSTGRES:
        yield None
        return
    folder = tmp_path_factory.mktemp("template")
    url = create_database(folder)
    template = build_app(folder, url)
    with template.app_context():
        upgrade()
    close_app(template)
    yield make_url(url).database
    drop_database(url)


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it yet."""
    url = create_database(tmp_path)
    yield url
    drop_database(url)


@pytest.fixture
def app(tmp_path: Path, migrated_template: str | None) -> Iterator[Flask]:
    url = create_database(tmp_path, template=migrated_template)
    app = build_app(tmp_path, url)
    if not ON_POSTGRES:
        with app.app_context():
            db.create_all()
            stamp()  # the schema is current: commands that upgrade first find nothing to do
    # No application context stays pushed during a test: each request gets its own, as
    # in production (a shared one would share `g`, and with it the logged-in user).
    yield app
    close_app(app)
    drop_database(url)


sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="about SQLite's own files and settings")


class Client(FlaskClient):
    """A test client that browses like a PC and can fetch the CSRF token of any page."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("User-Agent", PC_USER_AGENT)
        kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def csrf_token(self, path: str = "/login") -> str:
        html = self.get(path).get_data(as_text=True)
        match = CSRF_PATTERN.search(html)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def login(self, email: str, password: str = PASSWORD, **extra: Any) -> Any:
        data = {"email": email, "password": password, "csrf_token": self.csrf_token(), **extra}
        return self.post("/login", data=data)

    def post_form(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST to *path* with the CSRF token that the page at *path* carries."""
        token = self.csrf_token(kwargs.pop("token_from", path))
        return self.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


@pytest.fixture
def client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@dataclass(frozen=True)
class Account:
    """A contractor account, as plain values usable outside an application context."""

    user_id: int
    contract_id: int
    email: str


def make_account(app: Flask, email: str, **kwargs: Any) -> Account:
    with app.app_context():
        user = UserFactory(email=email, contract=ContractFactory(), **kwargs)
        return Account(user.id, user.contract_id, user.email)


@pytest.fixture
def contractor(app: Flask) -> Account:
    return make_account(app, "owner@example.com")


@pytest.fixture
def logged_in(client: Client, contractor: Account) -> Client:
    response = client.login(contractor.email)
    assert response.status_code == 303
    return client


@pytest.fixture
def stranger(app: Flask) -> Account:
    """Another contractor, whose objects must stay invisible."""
    return make_account(app, "stranger@example.com")


@pytest.fixture
def ctx(app: Flask) -> Callable[[], Any]:
    """Return a factory of application contexts, for set-up and checks between requests."""
    return app.app_context


@pytest.fixture
def smtp(app: Flask) -> Iterator[Mailbox]:
    """A real SMTP server on loopback (aiosmtpd) that the app sends its mail to."""
    with running_mail_server() as server:
        app.config.update(server.app_config())
        webapp_mail.init_app(app)
        yield server.mailbox
