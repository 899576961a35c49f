"""Error pages, and small error messages for htmx requests."""

from __future__ import annotations

import logging
import math
from http import HTTPStatus

from flask import Flask, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from .htmx import hx_redirect, is_htmx, vary_on_htmx
from .i18n import lazy as _l
from .services.refusals import AlreadyDeleted
from .useragent import is_mobile

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

MESSAGES: dict[int, tuple[str, str]] = {
    400: (_l("リクエストが正しくありません。"), _l("入力内容を確認して、もう一度お試しください。")),
    403: (_l("この操作は許可されていません。"), ""),
    404: (
        _l("ページが見つかりません。"),
        _l("URLが正しいかご確認ください。ポータルからもう一度お探しください。"),
    ),
    405: (_l("この操作は許可されていません。"), ""),
    410: (_l("既に削除されています。"), ""),
    413: (_l("送信されたデータが大きすぎます。"), ""),
    500: (
        _l("エラーが発生しました。"),
        _l("処理は完了していません。しばらくしてからもう一度お試しください。"),
    ),
}


def json_error(status: int, code: str, message: str) -> Response:
    """An error as the device API answers it: {"error": code, "message": text}."""
    response = jsonify(error=code, message=message)
    response.status_code = status
    return response


def render_error(
    status: int, title: str, message: str = "", link: tuple[str, str] | None = None
) -> Response:
    """Render an error: a whole page, or for htmx a message swapped into the message area."""
    if request.path.startswith(API_PREFIX):
        # Devices read JSON: every error under the API (unknown path, wrong method, body too
        # large, rate limit, failure) is JSON too.
        phrase = HTTPStatus(status).phrase
        return json_error(status, phrase.lower().replace(" ", "_"), phrase + ".")
    if is_htmx():
        body = render_template("errors/_message.html", title=title, message=message, link=link)
        response = make_response(body, status)
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
        return vary_on_htmx(response)
    body = render_template(
        "errors/error.html", status=status, title=title, message=message, link=link
    )
    return vary_on_htmx(make_response(body, status))


def asks_for_a_page() -> bool:
    """Return True when the browser will show the answer as a page of its own.

    An image, a script or a fetch of a page says otherwise: browsers name what they fetch
    (Sec-Fetch-Dest), and older ones at least leave text/html out of what they accept.
    """
    destination = request.headers.get("Sec-Fetch-Dest")
    if destination:
        return destination == "document"
    accepted = {value for value, quality in request.accept_mimetypes if quality > 0}
    return not accepted or bool(accepted & {"text/html", "application/xhtml+xml"})


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Response:
        return render_error(
            400,
            _("画面の有効期限が切れました。"),
            _("お手数ですが、画面を読み込み直してからもう一度操作してください。"),
        )

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded) -> Response:
        seconds = error.limit.limit.get_expiry()
        response = render_error(
            429,
            _("操作の回数が上限に達しました。"),
            _(
                "安全のため、しばらく受け付けを止めています。"
                "約%(minutes)s分後にもう一度お試しください。",
                minutes=max(1, math.ceil(seconds / 60)),
            ),
        )
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(AlreadyDeleted)
    def already_deleted(error: AlreadyDeleted) -> Response:
        list_url = url_for(error.list_endpoint)
        if is_htmx():
            # The panel on screen is stale: reload the list rather than leave it clickable.
            flash(error.notice % {"name": error.summary}, "info")
            return hx_redirect(list_url)
        return render_error(
            error.status,
            str(error.title),
            error.message % {"name": error.summary},
            link=(list_url, str(error.list_label)),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        title, message = MESSAGES.get(status, (error.name, ""))
        return render_error(status, title, message)

    @app.errorhandler(500)
    def server_error(error: Exception) -> Response:
        log.error("unhandled error", exc_info=getattr(error, "original_exception", error))
        title, message = MESSAGES[500]
        return render_error(500, title, message)

    from .extensions import login_manager

    @login_manager.unauthorized_handler
    def unauthorized() -> Response:
        login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
        if is_htmx():
            # A login form must never be swapped into part of a page.
            return hx_redirect(url_for("auth.login"))
        if not asks_for_a_page():
            # An image still loading when its page logged out: neither a message nor a login
            # page (which would show and so spend the messages) for what is no page.
            return make_response("", 401)
        if not is_mobile(request.user_agent.string):
            # A smartphone is refused at the login page: asking it to log in would mislead.
            flash(_("ログインしてください。"), "info")
        return redirect(login_url)
