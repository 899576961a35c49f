"""ユーザー管理: list, invite, detail (e-mail, device access), delete."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from ..access import contractor_required
from ..devices.narrowing import ListState, read_list_state
from ..extensions import db
from ..forms import PortalForm, posted_ids
from ..htmx import see_other, swaps_into
from ..mail import Delivery
from ..models import Contract, User
from ..paging import parse_page
from ..screens import form_status, render_form, render_screen, show_refusal
from ..services.refusals import Refused
from ..services.users import (
    change_user_email,
    delete_user,
    invite_user,
    resend_invitation,
    seats_used,
    set_access_to_every_device,
    set_device_access,
)
from . import bp
from .forms import DeviceAccessForm, InviteForm, UserEmailForm
from .queries import device_access_page, general_users, get_general_user

DEVICES_PER_PAGE = 50
ACCESS_ID = "device-access"


def _contract() -> Contract:
    return db.get_or_404(Contract, current_user.contract_id)


def _flash_unsent(mail: Delivery) -> None:
    """Say so when the invitation could not be mailed: the user can be sent another."""
    if mail.sent is False:
        flash(
            _(
                "%(email)s に招待メールを送信できませんでした。"
                "しばらくしてから「招待メールを再送信」を押してください。",
                email=", ".join(mail.recipients),
            ),
            "error",
        )


@bp.get("")
@contractor_required
def index() -> Response:
    contract = _contract()
    return render_screen("users/index.html", users=general_users(contract.id), contract=contract)


@bp.route("/new", methods=["GET", "POST"])
@contractor_required
def invite() -> Response:
    contract = _contract()
    form = InviteForm()
    context: dict[str, Any] = {"contract": contract, "used": seats_used(contract.id)}
    if not form.validate_on_submit():
        return render_form("users/invite.html", form, **context)
    try:
        user, mail = invite_user(contract, form.email.data)
    except Refused as refusal:
        return render_form("users/invite.html", form, refusal=refusal, **context)
    if mail.sent:
        flash(_("%(email)s に招待メールを送信しました。", email=user.email), "success")
    _flash_unsent(mail)
    return see_other(url_for("users.detail", user_id=user.id))


def _detail_context(user: User, state: ListState | None = None) -> dict[str, Any]:
    """Everything the detail screen shows, with one page of the device checklist."""
    if state is None:
        state = read_list_state(request.args)
    access = device_access_page(user, state.page, DEVICES_PER_PAGE, state.search)
    state = state._replace(page=access.pagination.page)
    return {
        "user": user,
        "email_form": UserEmailForm(formdata=None),
        "access_form": DeviceAccessForm(
            formdata=None, scope="all" if user.all_devices else "selected"
        ),
        "search_form": state.form,
        "list_args": state.args,
        "search_args": {key: value for key, value in state.args.items() if key != "page"},
        "access": access,
        "devices": access.devices,
        "allowed": access.allowed,
        "page": access.pagination,
    }


def _detail_screen(
    user: User, context: dict[str, Any], *, status: int = 200, saved: bool = False
) -> Response:
    """The detail screen; for htmx asking for the device checklist alone, only that part."""
    blocks: tuple[str, ...] = ("content",)
    if swaps_into(ACCESS_ID):
        blocks = ("device_access", "saved_messages") if saved else ("device_access",)
    status = max(status, form_status(context["search_form"]))
    response = render_screen("users/detail.html", blocks=blocks, status=status, **context)
    if saved and swaps_into(ACCESS_ID):
        response.headers["HX-Push-Url"] = url_for(
            "users.detail", user_id=user.id, **context["list_args"]
        )
    return response


def _back_to_detail(user: User, args: dict[str, Any]) -> Response:
    """Show the checklist at *args* after a save: its part again under htmx, else a 303."""
    args = {key: str(value) for key, value in args.items() if value is not None}
    if swaps_into(ACCESS_ID):
        state = read_list_state(MultiDict(args))
        return _detail_screen(user, _detail_context(user, state), saved=True)
    return see_other(url_for("users.detail", user_id=user.id, **args))


@bp.get("/<id:user_id>")
@contractor_required
def detail(user_id: int) -> Response:
    user = get_general_user(user_id, current_user.contract_id)
    return _detail_screen(user, _detail_context(user))


@bp.post("/<id:user_id>/email")
@contractor_required
def change_email(user_id: int) -> Response:
    user = get_general_user(user_id, current_user.contract_id)
    form = UserEmailForm()
    context = _detail_context(user)
    context["email_form"] = form
    if not form.validate_on_submit():
        return render_screen("users/detail.html", status=form_status(form), **context)
    try:
        change_user_email(user, form.email.data)
    except Refused as refusal:
        show_refusal(form, refusal)
        return render_screen("users/detail.html", status=refusal.status, **context)
    flash(_("Eメールアドレスを変更しました。"), "success")
    return see_other(url_for("users.detail", user_id=user.id))


@bp.post("/<id:user_id>/devices")
@contractor_required
def devices(user_id: int) -> Response:
    """Save the scope and the page's ticks; 「前へ」「次へ」 save them too, then show that page."""
    user = get_general_user(user_id, current_user.contract_id)
    state = read_list_state(request.args)
    form = DeviceAccessForm()
    if not form.validate_on_submit():
        context = _detail_context(user, state)
        context["access_form"] = form
        return _detail_screen(user, context, status=form_status(form))

    set_device_access(
        user,
        all_devices=form.scope.data == "all",
        shown=posted_ids("shown"),
        allowed=posted_ids("device"),
    )
    flash(_("閲覧できる機器を変更しました。"), "success")
    goto = request.form.get("goto")
    page = parse_page(goto) if goto else state.page
    return _back_to_detail(user, {**state.args, "page": page if page > 1 else None})


@bp.post("/<id:user_id>/devices/all")
@contractor_required
def all_devices(user_id: int) -> Response:
    """「全N台を選択」「全N台の選択を解除」: every device of the contract, on every page."""
    user = get_general_user(user_id, current_user.contract_id)
    value = request.form.get("switch")
    if value not in ("on", "off"):
        abort(400)
    state = read_list_state(request.args)
    count = set_access_to_every_device(user, allowed=value == "on")
    if value == "on":
        flash(_("全%(count)s台を閲覧できる機器に選択しました。", count=count), "success")
    else:
        flash(_("全%(count)s台の選択を解除しました。", count=count), "success")
    return _back_to_detail(user, state.args)


@bp.post("/<id:user_id>/resend")
@contractor_required
def resend(user_id: int) -> Response:
    user = get_general_user(user_id, current_user.contract_id)
    if user.invitation_pending:
        mail = resend_invitation(user)
        if mail.sent:
            flash(_("%(email)s に招待メールを再送信しました。", email=user.email), "success")
        _flash_unsent(mail)
    return see_other(url_for("users.detail", user_id=user.id))


@bp.route("/<id:user_id>/delete", methods=["GET", "POST"])
@contractor_required
def delete(user_id: int) -> Response:
    user = get_general_user(user_id, current_user.contract_id)
    if request.method == "GET":
        return render_screen("users/delete.html", user=user, form=PortalForm())
    email = user.email
    delete_user(user)
    flash(_("ユーザー %(email)s を削除しました。", email=email), "success")
    return see_other(url_for("users.index"))
