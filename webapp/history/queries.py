"""Reading 操作履歴: a contract's audit events, filtered by kind and by service dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select

from .. import clock
from ..extensions import db
from ..models import AuditEvent
from ..paging import Pagination


@dataclass
class HistoryFilter:
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def condition(self, contract_id: int) -> ColumnElement[bool]:
        clauses = [AuditEvent.contract_id == contract_id]
        if self.action:
            clauses.append(AuditEvent.action == self.action)
        # Dates are the service's days; events are stored in UTC.
        if self.date_from:
            clauses.append(AuditEvent.occurred_at >= clock.start_of(self.date_from))
        if self.date_to:
            clauses.append(
                AuditEvent.occurred_at < clock.start_of(self.date_to + dt.timedelta(days=1))
            )
        return and_(*clauses)

    def args(self) -> dict[str, Any]:
        values = {
            "action": self.action,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {key: value for key, value in values.items() if value}


def events_page(
    contract_id: int, history_filter: HistoryFilter, page: int, per_page: int
) -> tuple[list[AuditEvent], Pagination]:
    """One page of the contract's events that match, newest first."""
    condition = history_filter.condition(contract_id)
    total = db.session.scalar(select(func.count(AuditEvent.id)).where(condition)) or 0
    pagination = Pagination.clamp(page, per_page, total)
    events = db.session.scalars(
        select(AuditEvent)
        .where(condition)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset(pagination.offset)
    ).all()
    return list(events), pagination


def newest_events(
    contract_id: int, history_filter: HistoryFilter, limit: int
) -> Iterable[AuditEvent]:
    """The contract's events that match, newest first, at most *limit* of them."""
    return db.session.scalars(
        select(AuditEvent)
        .where(history_filter.condition(contract_id))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
