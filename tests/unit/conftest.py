"""Fixtures: an app on a throwaway database (SQLite, or PostgreSQL), CSRF on, and logins.

The helpers behind them are in tests/support: import them from there, not from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.support.apps import CONFIG_VARIABLES, fresh_app, template_database
from tests.support.client import Account, Client, make_account
from tests.support.databases import ON_POSTGRES, throwaway_database
from tests.support.mail import Mailbox, running_mail_server
from webapp import mail as webapp_mail


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own configuration out of the tests."""
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """On PostgreSQL, a database built by the migrations that each test's copy starts from."""
    if not ON_POSTGRES:
        yield None
        return
    with template_database(tmp_path_factory.mktemp("template")) as name:
        yield name


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it yet."""
    with throwaway_database(tmp_path) as url:
        yield url


@pytest.fixture
def app(tmp_path: Path, migrated_template: str | None) -> Iterator[Flask]:
    # No application context stays pushed during a test: each request gets its own, as
    # in production (a shared one would share `g`, and with it the logged-in user).
    with fresh_app(tmp_path, migrated_template) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


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
