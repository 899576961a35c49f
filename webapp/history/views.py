"""操作履歴: filter by kind and date, page through, download as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ColumnElement, and_, func, select
from werkzeug.wrappers import Response
from wtforms.validators import Optional, ValidationError

from ..access import contractor_required
from ..audit import ACTION_LABELS, describe
from ..extensions import db
from ..filters import DISPLAY_ZONE, datetime_ja
from ..forms import ChoiceField, JapaneseDateField, PortalForm
from ..i18n import lazy as _l
from ..models import AuditEvent
from ..paging import Pagination, parse_page
from ..screens import render_screen
from . import bp

PER_PAGE = 50
CSV_MAX_ROWS = 100_000


class HistoryFilterForm(PortalForm):
    class Meta:
        csrf = False

    action = ChoiceField(_l("操作の種類"), choices=[("", _l("すべて")), *ACTION_LABELS.items()])
    date_from = JapaneseDateField(_l("開始日"), [Optional()])
    date_to = JapaneseDateField(_l("終了日"), [Optional()])

    def validate_date_to(self, field: JapaneseDateField) -> None:
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError(_("終了日は開始日以降の日付にしてください。"))


@dataclass
class HistoryFilter:
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def condition(self, contract_id: int) -> ColumnElement[bool]:
        clauses = [AuditEvent.contract_id == contract_id]
        if self.action:
            clauses.append(AuditEvent.action == self.action)
        # Dates are Japan dates; events are stored in UTC.
        if self.date_from:
            clauses.append(AuditEvent.occurred_at >= _utc_midnight(self.date_from))
        if self.date_to:
            clauses.append(
                AuditEvent.occurred_at < _utc_midnight(self.date_to + dt.timedelta(days=1))
            )
        return and_(*clauses)

    def args(self) -> dict[str, Any]:
        values = {
            "action": self.action,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {key: value for key, value in values.items() if value}


def _utc_midnight(day: dt.date) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(), tzinfo=DISPLAY_ZONE)
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _read_filter() -> tuple[HistoryFilterForm, HistoryFilter]:
    form = HistoryFilterForm(formdata=request.args)
    if not form.validate():
        return form, HistoryFilter()
    return form, HistoryFilter(
        action=form.action.data or "", date_from=form.date_from.data, date_to=form.date_to.data
    )


@bp.get("")
@contractor_required
def index() -> Response:
    form, history_filter = _read_filter()
    condition = history_filter.condition(current_user.contract_id)
    total = db.session.scalar(select(func.count(AuditEvent.id)).where(condition)) or 0
    pagination = Pagination.clamp(parse_page(request.args.get("page")), PER_PAGE, total)
    events = db.session.scalars(
        select(AuditEvent)
        .where(condition)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(PER_PAGE)
        .offset(pagination.offset)
    ).all()
    return render_screen(
        "history/index.html",
        blocks=("history_list", "history_form"),
        status=422 if form.errors else 200,
        form=form,
        events=events,
        labels=ACTION_LABELS,
        describe=describe,
        page=pagination,
        args=history_filter.args(),
        csv_url=url_for("history.download", **history_filter.args()),
    )


def _spreadsheet_safe(value: str) -> str:
    """Keep a cell from being read as a formula by spreadsheet software."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@bp.get("/download.csv")
@contractor_required
def download() -> Response:
    form, history_filter = _read_filter()
    if form.errors:
        return index()
    events = db.session.scalars(
        select(AuditEvent)
        .where(history_filter.condition(current_user.contract_id))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(CSV_MAX_ROWS)
    )
    buffer = io.StringIO()
    # A BOM, so that spreadsheet software opens the Japanese text as UTF-8.
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_("日時"), _("操作"), _("対象"), _("内容"), _("実行者"), _("IPアドレス")])
    for event in events:
        writer.writerow(
            [
                datetime_ja(event.occurred_at),
                ACTION_LABELS.get(event.action, event.action),
                _spreadsheet_safe(event.summary),
                _spreadsheet_safe(describe(event)),
                _spreadsheet_safe(event.actor_email),
                event.ip,
            ]
        )
    today = dt.datetime.now(DISPLAY_ZONE).strftime("%Y%m%d")
    response = current_app.response_class(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="history-{today}.csv"'
    return response
