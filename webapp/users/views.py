"""ユーザー管理: list, invite, detail (e-mail, device access), delete."""

from __future__ import annotations

from typing import Any

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ..access import contractor_required
from ..extensions import db
from ..forms import PortalForm, posted_ids
from ..htmx import see_other
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
    set_device_access,
)
from . import bp
from .forms import DeviceAccessForm, InviteForm, UserEmailForm
from .queries import device_access_page, general_users, get_general_user

DEVICES_PER_PAGE = 50


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


def _detail_context(user: User) -> dict[str, Any]:
    """Everything the detail screen shows, with one page of the device checklist."""
    access = device_access_page(user, parse_page(request.args.get("page")), DEVICES_PER_PAGE)
    return {
        "user": user,
        "email_form": UserEmailForm(formdata=None),
        "access_form": DeviceAccessForm(
            formdata=None, scope="all" if user.all_devices else "selected"
        ),
        "devices": access.devices,
        "allowed": access.allowed,
        "page": access.pagination,
    }


@bp.get("/<id:user_id>")
@contractor_required
def detail(user_id: int) -> Response:
    user = get_general_user(user_id, current_user.contract_id)
    return render_screen("users/detail.html", **_detail_context(user))


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
    user = get_general_user(user_id, current_user.contract_id)
    form = DeviceAccessForm()
    if not form.validate_on_submit():
        context = _detail_context(user)
        context["access_form"] = form
        return render_screen("users/detail.html", status=form_status(form), **context)

    set_device_access(
        user,
        all_devices=form.scope.data == "all",
        shown=posted_ids("shown"),
        allowed=posted_ids("device"),
    )
    flash(_("閲覧できる機器を変更しました。"), "success")
    return see_other(url_for("users.detail", user_id=user.id, page=request.args.get("page")))


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
