"""規約 and its acceptance at the next login."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..htmx import hx_redirect, is_htmx, see_other
from ..links import safe_next_url
from ..screens import render_form, render_screen
from ..services.terms import (
    BUNDLED_VERSION,
    accept_terms,
    bundled_terms_text,
    current_terms,
    needs_acceptance,
)
from . import bp
from .forms import AcceptTermsForm

# What a user who has not accepted the current terms may still reach.
OPEN_ENDPOINTS = {"terms.accept", "auth.logout", "static", "auth.login"}


@bp.before_app_request
def require_current_terms() -> Response | FlaskResponse | None:
    """Send a logged-in user to the new terms until they accept them."""
    if request.endpoint in OPEN_ENDPOINTS or not current_user.is_authenticated:
        return None
    if not needs_acceptance(current_user):
        return None
    target = url_for("terms.accept", next=request.full_path.rstrip("?"))
    if is_htmx():
        return hx_redirect(target)
    return redirect(target)


def _terms_text() -> tuple[str, str]:
    terms = current_terms()
    if terms is not None:
        return terms.version, terms.body
    return BUNDLED_VERSION, bundled_terms_text()


@bp.get("")
@login_required
def index() -> Response:
    version, body = _terms_text()
    layout = "layouts/manage.html" if current_user.is_contractor else "base.html"
    return render_screen("terms/index.html", version=version, body=body, layout=layout)


@bp.route("/accept", methods=["GET", "POST"])
@login_required
def accept() -> Response:
    """規約の更新: read the current version and agree to it."""
    terms = current_terms()
    next_url = safe_next_url(request.args.get("next")) or url_for("portal.index")
    if terms is None or not needs_acceptance(current_user):
        return see_other(next_url)
    form = AcceptTermsForm()
    if form.validate_on_submit():
        accept_terms(current_user, terms.version)
        flash(_("規約に同意いただきました。"), "success")
        return see_other(next_url)
    return render_form(
        "terms/accept.html",
        form,
        version=terms.version,
        body=terms.body,
        first_time=current_user.terms_version is None,
    )
