"""操作履歴: filter by kind and date, page through, download as CSV."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import clock
from ..access import contractor_required
from ..audit import ACTION_LABELS, describe
from ..filters import datetime_ja
from ..paging import parse_page
from ..screens import form_status, render_screen
from ..spreadsheets import csv_bytes
from . import bp
from .forms import HistoryFilterForm
from .queries import HistoryFilter, events_page, newest_events

PER_PAGE = 50
CSV_MAX_ROWS = 100_000


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
    events, pagination = events_page(
        current_user.contract_id, history_filter, parse_page(request.args.get("page")), PER_PAGE
    )
    return render_screen(
        "history/index.html",
        blocks=("history_list", "history_form"),
        status=form_status(form),
        form=form,
        events=events,
        labels=ACTION_LABELS,
        describe=describe,
        page=pagination,
        args=history_filter.args(),
        csv_url=url_for("history.download", **history_filter.args()),
    )


@bp.get("/download.csv")
@contractor_required
def download() -> Response:
    form, history_filter = _read_filter()
    if form.errors:
        return index()
    events = newest_events(current_user.contract_id, history_filter, CSV_MAX_ROWS)
    body = csv_bytes(
        [_("日時"), _("操作"), _("対象"), _("内容"), _("実行者"), _("IPアドレス")],
        (
            [
                datetime_ja(event.occurred_at),
                ACTION_LABELS.get(event.action, event.action),
                event.summary,
                describe(event),
                event.actor_email,
                event.ip,
            ]
            for event in events
        ),
    )
    today = clock.today().strftime("%Y%m%d")
    response = current_app.response_class(body, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="history-{today}.csv"'
    return response
