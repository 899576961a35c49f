"""Two-factor login (2段階認証): an authenticator app (TOTP) and single-use recovery codes.

A login is complete only once a second factor has been given, whatever the factor: the
login views ask has_second_factor() after the password and check_second_factor() on the
second page. Another kind of factor (a passkey) joins by answering in those two.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, func, select, update

from ..audit import record_event
from ..crypto import digest
from ..database import lock_for_update, unit_of_work
from ..extensions import db
from ..i18n import lazy as _l
from ..mail import send_after_commit
from ..models import Contract, LoginSession, RecoveryCode, TotpCredential, User, utcnow
from .refusals import (
    InvalidCode,
    NotEnrolled,
    OwnTwoFactorFirst,
    TwoFactorRequired,
    WrongCode,
)

RECOVERY_CODE_COUNT = 10
# 12 characters from an alphabet without look-alikes (0/o, 1/l/i): about 59 bits each.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 12
TOTP_STEP_SECONDS = 30
# A code of the step before or after the current one is still taken (clock drift).
TOTP_DRIFT_STEPS = 1

_TOTP_CODE = re.compile(r"[0-9]{6}")
_RECOVERY_CODE = re.compile(f"[{RECOVERY_ALPHABET}]{{{RECOVERY_LENGTH}}}")


def _credential(user: User) -> TotpCredential | None:
    return db.session.get(TotpCredential, user.id)


def has_second_factor(user: User) -> bool:
    """Whether *user* logs in with a second factor after the password."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(TotpCredential)
            .where(TotpCredential.user_id == user.id, TotpCredential.enabled_at.is_not(None))
        )
        == 1
    )


def must_enrol(user: User) -> bool:
    """Whether *user*'s contract requires a second factor that *user* has not set up yet."""
    contract = db.session.get(Contract, user.contract_id)
    return contract is not None and contract.requires_two_factor and not has_second_factor(user)


def recovery_codes_left(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def pending_secret(user: User) -> str | None:
    """The secret of an enrolment under way (shown as a QR code), if there is one."""
    credential = _credential(user)
    if credential is None or credential.enabled_at is not None:
        return None
    return credential.secret


def begin_enrolment(user: User) -> str:
    """Start (or start again) setting up an authenticator app; return its new secret."""
    with unit_of_work():
        credential = _credential(user)
        if credential is not None and credential.enabled_at is not None:
            raise NotEnrolled()
        secret = pyotp.random_base32()
        if credential is None:
            db.session.add(TotpCredential(user_id=user.id, secret=secret))
        else:
            credential.secret = secret
            credential.created_at = utcnow()
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads: the account, named by the service."""
    issuer = current_app.config["SERVICE_NAME"]
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The QR code of *uri* as an SVG data URI (an <img> the Content-Security-Policy allows)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def _matching_step(secret: str, code: str, at: float | None) -> int | None:
    """The time step (current, or one either side) whose code is *code*, if any."""
    now = time.time() if at is None else at
    current = int(now // TOTP_STEP_SECONDS)
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS)
    found = None
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            found = step
    return found


def _spend_step(user: User, step: int) -> bool:
    """Record *step* as used, once: False if it (or a later one) was used already."""
    spent = db.session.execute(
        update(TotpCredential)
        .where(
            TotpCredential.user_id == user.id,
            (TotpCredential.last_step.is_(None)) | (TotpCredential.last_step < step),
        )
        .values(last_step=step)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(spent, "rowcount", 0))


def _normalise(code: str) -> str:
    return re.sub(r"[\s\-]", "", code or "").lower()


def _recovery_digest(user_id: int, code: str) -> str:
    return digest(f"recovery:{user_id}:{code}")


def _issue_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_digest=_recovery_digest(user.id, code)) for code in codes
    )
    return [format_recovery_code(code) for code in codes]


def format_recovery_code(code: str) -> str:
    """A recovery code as shown: abcd-efgh-jkmn."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _tell(user: User, change: str, **context: object) -> None:
    send_after_commit(
        user.email, "two_factor_changed", locale=user.locale, change=change, **context
    )


def confirm_enrolment(user: User, code: str, *, at: float | None = None) -> list[str]:
    """Turn two-factor login on with a code of the new app; return the ten recovery codes."""
    code = _normalise(code)
    if not _TOTP_CODE.fullmatch(code):
        raise InvalidCode(_l("確認コードは6桁の数字で入力してください。"))
    with unit_of_work():
        credential = _credential(user)
        if credential is None or credential.enabled_at is not None:
            raise NotEnrolled()
        step = _matching_step(credential.secret, code, at)
        if step is None:
            raise WrongCode(_l("確認コードが正しくありません。アプリの表示をご確認ください。"))
        # Only one of two submits at once turns it on: the other's codes would be dead.
        turned_on = db.session.execute(
            update(TotpCredential)
            .where(TotpCredential.user_id == user.id, TotpCredential.enabled_at.is_(None))
            .values(enabled_at=utcnow(), last_step=step)
            .execution_options(synchronize_session="fetch")
        )
        if not getattr(turned_on, "rowcount", 0):
            raise NotEnrolled()
        codes = _issue_recovery_codes(user)
        record_event("two_factor.enable", contract_id=user.contract_id, actor_email=user.email)
        _tell(user, "enabled")
    return codes


def regenerate_recovery_codes(user: User) -> list[str]:
    """Replace every recovery code of *user* with ten new ones (the old ones die)."""
    with unit_of_work():
        # Two submits at once take turns: the codes of the last one are the ones kept.
        lock_for_update(db.session, User, user.id)
        if not has_second_factor(user):
            raise NotEnrolled()
        codes = _issue_recovery_codes(user)
        record_event(
            "two_factor.recovery_codes", contract_id=user.contract_id, actor_email=user.email
        )
        _tell(user, "recovery_codes")
    return codes


def turn_off(user: User) -> None:
    """Turn two-factor login off: the app's secret and the recovery codes are deleted."""
    with unit_of_work():
        contract = db.session.get(Contract, user.contract_id)
        if contract is not None and contract.requires_two_factor:
            raise TwoFactorRequired()
        if not has_second_factor(user):
            return
        db.session.execute(delete(TotpCredential).where(TotpCredential.user_id == user.id))
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        record_event("two_factor.disable", contract_id=user.contract_id, actor_email=user.email)
        _tell(user, "disabled")


def check_second_factor(user: User, code: str, *, at: float | None = None) -> str:
    """Accept a code of the app or an unused recovery code, once; return which it was.

    InvalidCode for text that is neither (nothing is counted); WrongCode for a wrong,
    replayed or used code. A used recovery code is recorded and mailed.
    """
    code = _normalise(code)
    if _TOTP_CODE.fullmatch(code):
        with unit_of_work():
            credential = _credential(user)
            if credential is None or credential.enabled_at is None:
                raise WrongCode()
            step = _matching_step(credential.secret, code, at)
            if step is None or not _spend_step(user, step):
                raise WrongCode()
        return "totp"
    if _RECOVERY_CODE.fullmatch(code):
        with unit_of_work():
            spent = db.session.execute(
                update(RecoveryCode)
                .where(
                    RecoveryCode.user_id == user.id,
                    RecoveryCode.code_digest == _recovery_digest(user.id, code),
                    RecoveryCode.used_at.is_(None),
                )
                .values(used_at=utcnow())
                .execution_options(synchronize_session="fetch")
            )
            if not getattr(spent, "rowcount", 0):
                raise WrongCode()
            left = recovery_codes_left(user)
            record_event(
                "two_factor.recovery_used",
                contract_id=user.contract_id,
                actor_email=user.email,
                detail={"left": left},
            )
            _tell(user, "recovery_used", left=left)
        return "recovery"
    raise InvalidCode()


def set_contract_requirement(contractor: User, required: bool) -> None:
    """The contractor's switch: every user of the contract logs in with a second factor."""
    with unit_of_work():
        contract = db.session.get(Contract, contractor.contract_id)
        assert contract is not None
        if required and not has_second_factor(contractor):
            raise OwnTwoFactorFirst()
        if contract.requires_two_factor == required:
            return
        contract.requires_two_factor = required
        if required:
            # Whoever is logged in without a second factor logs in again, and sets one up
            # before anything else: the requirement holds from now, not from their next login.
            enrolled = select(TotpCredential.user_id).where(TotpCredential.enabled_at.is_not(None))
            unenrolled = select(User.id).where(
                User.contract_id == contract.id, User.id.not_in(enrolled)
            )
            db.session.execute(
                delete(LoginSession).where(LoginSession.user_id.in_(unenrolled)),
                execution_options={"synchronize_session": False},
            )
        record_event("contract.two_factor", contract_id=contract.id, detail={"required": required})
