"""The app as the unit tests run it: TESTING on, CSRF on, on a throwaway database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import stamp, upgrade
from sqlalchemy import make_url

from tests.support.databases import ON_POSTGRES, throwaway_database
from webapp import create_app
from webapp.extensions import db

# Environment variables through which the developer's own configuration would reach a test.
CONFIG_VARIABLES = (
    "DATABASE_URL",
    "SECRET_KEY",
    "ENCRYPTION_KEYS",
    "RECORDINGS_DIR",
    "PORTAL_ENV",
    "PORTAL_BASE_URL",
    "FLASK_RUN_HOST",
    "FLASK_RUN_PORT",
    "MAIL_SERVER",
    "MAIL_OUTBOX_DIR",
    "RATELIMIT_STORAGE_URI",
    "STORAGE_BACKEND",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_REGION",
    "S3_PREFIX",
    "SERVICE_TIME_ZONE",
)


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


@contextmanager
def template_database(folder: Path) -> Iterator[str]:
    """Build a database by the migrations and yield its name, for tests to copy (PostgreSQL)."""
    with throwaway_database(folder) as url:
        template = build_app(folder, url)
        with template.app_context():
            upgrade()
        close_app(template)
        yield str(make_url(url).database)


@contextmanager
def fresh_app(tmp_path: Path, template: str | None) -> Iterator[Flask]:
    """Yield an app on a database of its own with the current schema, closed and dropped after."""
    with throwaway_database(tmp_path, template=template) as url:
        app = build_app(tmp_path, url)
        if not ON_POSTGRES:
            with app.app_context():
                db.create_all()
                stamp()  # the schema is current: commands that upgrade first find nothing to do
        try:
            yield app
        finally:
            close_app(app)
