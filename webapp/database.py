"""The database: one unit of work per business operation, and what the ORM cannot express."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event, select, text, update

from .extensions import db

log = logging.getLogger(__name__)


@dataclass
class UnitOfWork:
    """One business operation's transaction, and what is to happen once it has committed."""

    _after_commit: list[Callable[[], object]] = field(default_factory=list)

    def after_commit(self, action: Callable[[], object]) -> None:
        """Run *action* once the transaction has committed; never if it rolls back.

        What happens after the commit (a mail, removing files) cannot undo the change: an
        action that fails is logged, and neither raises nor stops the actions after it.
        """
        self._after_commit.append(action)


_current: ContextVar[UnitOfWork | None] = ContextVar("unit_of_work", default=None)


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """Run a business operation in one transaction: commit at the end, roll back on any error.

    This is the one place where the portal commits. A unit opened inside another one joins
    it: the outer unit commits (or rolls back) the whole, so operations compose.
    """
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    work = UnitOfWork()
    token = _current.set(work)
    try:
        yield work
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _current.reset(token)
    for action in work._after_commit:
        try:
            action()
        except Exception:
            log.exception("an action after a commit failed; the change itself stands")


def after_commit(action: Callable[[], object]) -> None:
    """Run *action* after the current unit of work commits (see UnitOfWork.after_commit)."""
    work = _current.get()
    if work is None:
        raise RuntimeError("after_commit() needs an open unit_of_work()")
    work.after_commit(action)


def fresh_snapshot() -> None:
    """End the current read-only transaction, so that the next read sees what others committed.

    Only for reading: a unit of work that has changed something must commit or roll back
    through unit_of_work().
    """
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("fresh_snapshot() would discard changes")
    db.session.rollback()


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """Turn on what SQLite leaves off: foreign keys, WAL, a busy wait, secure deletion."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 5000")
    # secure_delete overwrites deleted content, so a withdrawn contractor's data is not
    # left readable in free pages of the database file.
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def checkpoint_wal(session: Any) -> None:
    """Fold SQLite's write-ahead log back into the database file and truncate it.

    After a withdrawal the log would otherwise still hold the deleted pages.
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    with bind.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def lock_for_update(session: Any, model: Any, row_id: int) -> bool:
    """Lock one row until the transaction ends; return False when the row does not exist.

    PostgreSQL takes the row lock with SELECT … FOR UPDATE, which also holds back any
    insert that references the row. SQLite has no row locks: a write makes the
    transaction take the database's write lock, which serialises all writers.
    """
    if session.get_bind().dialect.name == "sqlite":
        result = session.execute(
            update(model).where(model.id == row_id).values(id=model.id),
            execution_options={"synchronize_session": False},
        )
        return bool(result.rowcount)
    return (
        session.execute(select(model.id).where(model.id == row_id).with_for_update()).first()
        is not None
    )


def refresh_planner_statistics(engine: Engine) -> None:
    """After a bulk load, let the database plan with the new row counts.

    PostgreSQL plans from statistics that autovacuum refreshes only a while after a bulk
    insert; until then it takes a contract's thousands of devices for a handful and sorts
    them all for each page of 機器一覧 instead of reading its index in order (6.5 ms
    against 0.2 ms for 5,000 devices). VACUUM also marks the pages all-visible, so that
    counting devices reads the index alone. SQLite plans from its indexes as they are.
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE)"))
