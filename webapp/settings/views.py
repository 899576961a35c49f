"""アカウント設定: a user changes their own e-mail, password and language, never another's.

Every view acts on the logged-in user only: no user id travels in a URL or a form.
"""

from __future__ import annotations

from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from ..access import signed_in_user
from ..auth.reauth import password_due, reauthenticated, sensitive_step
from ..crypto import digest
from ..htmx import see_other
from ..i18n import current_language, remember_language, speaking
from ..screens import render_screen, show_refusal
from ..services.credentials import change_password, request_email_change
from ..services.refusals import Refused
from ..services.users import set_language
from . import bp
from .forms import LanguageForm, OwnEmailForm, OwnPasswordForm, TwoFactorChangeForm
from .two_factor import two_factor_context


def settings_screen(
    *,
    email_form: OwnEmailForm | None = None,
    password_form: OwnPasswordForm | None = None,
    language_form: LanguageForm | None = None,
    two_factor: tuple[str, TwoFactorChangeForm] | None = None,
    refusal: Refused | None = None,
) -> Response:
    """The page with its forms; the one that was sent keeps its input and errors."""
    user = signed_in_user()
    sent = email_form or password_form or language_form or (two_factor and two_factor[1])
    if refusal is not None and sent is not None:
        show_refusal(sent, refusal)
    status = refusal.status if refusal else 422 if sent is not None and sent.errors else 200
    if language_form is None:
        language_form = LanguageForm(formdata=None, language=current_language())
    return render_screen(
        "settings/index.html",
        status=status,
        user=user,
        email_form=email_form or OwnEmailForm(formdata=None, user=user),
        password_form=password_form or OwnPasswordForm(formdata=None, user=user),
        language_form=language_form,
        password_due=password_due(),
        **two_factor_context(user, two_factor),
    )


@bp.get("")
@login_required
def index() -> Response:
    return settings_screen()


@bp.post("/email")
@login_required
@sensitive_step
def email() -> Response:
    """Mail a confirmation link to the new address (the old one is told).

    The password is asked again unless it was given within the last minutes (auth.reauth).
    """
    user = signed_in_user()
    form = OwnEmailForm(user=user)
    valid = form.validate_on_submit()
    if not (reauthenticated(form.current_password) and valid):
        return settings_screen(email_form=form)
    try:
        confirmation = request_email_change(user, form.email.data)
    except Refused as refusal:
        return settings_screen(email_form=form, refusal=refusal)
    if not confirmation.sent:
        flash(
            _(
                "%(email)s に確認メールを送信できませんでした。"
                "Eメールアドレスは変更されていません。しばらくしてからもう一度お試しください。",
                email=form.email.data,
            ),
            "error",
        )
    else:
        flash(
            _(
                "%(email)s に確認メールを送信しました。"
                "メールのリンクを開くと、Eメールアドレスの変更が完了します。",
                email=form.email.data,
            ),
            "success",
        )
    return see_other(url_for("settings.index"))


@bp.post("/password")
@login_required
@sensitive_step
def password() -> Response:
    """Change the password; every other login of the account ends, this one stays.

    The current password is asked every time, even just after logging in (ASVS V2.1.6).
    """
    user = signed_in_user()
    form = OwnPasswordForm(user=user)
    if not form.validate_on_submit():
        return settings_screen(password_form=form)
    if not reauthenticated(form.current_password, always=True):
        return settings_screen(password_form=form)
    change_password(user, form.new_password.data, keep_token_hash=digest(user.session_token or ""))
    flash(_("パスワードを変更しました。ほかの端末のログインは終了しました。"), "success")
    return see_other(url_for("settings.index"))


@bp.post("/language")
@login_required
def language() -> Response:
    """Speak the chosen language from now on, on every browser of the account."""
    form = LanguageForm()
    if not form.validate_on_submit():
        return settings_screen(language_form=form)
    chosen = form.language.data
    set_language(signed_in_user(), chosen)
    with speaking(chosen):
        flash(_("表示言語を変更しました。"), "success")
    return remember_language(see_other(url_for("settings.index")), chosen)
