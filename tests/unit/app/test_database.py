"""The schema: migrations match the models; SQLite runs with its safety settings on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from tests.support.apps import build_app
from tests.support.databases import sqlite_only
from webapp.extensions import db


@pytest.fixture
def migrated(tmp_path: Path, empty_database: str) -> Iterator[Flask]:
    app = build_app(tmp_path, empty_database)
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_migrations_create_exactly_the_models(migrated: Flask) -> None:
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_migrations_downgrade_cleanly(migrated: Flask) -> None:
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert "device" in inspect(db.engine).get_table_names()


@sqlite_only
def test_sqlite_runs_with_foreign_keys_wal_and_secure_delete(migrated: Flask) -> None:
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA secure_delete")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_the_key_digest_migration_backfills_existing_licences(
    tmp_path: Path, empty_database: str
) -> None:
    import datetime as dt

    from webapp.crypto import digest as key_digest
    from webapp.models import Licence

    app = build_app(tmp_path, empty_database)
    with app.app_context():
        upgrade(revision="6d1889ae3fb8")
        db.session.execute(
            text(
                "INSERT INTO licence (key, plan, starts_on, ends_on, state, issued_at) "
                "VALUES ('ABCDEFGHJKMNPQRSTVWX', 'rec7', :d, :d, 'unused', :t)"
            ),
            {"d": dt.date(2026, 1, 1), "t": dt.datetime(2026, 1, 1)},
        )
        db.session.commit()
        upgrade()
        licence = db.session.scalars(select(Licence)).one()
        assert licence.key_digest == key_digest("ABCDEFGHJKMNPQRSTVWX")
        db.session.remove()
        db.engine.dispose()
