"""通知メール設定: the notification addresses, and the events each device mails."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ..access import contractor_required
from ..forms import posted_ids
from ..htmx import see_other
from ..paging import parse_page
from ..screens import form_status, render_screen
from ..services.notifications import EVENTS, recipients_of, set_device_events, set_recipients
from . import bp
from .forms import RecipientsForm
from .queries import device_settings_page

DEVICES_PER_PAGE = 50


def _notifications_screen(form: RecipientsForm | None = None) -> Response:
    contract_id = current_user.contract_id
    if form is None:
        form = RecipientsForm(formdata=None, data={"recipients": recipients_of(contract_id)})
    rows, pagination = device_settings_page(
        contract_id, parse_page(request.args.get("page")), DEVICES_PER_PAGE
    )
    return render_screen(
        "notifications/index.html",
        status=form_status(form),
        form=form,
        rows=rows,
        events=EVENTS,
        page=pagination,
    )


@bp.get("")
@contractor_required
def index() -> Response:
    return _notifications_screen()


@bp.post("/recipients")
@contractor_required
def recipients() -> Response:
    form = RecipientsForm()
    if not form.validate_on_submit():
        return _notifications_screen(form)
    saved = set_recipients(current_user.contract_id, form.emails())
    flash(_("通知先を保存しました (%(count)s件)。", count=len(saved)), "success")
    return see_other(url_for("notifications.index"))


@bp.post("/devices")
@contractor_required
def devices() -> Response:
    changed = set_device_events(
        current_user.contract_id,
        posted_ids("shown"),
        {event: posted_ids(event) for event in EVENTS},
    )
    flash(_("機器ごとの通知設定を保存しました (%(count)s台を変更)。", count=changed), "success")
    return see_other(url_for("notifications.index", page=request.args.get("page")))
