"""通知メール設定."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from ..access import contractor_required
from ..extensions import db
from ..htmx import see_other
from ..models import Device, NotificationSetting
from ..paging import Pagination, parse_page
from ..screens import render_screen
from ..services.notifications import EVENTS, recipients_of, set_device_events, set_recipients
from . import bp
from .forms import RecipientsForm

DEVICES_PER_PAGE = 50


def _notifications_screen(form: RecipientsForm | None = None, status: int = 200) -> Response:
    contract_id = current_user.contract_id
    if form is None:
        form = RecipientsForm(formdata=None, data={"recipients": recipients_of(contract_id)})
    total = (
        db.session.scalar(select(func.count(Device.id)).where(Device.contract_id == contract_id))
        or 0
    )
    pagination = Pagination.clamp(parse_page(request.args.get("page")), DEVICES_PER_PAGE, total)
    rows = db.session.execute(
        select(Device, NotificationSetting)
        .outerjoin(NotificationSetting, NotificationSetting.device_id == Device.id)
        .where(Device.contract_id == contract_id)
        .order_by(Device.name, Device.id)
        .limit(DEVICES_PER_PAGE)
        .offset(pagination.offset)
    ).all()
    return render_screen(
        "manage/notifications.html",
        status=status,
        form=form,
        rows=rows,
        events=EVENTS,
        page=pagination,
    )


@bp.get("/notifications")
@contractor_required
def notifications() -> Response:
    return _notifications_screen()


@bp.post("/notifications/recipients")
@contractor_required
def notification_recipients() -> Response:
    form = RecipientsForm()
    if not form.validate_on_submit():
        return _notifications_screen(form, 422)
    saved = set_recipients(current_user.contract_id, form.emails())
    flash(_("通知先を保存しました (%(count)s件)。", count=len(saved)), "success")
    return see_other(url_for("manage.notifications"))


@bp.post("/notifications/devices")
@contractor_required
def notification_devices() -> Response:
    def ids(name: str) -> set[int]:
        return {int(v) for v in request.form.getlist(name) if v.isdigit() and len(v) < 10}

    changed = set_device_events(
        current_user.contract_id, ids("shown"), {event: ids(event) for event in EVENTS}
    )
    flash(_("機器ごとの通知設定を保存しました (%(count)s台を変更)。", count=changed), "success")
    return see_other(url_for("manage.notifications", page=request.args.get("page")))
