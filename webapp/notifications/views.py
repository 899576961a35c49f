"""通知メール設定: the notification addresses, and the events each device mails."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from ..access import contractor_required
from ..devices.narrowing import ListState, read_list_state
from ..forms import posted_ids
from ..htmx import see_other, swaps_into
from ..paging import parse_page
from ..screens import form_status, render_screen
from ..services.notifications import (
    EVENTS,
    recipients_of,
    set_device_events,
    set_event_for_all_devices,
    set_recipients,
)
from . import bp
from .forms import RecipientsForm
from .queries import device_settings_page

DEVICES_PER_PAGE = 50
SETTINGS_ID = "device-settings"


def _notifications_screen(
    form: RecipientsForm | None = None,
    state: ListState | None = None,
    *,
    saved: bool = False,
) -> Response:
    """The whole screen; for htmx asking for the device settings alone, only that part.

    After a save under htmx (*saved*), the part comes with the message of what was saved.
    """
    contract_id = current_user.contract_id
    if form is None:
        form = RecipientsForm(formdata=None, data={"recipients": recipients_of(contract_id)})
    if state is None:
        state = read_list_state(request.args)
    settings = device_settings_page(contract_id, state.page, DEVICES_PER_PAGE, state.search)
    state = state._replace(page=settings.pagination.page)
    blocks: tuple[str, ...] = ("content",)
    if swaps_into(SETTINGS_ID):
        blocks = ("device_settings", "saved_messages") if saved else ("device_settings",)
    response = render_screen(
        "notifications/index.html",
        blocks=blocks,
        status=max(form_status(form), form_status(state.form)),
        form=form,
        search_form=state.form,
        list_args=state.args,
        search_args={k: v for k, v in state.args.items() if k != "page"},
        settings=settings,
        rows=settings.rows,
        events=EVENTS,
        page=settings.pagination,
    )
    if saved and swaps_into(SETTINGS_ID):
        response.headers["HX-Push-Url"] = url_for("notifications.index", **state.args)
    return response


def _back_to_list(args: dict[str, Any]) -> Response:
    """Show the list at *args* after a save: its part again under htmx, else a 303."""
    args = {key: str(value) for key, value in args.items() if value is not None}
    if swaps_into(SETTINGS_ID):
        return _notifications_screen(state=read_list_state(MultiDict(args)), saved=True)
    return see_other(url_for("notifications.index", **args))


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
    """Save the page's ticks; 「前へ」「次へ」 save them too, then show that page."""
    state = read_list_state(request.args)
    changed = set_device_events(
        current_user.contract_id,
        posted_ids("shown"),
        {event: posted_ids(event) for event in EVENTS},
    )
    flash(_("機器ごとの通知設定を保存しました (%(count)s台を変更)。", count=changed), "success")
    goto = request.form.get("goto")
    page = parse_page(goto) if goto else state.page
    return _back_to_list({**state.args, "page": page if page > 1 else None})


@bp.post("/devices/all")
@contractor_required
def all_devices() -> Response:
    """「全N台でオン」「全N台でオフ」: one event for every device of the contract."""
    event, _sep, value = request.form.get("switch", "").partition(":")
    if event not in EVENTS or value not in ("on", "off"):
        abort(400)
    state = read_list_state(request.args)
    count = set_event_for_all_devices(current_user.contract_id, event, value == "on")
    message = (
        _("全%(count)s台で「%(event)s」をオンにしました。", count=count, event=EVENTS[event])
        if value == "on"
        else _("全%(count)s台で「%(event)s」をオフにしました。", count=count, event=EVENTS[event])
    )
    flash(message, "success")
    return _back_to_list(state.args)
