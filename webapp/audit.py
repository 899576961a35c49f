"""The audit log: who did what, when, and from where."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from .extensions import db
from .models import AuditEvent

# What each recorded action is called in 操作履歴.
ACTION_LABELS = {
    "login": "ログイン",
    "logout": "ログアウト",
    "device.register": "機器登録",
    "device.update": "機器情報の変更",
    "device.setup": "機器設定",
    "device.exchange": "機器の交換",
    "device.delete": "機器の削除 (解約)",
    "licence.revoke": "ライセンスの失効 (運営)",
}


def record_event(
    action: str,
    *,
    contract_id: int | None,
    target_type: str = "",
    target_id: int | None = None,
    summary: str = "",
    detail: dict[str, Any] | None = None,
    actor_email: str | None = None,
    anonymous: bool = False,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits).

    An anonymous event records no person, address or browser (a withdrawal's trace).
    """
    ip = user_agent = ""
    if has_request_context() and not anonymous:
        ip = (request.remote_addr or "")[:45]
        user_agent = request.user_agent.string[:300]
        if actor_email is None and current_user.is_authenticated:
            actor_email = current_user.email
    event = AuditEvent(
        contract_id=contract_id,
        actor_email=actor_email or "",
        ip=ip,
        user_agent=user_agent,
        action=action,
        target_type=target_type,
        target_id=target_id,
        summary=summary[:200],
        detail=detail or {},
    )
    db.session.add(event)
    return event
