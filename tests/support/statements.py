"""Counting the SQL statements a piece of work runs, to show it does not grow with the data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

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
