"""契約者情報確認, 退会手続き, 退会最終確認 and 退会処理完了."""

from __future__ import annotations

from flask import abort, make_response, render_template, request, session, url_for
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from ..access import contractor_required
from ..extensions import db
from ..htmx import see_other
from ..models import Contract
from ..screens import render_screen
from ..services.account import AlreadyWithdrawn, DevicesRemain, may_withdraw, withdraw_contract
from . import bp
from .forms import WithdrawForm


@bp.get("")
@contractor_required
def index() -> Response:
    contract = db.get_or_404(Contract, current_user.contract_id)
    return render_screen("account/index.html", contract=contract, user=current_user)


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


@bp.get("/withdrawn")
def withdrawn() -> Response:
    """退会処理完了: shown to the browser that has just withdrawn."""
    if not session.get("withdrawn"):
        abort(404)
    return make_response(render_template("account/withdrawn.html"))
