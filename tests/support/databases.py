"""Throwaway databases for the tests: SQLite files, or databases in a PostgreSQL cluster.

Set TEST_DATABASE_URL (scripts/with-postgres does) to run the suite on PostgreSQL; each
test then gets a database of its own, copied from a migrated template.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


def _admin() -> Engine:
    return create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT", poolclass=None)


def create_database(tmp_path: Path, *, template: str | None = None) -> str:
    """Return the URL of a new database: a SQLite file, or a PostgreSQL database."""
    if not ON_POSTGRES:
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    name = f"t_{uuid.uuid4().hex[:16]}"
    engine = _admin()
    try:
        with engine.connect() as connection:
            suffix = f" TEMPLATE {template}" if template else ""
            connection.execute(text(f"CREATE DATABASE {name}{suffix}"))
    finally:
        engine.dispose()
    return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database made by create_database (SQLite files go with their folder)."""
    if not url.startswith("postgresql"):
        return
    name = make_url(url).database
    engine = _admin()
    try:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        engine.dispose()


@contextmanager
def throwaway_database(tmp_path: Path, *, template: str | None = None) -> Iterator[str]:
    """Create a database (see create_database), yield its URL, and drop it afterwards."""
    url = create_database(tmp_path, template=template)
    try:
        yield url
    finally:
        drop_database(url)


sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="about SQLite's own files and settings")
