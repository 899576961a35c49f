"""Read-only views of the contract's general users and notification addresses, and the terms."""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from ..access import contractor_required
from ..enums import Role
from ..extensions import db
from ..models import Contract, NotificationRecipient, User
from ..screens import render_screen
from . import bp

TERMS_VERSION = "1.0"


@bp.get("/users")
@contractor_required
def users() -> Response:
    contract = db.get_or_404(Contract, current_user.contract_id)
    general_users = db.session.scalars(
        select(User)
        .where(User.contract_id == contract.id, User.role == Role.GENERAL)
        .order_by(User.email)
    ).all()
    return render_screen("manage/users.html", users=general_users, contract=contract)


@bp.get("/notifications")
@contractor_required
def notifications() -> Response:
    recipients = db.session.scalars(
        select(NotificationRecipient)
        .where(NotificationRecipient.contract_id == current_user.contract_id)
        .order_by(NotificationRecipient.id)
    ).all()
    return render_screen("manage/notifications.html", recipients=recipients)


@bp.get("/terms")
@contractor_required
def terms() -> Response:
    return render_screen("manage/terms.html", version=TERMS_VERSION)
