"""Counting the SQL statements a piece of work runs, to show it does not grow with the data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

from tests.support.client import Client
from webapp.extensions import db


@contextmanager
def counted_statements(app: Flask) -> Iterator[list[str]]:
    """Collect the statements run inside the block (by any request or call) into a list."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_for(app: Flask, client: Client, path: str, **headers: str) -> int:
    """How many SQL statements one request for *path* runs (the page must answer 200)."""
    with counted_statements(app) as seen:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, path
    return len(seen)
