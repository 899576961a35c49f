"""Login (PC only), logout."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from ..enums import TokenPurpose
from ..extensions import db, limiter
from ..i18n import LANGUAGES, current_language, remember_language
from ..i18n import lazy as _l
from ..limits import failures_limited
from ..links import safe_next_url
from ..models import User
from ..screens import form_status
from ..services.credentials import authenticate, record_refused_login, request_password_reset
from ..services.credentials import reset_password as reset_password_with
from ..services.refusals import InvalidCode, InvalidLink, WrongCode
from ..services.tokens import find_token
from ..services.two_factor import check_second_factor, has_second_factor, must_enrol
from ..services.users import accept_invitation as accept_invitation_with
from ..services.users import set_language
from ..useragent import is_mobile
from . import bp
from .enrolment import ENROL_KEY
from .forms import ForgotPasswordForm, LoginForm, NewPasswordForm, SecondFactorForm
from .pending import begin_pending_login, end_pending_login, pending_login, pending_user_id
from .sessions import log_in, log_out

REMEMBERED_EMAIL_COOKIE = "remembered_email"
LOGIN_FAILED_MESSAGE = _l("Eメールアドレスまたはパスワードが正しくありません。")


def _mobile_refusal() -> Response:
    return make_response(render_template("auth/mobile_refused.html"), 403)


def _login_failed(response: Response) -> bool:
    """Only failed logins count towards the limits: a correct login is never slowed.

    A login refused to a smartphone counts too: each one is written to the audit log.
    """
    return response.status_code in (401, 403)


def _login_email() -> str:
    return (request.form.get("email") or "").strip().lower()[:254]


# Guessing is limited three ways: one account from one client, one client across accounts,
# and one account from anywhere (a distributed guess), each more tolerant than the last.
@bp.route("/login", methods=["GET", "POST"])
@failures_limited(
    "5 per 15 minutes",
    failed=_login_failed,
    key=lambda: f"login:{_login_email()}:{get_remote_address()}",
)
@failures_limited("30 per 15 minutes", failed=_login_failed)
@failures_limited(
    "50 per hour", failed=_login_failed, key=lambda: f"login-account:{_login_email()}"
)
def login() -> Response:
    if is_mobile(request.user_agent.string):
        if request.method == "POST":
            record_refused_login(_login_email(), "login.mobile_refused")
        return _mobile_refusal()
    if current_user.is_authenticated:
        return redirect(url_for("portal.index"))

    form = LoginForm()
    status = 200
    if request.method == "GET":
        remembered = request.cookies.get(REMEMBERED_EMAIL_COOKIE, "")[:254]
        if remembered:
            form.email.data = remembered
            form.remember_email.data = True
    elif form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            next_url = request.args.get("next")
            if has_second_factor(user):
                # No login yet: that waits for the second factor (確認コード).
                begin_pending_login(
                    user, remember_email=form.remember_email.data, next_url=next_url
                )
                return redirect(url_for("auth.second_factor"), 303)
            return _complete_login(user, remember_email=form.remember_email.data, next_url=next_url)
        record_refused_login(form.email.data, "login.failed")
        form.password.errors = [LOGIN_FAILED_MESSAGE]
        status = 401
    else:
        status = 422
    return make_response(render_template("auth/login.html", form=form), status)


def _complete_login(user: User, *, remember_email: bool, next_url: str | None) -> Response:
    # A fresh cookie session: nothing from before the login carries over.
    session.clear()
    log_in(user, language=current_language())
    login_user(user)

    if must_enrol(user):
        # The contract requires a second factor: setting one up comes before anything else.
        session[ENROL_KEY] = True
        response = redirect(url_for("settings.index", _anchor="two-factor"), 303)
    else:
        response = redirect(safe_next_url(next_url) or url_for("portal.index"), 303)
    if remember_email:
        response.set_cookie(
            REMEMBERED_EMAIL_COOKIE,
            user.email,
            max_age=365 * 24 * 3600,
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            samesite="Lax",
        )
    else:
        response.delete_cookie(REMEMBERED_EMAIL_COOKIE)
    return response


# The same three limits as the password's, on the second step, but every POST counts when
# it arrives: counted only after a failure, requests sent at once would all be let through
# before the first was counted. A right code ends the step, so nobody honest is slowed.
@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(
    "5 per 15 minutes",
    key_func=lambda: f"login-code:{pending_user_id()}:{get_remote_address()}",
    methods=["POST"],
)
@limiter.limit(
    "30 per 15 minutes",
    key_func=lambda: f"login-code-client:{get_remote_address()}",
    methods=["POST"],
)
@limiter.limit(
    "50 per hour", key_func=lambda: f"login-code-account:{pending_user_id()}", methods=["POST"]
)
def second_factor() -> Response:
    """確認コード: the second step of a login, with a code of the app or a recovery code."""
    if is_mobile(request.user_agent.string):
        return _mobile_refusal()
    if current_user.is_authenticated:
        return redirect(url_for("portal.index"))
    pending = pending_login()
    if pending is None:
        end_pending_login()
        flash(_("確認の有効期限が切れました。もう一度ログインしてください。"), "info")
        return redirect(url_for("auth.login"), 303)
    form = SecondFactorForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                check_second_factor(pending.user, form.code.data)
            except InvalidCode as refusal:
                form.code.errors = [refusal.message]
                status = 422
            except WrongCode as refusal:
                record_refused_login(pending.user.email, "login.code_failed")
                form.code.errors = [refusal.message]
                status = 401
            else:
                end_pending_login()
                return _complete_login(
                    pending.user,
                    remember_email=pending.remember_email,
                    next_url=pending.next_url,
                )
        else:
            status = 422
    return make_response(render_template("auth/second_factor.html", form=form), status)


# What 「ログアウト」 asks the browser to forget (not "cookies": the language stays chosen).
LOGOUT_CLEARS = '"cache", "storage"'


@bp.post("/logout")
@login_required
def logout() -> Response:
    # CSRFProtect has already refused a POST without the session's token.
    log_out(current_user)
    logout_user()
    session.clear()
    flash(_("ログアウトしました。"), "info")
    response = redirect(url_for("auth.login"), 303)
    # Nothing of the contract stays in the browser: no cached page, no stored snapshot.
    response.headers["Clear-Site-Data"] = LOGOUT_CLEARS
    return response


def _email_key() -> str:
    return "reset:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per hour", key_func=_email_key, methods=["POST"])
@limiter.limit("20 per hour", methods=["POST"])
def forgot_password() -> Response:
    """パスワードを忘れた方: ask for a reset link by mail."""
    if is_mobile(request.user_agent.string):
        return _mobile_refusal()
    form = ForgotPasswordForm()
    if request.method == "POST" and form.validate_on_submit():
        request_password_reset(form.email.data)
        # The same answer whether or not the address is registered.
        return make_response(render_template("auth/forgot_sent.html"))
    return make_response(render_template("auth/forgot_password.html", form=form), form_status(form))


def _password_through_link(
    token: str,
    purpose: TokenPurpose,
    apply: Callable[[str, str], object],
    *,
    lead: str,
    heading: str | None = None,
) -> Response:
    """The page of a mailed link where a password is chosen (twice), then 「ログイン」.

    A used, expired or unknown link answers 410; *apply* spends the token and sets the
    password, and refuses a link spent meanwhile (InvalidLink).
    """
    live = find_token(token, purpose)
    if live is None:
        return make_response(render_template("auth/link_invalid.html"), 410)
    user = db.session.get(User, live.user_id)
    assert user is not None
    form = NewPasswordForm(email=user.email)
    if request.method == "POST" and form.validate_on_submit():
        try:
            apply(token, form.password.data)
        except InvalidLink:
            return make_response(render_template("auth/link_invalid.html"), 410)
        return redirect(url_for("auth.login"), 303)
    page = render_template(
        "auth/reset_password.html", form=form, heading=heading, lead=lead % {"email": user.email}
    )
    return make_response(page, form_status(form))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Response:
    """The link of the invitation mail: an invited user chooses their password."""

    def accept(token: str, password: str) -> None:
        accept_invitation_with(token, password)
        flash(_("パスワードを設定しました。ログインしてください。"), "success")

    return _password_through_link(
        token,
        TokenPurpose.INVITATION,
        accept,
        heading=_("パスワードの設定"),
        lead=_(
            "%(email)s のパスワードを設定してください。"
            "10文字以上で、推測されにくいものにしてください。"
        ),
    )


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response:
    """Choose a new password through the link of the reset mail."""

    def reset(token: str, password: str) -> None:
        reset_password_with(token, password)
        logout_user()
        session.clear()
        flash(_("パスワードを再設定しました。新しいパスワードでログインしてください。"), "success")

    return _password_through_link(
        token,
        TokenPurpose.PASSWORD_RESET,
        reset,
        lead=_(
            "%(email)s の新しいパスワードを2回入力してください。"
            "10文字以上で、推測されにくいものにしてください。"
        ),
    )


@bp.post("/language")
def choose_language() -> Response:
    """The language switch: remembered in a cookie, and on the account when logged in."""
    language = request.form.get("lang", "")
    back = safe_next_url(request.form.get("next")) or url_for("portal.index")
    if language not in LANGUAGES:
        return redirect(back, 303)
    if current_user.is_authenticated:
        set_language(current_user, language)
    return remember_language(redirect(back, 303), language)
