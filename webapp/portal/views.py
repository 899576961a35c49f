"""The portal page that a contractor lands on after login: devices in trouble first."""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..clock import utcnow
from ..devices.links import detail_links
from ..devices.queries import count_troubles, list_portal_devices
from ..enums import Trouble
from ..errors import render_error
from ..htmx import SELF_REFRESH_ARG, vary_on_htmx, wants_fragment
from ..paging import parse_page
from ..recordings.queries import latest_image_captures
from . import bp

TILES_PER_PAGE = 60
# How often the tiles (and the counts above them) refresh themselves, with htmx.
REFRESH_EVERY = "30s"


def portal_args(trouble: Trouble | None, page: int = 1) -> dict[str, Any]:
    """The URL arguments of the portal showing *trouble* (None: every device) at *page*."""
    args: dict[str, Any] = {}
    if trouble is not None:
        args["trouble"] = trouble.value
    if page > 1:
        args["page"] = page
    return args


def unknown_trouble() -> Response:
    choices = " / ".join(trouble.label for trouble in Trouble)
    return render_error(
        400,
        _("絞り込みの条件が正しくありません。"),
        _("ポータルで絞り込めるのは次の機器です: %(choices)s", choices=choices),
        link=(url_for("portal.index"), _("すべての機器を表示")),
    )


@bp.get("/")
@login_required
def index() -> Response:
    """The tiles, with the counts of devices in trouble above them that filter them.

    htmx asks for the tile area alone (_tiles.html) to refresh it; the page includes it.
    """
    raw = request.args.get("trouble", "")
    try:
        trouble = Trouble.of(raw) if raw else None
    except ValueError:
        return unknown_trouble()
    counts = count_troubles(current_user)
    page = list_portal_devices(
        current_user,
        counts,
        trouble=trouble,
        page=parse_page(request.args.get("page")),
        per_page=TILES_PER_PAGE,
    )
    template = "portal/_tiles.html" if wants_fragment() else "portal/index.html"
    body = render_template(
        template,
        page=page,
        counts=counts,
        trouble=trouble,
        troubles=list(Trouble),
        licence_ending=Trouble.LICENCE_ENDING,
        filter_args={"trouble": trouble.value} if trouble else {},
        refresh_url=url_for("portal.index", **portal_args(trouble, page.page)),
        self_refresh_url=url_for(
            "portal.index", **portal_args(trouble, page.page) | {SELF_REFRESH_ARG: 1}
        ),
        refresh_every=REFRESH_EVERY,
        refreshed_at=utcnow(),
        detail_href=detail_links(""),
        images=latest_image_captures((device.id for device in page.items), counts.today),
    )
    return vary_on_htmx(make_response(body))
