"""ユーザー管理: list, invite, detail (e-mail, device access), delete."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from ..access import contractor_required
from ..audit import deletion_event
from ..enums import Role
from ..extensions import db
from ..forms import PortalForm
from ..htmx import see_other
from ..i18n import lazy as _l
from ..models import Contract, Device, User, UserDevice
from ..paging import Pagination, parse_page
from ..screens import render_screen
from ..services.credentials import EmailTaken
from ..services.people import (
    SeatLimitReached,
    UserGone,
    change_user_email,
    delete_user,
    invite_user,
    resend_invitation,
    seats_used,
    set_device_access,
)
from . import bp
from .forms import DeviceAccessForm, InviteForm, UserEmailForm

DEVICES_PER_PAGE = 50
EMAIL_TAKEN = _l("このEメールアドレスは既に使われています。")


def get_general_user(user_id: int, contract_id: int) -> User:
    """Return the contract's general user, or 404 (another contract's user is a 404 too)."""
    user = db.session.scalar(
        select(User).where(
            User.id == user_id, User.contract_id == contract_id, User.role == Role.GENERAL
        )
    )
    if user is None:
        abort(404)
    return user


def _contract() -> Contract:
    return db.get_or_404(Contract, current_user.contract_id)


@bp.get("")
@contractor_required
def index() -> Response:
    contract = _contract()
    users = db.session.scalars(
        select(User)
        .where(User.contract_id == contract.id, User.role == Role.GENERAL)
        .order_by(User.email)
    ).all()
    return render_screen("users/index.html", users=users, contract=contract)


@bp.route("/new", methods=["GET", "POST"])
@contractor_required
def invite() -> Response:
    contract = _contract()
    form = InviteForm()
    context: dict[str, Any] = {
        "form": form,
        "contract": contract,
        "used": seats_used(contract.id),
    }
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_screen("users/invite.html", status=status, **context)
    try:
        user = invite_user(contract, form.email.data)
    except SeatLimitReached as full:
        form.email.errors = [
            _(
                "登録できるユーザーは%(count)s人までです。不要なユーザーを削除してから登録してください。",
                count=full.limit,
            )
        ]
        return render_screen("users/invite.html", status=409, **context)
    except EmailTaken:
        form.email.errors = [EMAIL_TAKEN]
        return render_screen("users/invite.html", status=422, **context)
    flash(_("%(email)s に招待メールを送信しました。", email=user.email), "success")
    return see_other(url_for("users.detail", user_id=user.id))


def _detail_context(user: User) -> dict[str, Any]:
    """Everything the detail screen shows, with one page of the device checklist."""
    total = (
        db.session.scalar(
            select(db.func.count(Device.id)).where(Device.contract_id == user.contract_id)
        )
        or 0
    )
    pagination = Pagination.clamp(parse_page(request.args.get("page")), DEVICES_PER_PAGE, total)
    devices = db.session.scalars(
        select(Device)
        .where(Device.contract_id == user.contract_id)
        .order_by(Device.name, Device.id)
        .limit(DEVICES_PER_PAGE)
        .offset(pagination.offset)
    ).all()
    allowed = set(
        db.session.scalars(
            select(UserDevice.device_id).where(
                UserDevice.user_id == user.id,
                UserDevice.device_id.in_([device.id for device in devices]),
            )
        )
    )
    access = DeviceAccessForm(formdata=None, scope="all" if user.all_devices else "selected")
    return {
        "user": user,
        "email_form": UserEmailForm(formdata=None),
        "access_form": access,
        "devices": devices,
        "allowed": allowed,
        "page": pagination,
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
    if form.validate_on_submit():
        try:
            change_user_email(user, form.email.data)
        except EmailTaken:
            form.email.errors = [EMAIL_TAKEN]
        else:
            flash(_("Eメールアドレスを変更しました。"), "success")
            return see_other(url_for("users.detail", user_id=user.id))
    context = _detail_context(user)
    context["email_form"] = form
    return render_screen("users/detail.html", status=422, **context)


@bp.post("/<id:user_id>/devices")
@contractor_required
def devices(user_id: int) -> Response:
    user = get_general_user(user_id, current_user.contract_id)
    form = DeviceAccessForm()
    if not form.validate_on_submit():
        context = _detail_context(user)
        context["access_form"] = form
        return render_screen("users/detail.html", status=422, **context)

    def ids(name: str) -> set[int]:
        return {int(v) for v in request.form.getlist(name) if v.isdigit() and len(v) < 10}

    set_device_access(
        user, all_devices=form.scope.data == "all", shown=ids("shown"), allowed=ids("device")
    )
    flash(_("閲覧できる機器を変更しました。"), "success")
    return see_other(url_for("users.detail", user_id=user.id, page=request.args.get("page")))


@bp.post("/<id:user_id>/resend")
@contractor_required
def resend(user_id: int) -> Response:
    user = get_general_user(user_id, current_user.contract_id)
    if user.password_hash is None:
        resend_invitation(user)
        flash(_("%(email)s に招待メールを再送信しました。", email=user.email), "success")
    return see_other(url_for("users.detail", user_id=user.id))


@bp.route("/<id:user_id>/delete", methods=["GET", "POST"])
@contractor_required
def delete(user_id: int) -> Response:
    user = db.session.scalar(
        select(User).where(
            User.id == user_id,
            User.contract_id == current_user.contract_id,
            User.role == Role.GENERAL,
        )
    )
    if user is None:
        if deletion_event(current_user.contract_id, "user.delete", user_id) is None:
            abort(404)
        # A second submit, or a stale tab: this contract deleted the user already.
        flash(_("このユーザーは既に削除されています。"), "info")
        return see_other(url_for("users.index"))
    if request.method == "GET":
        return render_screen("users/delete.html", user=user, form=PortalForm())
    email = user.email
    try:
        delete_user(user)
    except UserGone:
        flash(_("このユーザーは既に削除されています。"), "info")
        return see_other(url_for("users.index"))
    flash(_("ユーザー %(email)s を削除しました。", email=email), "success")
    return see_other(url_for("users.index"))
