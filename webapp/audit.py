"""The audit log: who did what, when, and from where."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import insert, select

from .extensions import db
from .i18n import LANGUAGES
from .i18n import lazy as _l
from .models import AuditEvent, format_mac, utcnow
from .useragent import browser_summary

# What each recorded action is called in 操作履歴.
ACTION_LABELS = {
    "login": _l("ログイン"),
    "login.failed": _l("ログインの失敗"),
    "login.mobile_refused": _l("スマートフォンからのログイン (拒否)"),
    "reauth.failed": _l("パスワード再入力の失敗"),
    "logout": _l("ログアウト"),
    "device.register": _l("機器登録"),
    "device.update": _l("機器情報の変更"),
    "device.setup": _l("機器設定"),
    "device.exchange": _l("機器の交換"),
    "device.delete": _l("機器の削除 (解約)"),
    "licence.revoke": _l("ライセンスの失効 (運営)"),
    "password.reset_requested": _l("パスワード再設定の申請"),
    "password.reset": _l("パスワードの再設定"),
    "password.change": _l("パスワードの変更"),
    "email.change_requested": _l("Eメールアドレス変更の申請"),
    "email.change": _l("Eメールアドレスの変更"),
    "contract.update": _l("契約者情報の変更"),
    "user.invite": _l("ユーザーの招待"),
    "user.activate": _l("ユーザーのパスワード設定"),
    "user.email": _l("ユーザーのEメールアドレス変更"),
    "user.devices": _l("ユーザーの閲覧機器の変更"),
    "user.devices_all": _l("ユーザーの閲覧機器の一括変更"),
    "user.delete": _l("ユーザーの削除"),
    "notifications.recipients": _l("通知先の変更"),
    "notifications.devices": _l("機器ごとの通知設定の変更"),
    "notifications.all_devices": _l("全機器の通知設定の一括変更"),
    "terms.accept": _l("規約への同意"),
    "contract.export": _l("データのダウンロード"),
    "recordings.download": _l("録画データのダウンロード"),
    "licences.export": _l("ライセンス一覧のダウンロード"),
    "user.language": _l("表示言語の変更"),
    "login.code_failed": _l("確認コードの誤り"),
    "two_factor.enable": _l("2段階認証の設定"),
    "two_factor.disable": _l("2段階認証の解除"),
    "two_factor.recovery_codes": _l("リカバリーコードの再発行"),
    "two_factor.recovery_used": _l("リカバリーコードでのログイン"),
    "contract.two_factor": _l("2段階認証の必須設定の変更"),
}

# Attempts on an account made before anyone logged in, or a wrong password asked again of a
# login (perhaps a stolen one): 操作履歴 names the browser they came from, since the person
# is not known to be the account's owner.
SECURITY_ACTIONS = frozenset(
    {
        "login.failed",
        "login.mobile_refused",
        "password.reset_requested",
        "login.code_failed",
        "reauth.failed",
    }
)

# How the fields named in an event's detail read in 操作履歴, by the action that changed
# them: the same name is a device's 機器名 in one and the contractor's お名前 in another.
FIELD_LABELS = {
    "device.update": {
        "name": _l("機器名"),
        "domain": _l("ドメイン名"),
        "camera_admin_user": _l("カメラの管理 ユーザー ID"),
        "camera_admin_password": _l("カメラの管理 パスワード"),
        "camera_list_user": _l("カメラの一覧 ユーザー ID"),
        "camera_list_password": _l("カメラの一覧 パスワード"),
    },
    "contract.update": {
        "company_name": _l("法人名・屋号"),
        "name": _l("お名前"),
        "furigana": _l("フリガナ"),
        "postal_code": _l("郵便番号"),
        "address": _l("住所"),
        "phone_work": _l("電話番号 (勤務先)"),
        "phone_mobile": _l("電話番号 (携帯電話)"),
        "phone_home": _l("電話番号 (自宅)"),
        "wants_news": _l("お知らせメール"),
    },
}


def describe(event: AuditEvent) -> str:
    """Say in a line what an event changed, for 操作履歴 (never a secret)."""
    detail = event.detail or {}
    if event.action in SECURITY_ACTIONS:
        return (
            _("ブラウザ: %(browser)s", browser=browser_summary(event.user_agent))
            if event.user_agent
            else ""
        )
    if event.action == "contract.two_factor" and "required" in detail:
        return _("必須") if detail["required"] else _("任意")
    if event.action == "user.language" and detail.get("to") in LANGUAGES:
        return LANGUAGES[detail["to"]]
    if event.action == "device.exchange" and "from" in detail:
        (old_model, old_mac), (new_model, new_mac) = detail["from"], detail["to"]
        return f"{old_model} {format_mac(old_mac)} → {new_model} {format_mac(new_mac)}"
    if event.action == "device.register" and "mac" in detail:
        model, licence = detail.get("model", ""), detail.get("licence", "")
        return _(
            "%(model)s %(mac)s ライセンス %(licence)s",
            model=model,
            mac=format_mac(detail["mac"]),
            licence=licence,
        )
    if "fields" in detail:
        labels = FIELD_LABELS.get(event.action, {})
        # The labels are lazily translated: make each a str before joining.
        return _("変更: ") + _("、").join(str(labels.get(f, f)) for f in detail["fields"])
    if event.action == "device.delete" and detail.get("reason"):
        return _("理由: %(reason)s", reason=detail["reason"][:100])
    if event.action == "recordings.download" and "recordings" in detail:
        if "devices" in detail:
            return _(
                "選択した機器 (%(devices)s台) の録画 %(count)s件",
                devices=detail["devices"],
                count=detail["recordings"],
            )
        if event.target_type == "contract":
            return _("すべての機器の録画 %(count)s件", count=detail["recordings"])
        return _("録画 %(count)s件", count=detail["recordings"])
    if event.action == "licences.export" and "licences" in detail:
        return _("ライセンス %(count)s件", count=detail["licences"])
    return ""


def _origin(actor_email: str | None, *, anonymous: bool) -> dict[str, str]:
    """Who acts and from where: the person logged in, their address and browser."""
    ip = user_agent = ""
    if has_request_context() and not anonymous:
        ip = (request.remote_addr or "")[:45]
        user_agent = request.user_agent.string[:300]
        if actor_email is None and current_user.is_authenticated:
            actor_email = current_user.email
    return {"actor_email": actor_email or "", "ip": ip, "user_agent": user_agent}


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
    event = AuditEvent(
        contract_id=contract_id,
        **_origin(actor_email, anonymous=anonymous),
        action=action,
        target_type=target_type,
        target_id=target_id,
        summary=summary[:200],
        detail=detail or {},
    )
    db.session.add(event)
    return event


EventTarget = tuple[int, str, dict[str, Any]]  # target_id, summary, detail


def record_events(
    action: str, *, contract_id: int, target_type: str, targets: list[EventTarget]
) -> None:
    """Add one event per (target_id, summary, detail) in a single statement (a bulk action).

    Thousands of events at once would cost a flush of as many ORM objects; the rows are
    the same as record_event() writes.
    """
    if not targets:
        return
    origin = _origin(None, anonymous=False)
    now = utcnow()
    rows = [
        {
            "occurred_at": now,
            "contract_id": contract_id,
            **origin,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "summary": summary[:200],
            "detail": detail,
        }
        for target_id, summary, detail in targets
    ]
    db.session.execute(insert(AuditEvent), rows)


def deletion_event(contract_id: int, action: str, target_id: int) -> AuditEvent | None:
    """Return the audit event of this contract's deletion of an object, if there was one.

    It tells "you deleted this already" (a double submit, a stale tab) from "no such object
    of yours" (a 404), without revealing anything about other contracts.
    """
    return db.session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.contract_id == contract_id,
            AuditEvent.action == action,
            AuditEvent.target_id == target_id,
        )
        .limit(1)
    )


def deleted_by(contract_id: int, action: str, target_ids: set[int]) -> dict[int, str]:
    """Of *target_ids*, those this contract deleted (by *action*), with their names then.

    deletion_event for many objects at once, in one statement: a bulk action tells the
    ids deleted meanwhile from ids that were never the contract's.
    """
    if not target_ids:
        return {}
    rows = db.session.execute(
        select(AuditEvent.target_id, AuditEvent.summary).where(
            AuditEvent.contract_id == contract_id,
            AuditEvent.action == action,
            AuditEvent.target_id.in_(target_ids),
        )
    ).all()
    return {target_id: summary for target_id, summary in rows if target_id is not None}
