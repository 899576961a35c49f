"""ユーザー管理: the contractor requires two-factor login of every user of the contract."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ..access import contractor_required, signed_in_user
from ..extensions import db
from ..forms import PortalForm
from ..htmx import see_other
from ..models import Contract
from ..screens import render_screen
from ..services.refusals import Refused
from ..services.two_factor import set_contract_requirement
from . import bp
from .queries import general_users


@bp.post("/two-factor")
@contractor_required
def require_two_factor() -> Response:
    """契約のすべてのユーザーに2段階認証を求める: on or off."""
    form = PortalForm()
    contract = db.get_or_404(Contract, current_user.contract_id)
    if not form.validate_on_submit():
        return see_other(url_for("users.index"))
    required = request.form.get("requires_two_factor") == "y"
    try:
        set_contract_requirement(signed_in_user(), required)
    except Refused as refusal:
        return render_screen(
            "users/index.html",
            status=refusal.status,
            users=general_users(contract.id),
            contract=contract,
            two_factor_error=refusal.message,
        )
    flash(_("2段階認証の設定を変更しました。"), "success")
    return see_other(url_for("users.index"))
