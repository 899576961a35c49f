"""Login (PC only), logout."""

from __future__ import annotations

from urllib.parse import urlsplit

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
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from ..audit import record_event
from ..extensions import db
from ..models import User, utcnow
from ..passwords import burn_verification_time, hash_password, needs_rehash, verify_password
from ..useragent import is_mobile
from . import bp
from .forms import LoginForm
from .sessions import end_login_session, start_login_session

REMEMBERED_EMAIL_COOKIE = "remembered_email"
LOGIN_FAILED_MESSAGE = "Eメールアドレスまたはパスワードが正しくありません。"


def authenticate(email: str, password: str) -> User | None:
    """Return the user with these credentials, taking as long whether or not the e-mail exists."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        burn_verification_time(password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def safe_next_url(target: str | None) -> str | None:
    """Return *target* when it is a path on this site, else None (no open redirect)."""
    if not target or len(target) > 2000:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x20 for c in target):
        return None
    return target


def _mobile_refusal() -> Response:
    return make_response(render_template("auth/mobile_refused.html"), 403)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response:
    if is_mobile(request.user_agent.string):
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
            return _complete_login(user, remember_email=form.remember_email.data)
        form.password.errors = [LOGIN_FAILED_MESSAGE]
        status = 401
    else:
        status = 422
    return make_response(render_template("auth/login.html", form=form), status)


def _complete_login(user: User, *, remember_email: bool) -> Response:
    # A fresh cookie session: nothing from before the login carries over.
    session.clear()
    start_login_session(user)
    user.last_login_at = utcnow()
    login_user(user)
    record_event("login", contract_id=user.contract_id, actor_email=user.email)
    db.session.commit()

    response = redirect(safe_next_url(request.args.get("next")) or url_for("portal.index"), 303)
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


@bp.post("/logout")
@login_required
def logout() -> Response:
    # CSRFProtect has already refused a POST without the session's token.
    end_login_session(current_user.session_token)
    record_event("logout", contract_id=current_user.contract_id)
    db.session.commit()
    logout_user()
    session.clear()
    flash("ログアウトしました。", "info")
    return redirect(url_for("auth.login"), 303)


@bp.get("/password/forgot")
def forgot_password() -> str:
    return render_template("auth/forgot_password.html")
