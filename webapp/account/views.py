"""契約者情報確認, 退会手続き, 退会最終確認 and 退会処理完了."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from .. import clock
from ..access import contractor_required, signed_in_user
from ..archives import zip_download
from ..auth.reauth import password_due, reauthenticated, sensitive_step
from ..crypto import digest
from ..enums import TokenPurpose
from ..extensions import db
from ..htmx import see_other
from ..models import Contract
from ..recordings.queries import count_contract_recordings, recordings_of_contract_to_archive
from ..screens import render_form, render_screen
from ..services.account import (
    PROFILE_FIELDS,
    may_withdraw,
    update_contractor,
    withdraw_contract,
)
from ..services.credentials import confirm_email_change
from ..services.device_sets import contract_devices
from ..services.export import export_contract
from ..services.recordings import record_archive_download
from ..services.refusals import (
    AlreadyWithdrawn,
    DevicesRemain,
    EmailTaken,
    InvalidLink,
    Refused,
)
from ..services.tokens import find_token
from . import bp
from .forms import ContractorForm, WithdrawForm


@bp.get("")
@contractor_required
def index() -> Response:
    contract = db.get_or_404(Contract, current_user.contract_id)
    return render_screen("account/index.html", contract=contract, user=current_user)


@bp.route("/edit", methods=["GET", "POST"])
@contractor_required
@sensitive_step
def edit() -> Response:
    """契約者情報の変更.

    A new password needs the current one; a new login e-mail needs it unless it was given
    within the last minutes (auth.reauth). The other details need nothing more.
    """
    contract = db.get_or_404(Contract, current_user.contract_id)
    user = signed_in_user()
    form = ContractorForm(user=user, obj=contract if request.method == "GET" else None)
    if request.method == "GET":
        form.email.data = user.email
        if len(contract.postal_code) == 7:
            form.postal_code.data = f"{contract.postal_code[:3]}-{contract.postal_code[3:]}"
    valid = form.validate_on_submit()
    if request.method == "POST" and (form.current_password.data or form.changes_login):
        new_password = bool(form.new_password.data or form.confirm_password.data)
        needed = (
            _("パスワードを変更するには、現在のパスワードを入力してください。")
            if new_password
            else _("Eメールアドレスを変更するには、現在のパスワードを入力してください。")
        )
        valid = reauthenticated(form.current_password, always=new_password, needed=needed) and valid
    if not valid:
        return render_form("account/edit.html", form, password_due=password_due())
    # A field the browser did not send reads as empty (the columns hold "" for "none").
    values: dict[str, object] = {name: form[name].data or "" for name in PROFILE_FIELDS}
    values["wants_news"] = bool(form.wants_news.data)
    try:
        change = update_contractor(
            contract,
            user,
            values,
            email=form.email.data,
            new_password=form.new_password.data or "",
            keep_token_hash=digest(user.session_token or ""),
        )
    except Refused as refusal:
        return render_form("account/edit.html", form, refusal=refusal, password_due=password_due())
    messages = [_("契約者情報を変更しました。")] if change.changed else []
    mailed = change.confirmation is None or change.confirmation.sent
    if change.confirmation is not None:
        messages.append(
            _(
                "%(email)s に確認メールを送信しました。"
                "メールのリンクを開くと、Eメールアドレスの変更が完了します。",
                email=form.email.data,
            )
            if mailed
            else _(
                "%(email)s に確認メールを送信できませんでした。"
                "Eメールアドレスは変更されていません。しばらくしてからもう一度お試しください。",
                email=form.email.data,
            )
        )
    if change.password_changed:
        messages.append(_("パスワードを変更しました。ほかの端末のログインは終了しました。"))
    flash(" ".join(messages) or _("変更はありませんでした。"), "success" if mailed else "error")
    return see_other(url_for("account.index"))


@bp.route("/email/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> Response:
    """The link of the e-mail change mail: confirm with a button (no change on GET)."""
    live = find_token(token, TokenPurpose.EMAIL_CHANGE)
    if live is None:
        return make_response(render_template("account/email_link_invalid.html"), 410)
    if request.method == "GET":
        return make_response(
            render_template("account/email_confirm.html", new_email=live.new_email)
        )
    try:
        confirm_email_change(token)
    except InvalidLink as refusal:
        return make_response(render_template("account/email_link_invalid.html"), refusal.status)
    except EmailTaken as refusal:
        page = render_template("account/email_link_invalid.html", taken=True)
        return make_response(page, refusal.status)
    flash(
        _("Eメールアドレスを変更しました。ログインには新しいアドレスをお使いください。"),
        "success",
    )
    return redirect(url_for("auth.login"), 303)


def _blocked(contract_id: int, status: int, recordings: int) -> Response:
    """退会手続き while devices remain: how many, and a way to delete them all at once."""
    return render_screen(
        "account/withdraw_blocked.html",
        status=status,
        recordings=recordings,
        devices=contract_devices(contract_id),
    )


@bp.route("/withdraw", methods=["GET", "POST"])
@contractor_required
@sensitive_step
def withdraw() -> Response:
    """退会最終確認: the ticks, and the password unless given within the last minutes."""
    contract = db.get_or_404(Contract, current_user.contract_id)
    # What withdrawal would delete, with the downloads to keep it (account/_export_notice).
    recordings = count_contract_recordings(contract.id)
    if not may_withdraw(contract.id):
        # Refused on POST as well as shown on GET: the server decides, not the page.
        status = DevicesRemain.status if request.method == "POST" else 200
        return _blocked(contract.id, status, recordings)
    form = WithdrawForm()
    valid = form.validate_on_submit()
    if request.method == "POST":
        needed = _("退会するには、現在のパスワードを入力してください。")
        valid = reauthenticated(form.current_password, needed=needed) and valid
    if not valid:
        return render_form(
            "account/withdraw.html", form, recordings=recordings, password_due=password_due()
        )
    mail = None
    try:
        mail = withdraw_contract(contract)
    except DevicesRemain as refusal:
        return _blocked(contract.id, refusal.status, recordings)
    except AlreadyWithdrawn:
        pass
    logout_user()
    session.clear()
    session["withdrawn"] = True
    if mail is not None and mail.sent is False:
        flash(
            _(
                "退会処理は完了しましたが、%(email)s にお知らせメールを送信できませんでした。",
                email=", ".join(mail.recipients),
            ),
            "error",
        )
    return see_other(url_for("account.withdrawn"))


@bp.get("/export.<any(json, zip):kind>")
@contractor_required
def export(kind: str) -> Response:
    """Download everything the portal holds about the contract (JSON, or CSV files in a ZIP)."""
    body, mimetype = export_contract(current_user.contract_id, kind)
    today = clock.today().strftime("%Y%m%d")
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="contract-{today}.{kind}"'
    return response


@bp.get("/recordings.zip")
@contractor_required
def recordings() -> Response:
    """Every recording of the contract in one ZIP, streamed from storage: to keep before 退会."""
    contract_id = current_user.contract_id
    archived = recordings_of_contract_to_archive(contract_id)
    record_archive_download(contract_id, len(archived))
    name = f"recordings-{clock.today().strftime('%Y%m%d')}.zip"
    return zip_download(archived, name, name)


@bp.get("/withdrawn")
def withdrawn() -> Response:
    """退会処理完了: shown to the browser that has just withdrawn."""
    if not session.get("withdrawn"):
        abort(404)
    return make_response(render_template("account/withdrawn.html"))
