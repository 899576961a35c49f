"""ライセンス一覧: the list, its filters and paging, and its CSV download."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import clock
from ..access import contractor_required
from ..errors import render_error
from ..paging import parse_page
from ..screens import render_screen
from ..services.licences import LicenceFilter, export_licence_list
from . import bp
from .queries import all_licences, licence_page


class UnknownFilter(ValueError):
    """The URL's ``filter`` names no filter of ライセンス一覧."""


def _read_filter() -> LicenceFilter | None:
    """Return the filter the URL asks for (None: every licence), or raise UnknownFilter."""
    value = request.args.get("filter", "")
    if not value:
        return None
    try:
        return LicenceFilter.of(value)
    except ValueError:
        raise UnknownFilter(value) from None


def _filter_args(licence_filter: LicenceFilter | None) -> dict[str, Any]:
    return {"filter": licence_filter.value} if licence_filter else {}


def _unknown_filter() -> Response:
    return render_error(
        400,
        _("絞り込みの指定が正しくありません。"),
        _(
            "ライセンス一覧の絞り込みは「%(labels)s」のいずれかです。"
            "一覧の絞り込みのリンクから選び直してください。",
            labels=_("」「").join(str(f.label) for f in LicenceFilter),
        ),
        link=(url_for("licences.index"), _("ライセンス一覧")),
    )


@bp.get("")
@contractor_required
def index() -> Response:
    try:
        licence_filter = _read_filter()
    except UnknownFilter:
        return _unknown_filter()
    page = licence_page(
        current_user.contract_id,
        licence_filter,
        page=parse_page(request.args.get("page")),
        per_page=current_app.config["DEVICES_PER_PAGE"],  # paged like 機器一覧
        today=clock.today(),
    )
    return render_screen(
        "licences/index.html",
        blocks=("licence_list",),
        page=page,
        current=licence_filter,
        filters=[None, *LicenceFilter],
        args=_filter_args(licence_filter),
    )


@bp.get("/download.csv")
@contractor_required
def download() -> Response:
    try:
        licence_filter = _read_filter()
    except UnknownFilter:
        return _unknown_filter()
    today = clock.today()
    licences = all_licences(current_user.contract_id, licence_filter, today)
    body = export_licence_list(current_user.contract_id, licences, licence_filter, today)
    suffix = f"-{licence_filter.value}" if licence_filter else ""
    response = current_app.response_class(body, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="licences{suffix}-{today:%Y%m%d}.csv"'
    )
    return response
