"""契約者情報確認, 退会手続き, 退会最終確認 and 退会処理完了."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from ..access import contractor_required
from ..audit import record_event
from ..auth.sessions import token_hash
from ..enums import TokenPurpose
from ..extensions import db
from ..filters import DISPLAY_ZONE
from ..htmx import see_other
from ..models import Contract
from ..screens import render_screen
from ..services.account import (
    PROFILE_FIELDS,
    AlreadyWithdrawn,
    DevicesRemain,
    may_withdraw,
    update_profile,
    withdraw_contract,
)
from ..services.credentials import (
    EmailTaken,
    InvalidLink,
    change_password,
    confirm_email_change,
    request_email_change,
)
from ..services.export import as_csv_zip, as_json
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
def edit() -> Response:
    """契約者情報の変更."""
    contract = db.get_or_404(Contract, current_user.contract_id)
    user = current_user._get_current_object()
    form = ContractorForm(user=user, obj=contract if request.method == "GET" else None)
    if request.method == "GET":
        form.email.data = user.email
        if len(contract.postal_code) == 7:
            form.postal_code.data = f"{contract.postal_code[:3]}-{contract.postal_code[3:]}"
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_screen("account/edit.html", status=status, form=form)
    # A field the browser did not send reads as empty (the columns hold "" for "none").
    values = {name: form[name].data or "" for name in PROFILE_FIELDS}
    values["wants_news"] = bool(form.wants_news.data)
    changed = update_profile(contract, values)
    messages = [_("契約者情報を変更しました。")] if changed else []
    if form.email.data != user.email:
        try:
            request_email_change(user, form.email.data)
        except EmailTaken:
            form.email.errors = [_("このEメールアドレスは既に使われています。")]
            return render_screen("account/edit.html", status=422, form=form)
        messages.append(
            _(
                "%(email)s に確認メールを送信しました。"
                "メールのリンクを開くと、Eメールアドレスの変更が完了します。",
                email=form.email.data,
            )
        )
    if form.new_password.data:
        change_password(
            user,
            form.current_password.data,
            form.new_password.data,
            keep_token_hash=token_hash(user.session_token or ""),
        )
        messages.append(_("パスワードを変更しました。ほかの端末のログインは終了しました。"))
    flash(" ".join(messages) or _("変更はありませんでした。"), "success")
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
    except InvalidLink:
        return make_response(render_template("account/email_link_invalid.html"), 410)
    except EmailTaken:
        return make_response(render_template("account/email_link_invalid.html", taken=True), 409)
    flash(
        _("Eメールアドレスを変更しました。ログインには新しいアドレスをお使いください。"),
        "success",
    )
    return redirect(url_for("auth.login"), 303)


@bp.route("/withdraw", methods=["GET", "POST"])
@contractor_required
def withdraw() -> Response:
    contract = db.get_or_404(Contract, current_user.contract_id)
    if not may_withdraw(contract.id):
        # Refused on POST as well as shown on GET: the server decides, not the page.
        status = 409 if request.method == "POST" else 200
        return render_screen("account/withdraw_blocked.html", status=status)
    form = WithdrawForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_screen("account/withdraw.html", status=status, form=form)
    try:
        withdraw_contract(contract)
    except DevicesRemain:
        return render_screen("account/withdraw_blocked.html", status=409)
    except AlreadyWithdrawn:
        pass
    logout_user()
    session.clear()
    session["withdrawn"] = True
    return see_other(url_for("account.withdrawn"))


@bp.get("/export.<any(json, zip):kind>")
@contractor_required
def export(kind: str) -> Response:
    """Download everything the portal holds about the contract (JSON, or CSV files in a ZIP)."""
    contract_id = current_user.contract_id
    today = dt.datetime.now(DISPLAY_ZONE).strftime("%Y%m%d")
    if kind == "json":
        body, mimetype = as_json(contract_id), "application/json"
    else:
        body, mimetype = as_csv_zip(contract_id), "application/zip"
    record_event("contract.export", contract_id=contract_id, detail={"format": kind})
    db.session.commit()
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="contract-{today}.{kind}"'
    return response


@bp.get("/withdrawn")
def withdrawn() -> Response:
    """退会処理完了: shown to the browser that has just withdrawn."""
    if not session.get("withdrawn"):
        abort(404)
    return make_response(render_template("account/withdrawn.html"))
