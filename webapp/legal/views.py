"""規約 and its acceptance at the next login."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import BooleanField

from ..auth.views import safe_next_url
from ..forms import PortalForm, Ticked
from ..htmx import hx_redirect, is_htmx, see_other
from ..i18n import lazy as _l
from ..screens import render_screen
from ..services.terms import (
    BUNDLED_TERMS,
    BUNDLED_VERSION,
    accept_terms,
    current_terms,
    needs_acceptance,
)
from . import bp

# What a user who has not accepted the current terms may still reach.
OPEN_ENDPOINTS = {"terms.accept", "auth.logout", "static", "auth.login"}


class AcceptTermsForm(PortalForm):
    agree = BooleanField(
        _l("規約に同意する"),
        [Ticked(_l("規約をお読みになり、チェックボックスにチェックしてください。"))],
    )


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
    from flask import current_app

    body = BUNDLED_TERMS.read_text(encoding="utf-8")
    return BUNDLED_VERSION, body.replace("{service}", current_app.config["SERVICE_NAME"])


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
    if request.method == "POST" and form.validate_on_submit():
        accept_terms(current_user, terms.version)
        flash(_("規約に同意いただきました。"), "success")
        return see_other(next_url)
    status = 422 if request.method == "POST" else 200
    return render_screen(
        "terms/accept.html",
        status=status,
        form=form,
        version=terms.version,
        body=terms.body,
        first_time=current_user.terms_version is None,
    )
