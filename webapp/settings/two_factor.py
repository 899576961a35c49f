"""2段階認証 in アカウント設定: set up an authenticator app, new recovery codes, turn it off."""

from __future__ import annotations

from typing import Any

from flask import flash, session, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from ..access import signed_in_user
from ..auth.enrolment import ENROL_KEY
from ..auth.reauth import reauthenticated, sensitive_step
from ..extensions import db
from ..htmx import see_other
from ..models import Contract, User
from ..screens import render_screen
from ..services.refusals import Refused
from ..services.two_factor import (
    begin_enrolment,
    confirm_enrolment,
    has_second_factor,
    pending_secret,
    provisioning_uri,
    qr_data_uri,
    recovery_codes_left,
    regenerate_recovery_codes,
    turn_off,
)
from . import bp
from .forms import ConfirmCodeForm, TwoFactorChangeForm

# The section's forms, each with its own prefix (their fields' ids stay apart).
CHANGES = ("start", "codes", "off")


def two_factor_context(
    user: User, sent: tuple[str, TwoFactorChangeForm] | None = None
) -> dict[str, Any]:
    """What the 2段階認証 section of アカウント設定 shows (*sent*: a change refused, and its
    form with the message)."""
    contract = db.session.get(Contract, user.contract_id)
    enabled = has_second_factor(user)
    forms = {name: TwoFactorChangeForm(formdata=None, prefix=name) for name in CHANGES}
    if sent is not None:
        forms[sent[0]] = sent[1]
    return {
        "two_factor_enabled": enabled,
        "two_factor_required": bool(contract and contract.requires_two_factor),
        "recovery_codes_left": recovery_codes_left(user) if enabled else 0,
        "two_factor_forms": forms,
    }


def _checked(change: str) -> tuple[TwoFactorChangeForm, bool]:
    """The sent form of *change*, and whether the password is in order for it (auth.reauth)."""
    form = TwoFactorChangeForm(prefix=change)
    valid = form.validate_on_submit()
    return form, bool(reauthenticated(form.current_password) and valid)


def _refused(change: str, form: TwoFactorChangeForm) -> Response:
    """アカウント設定 again, with the refused form of the section and its message."""
    from .views import settings_screen  # the page's other forms are the views'

    return settings_screen(two_factor=(change, form))


def _enrol_screen(user: User, form: ConfirmCodeForm, status: int = 200) -> Response:
    secret = pending_secret(user)
    if secret is None:
        return see_other(url_for("settings.index", _anchor="two-factor"))
    return render_screen(
        "settings/two_factor_enrol.html",
        status=status,
        form=form,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        qr=qr_data_uri(provisioning_uri(user, secret)),
    )


def _codes_screen(codes: list[str], *, first: bool) -> Response:
    # Shown once, on the answer to the POST itself: no page can show them again.
    return render_screen("settings/recovery_codes.html", codes=codes, first=first)


@bp.post("/two-factor")
@login_required
@sensitive_step
def two_factor_start() -> Response:
    """Begin setting up an app: a new secret, shown on the next page as a QR code."""
    form, allowed = _checked("start")
    if not allowed:
        return _refused("start", form)
    try:
        begin_enrolment(signed_in_user())
    except Refused:
        return see_other(url_for("settings.index", _anchor="two-factor"))
    return see_other(url_for("settings.two_factor_enrol"))


@bp.get("/two-factor/enrol")
@login_required
def two_factor_enrol() -> Response:
    return _enrol_screen(signed_in_user(), ConfirmCodeForm(formdata=None))


@bp.post("/two-factor/enrol")
@login_required
def two_factor_confirm() -> Response:
    """The first code of the app turns two-factor login on; the recovery codes follow once."""
    user = signed_in_user()
    form = ConfirmCodeForm()
    if not form.validate_on_submit():
        return _enrol_screen(user, form, 422)
    try:
        codes = confirm_enrolment(user, form.code.data)
    except Refused as refusal:
        form.code.errors = [refusal.message]
        return _enrol_screen(user, form, refusal.status)
    session.pop(ENROL_KEY, None)
    return _codes_screen(codes, first=True)


@bp.post("/two-factor/recovery-codes")
@login_required
@sensitive_step
def two_factor_recovery_codes() -> Response:
    form, allowed = _checked("codes")
    if not allowed:
        return _refused("codes", form)
    try:
        codes = regenerate_recovery_codes(signed_in_user())
    except Refused:
        return see_other(url_for("settings.index", _anchor="two-factor"))
    return _codes_screen(codes, first=False)


@bp.post("/two-factor/off")
@login_required
@sensitive_step
def two_factor_off() -> Response:
    form, allowed = _checked("off")
    if not allowed:
        return _refused("off", form)
    try:
        turn_off(signed_in_user())
    except Refused as refusal:
        flash(refusal.message, "error")
        return see_other(url_for("settings.index", _anchor="two-factor"))
    flash(_("2段階認証を解除しました。"), "success")
    return see_other(url_for("settings.index", _anchor="two-factor"))
