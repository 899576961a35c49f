"""A contract that requires two-factor login: its users without one set it up first."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ..htmx import hx_redirect, is_htmx
from ..services.two_factor import must_enrol
from . import bp

# Set at login for a user whose contract requires a second factor they have not set up.
ENROL_KEY = "must_enrol"

# What such a user may still reach: アカウント設定 (where it is set up), the terms, logout.
OPEN_ENDPOINTS = {
    "auth.logout",
    "auth.choose_language",
    "static",
    "terms.accept",
}


@bp.before_app_request
def require_two_factor_enrolment() -> Response | FlaskResponse | None:
    """Send a user whose contract requires a second factor to set one up, before anything."""
    if not session.get(ENROL_KEY) or not current_user.is_authenticated:
        return None
    endpoint = request.endpoint or ""
    if endpoint in OPEN_ENDPOINTS or endpoint.startswith("settings."):
        return None
    if not must_enrol(current_user):
        session.pop(ENROL_KEY, None)
        return None
    flash(_("ご契約では2段階認証が必須です。先に2段階認証を設定してください。"), "info")
    target = url_for("settings.index", _anchor="two-factor")
    if is_htmx():
        return hx_redirect(target)
    return redirect(target)
