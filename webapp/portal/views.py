"""The portal page that a contractor lands on after login."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from ..devices.links import detail_links
from ..devices.queries import list_portal_devices
from ..paging import parse_page
from ..recordings.queries import latest_images
from . import bp

TILES_PER_PAGE = 60


@bp.get("/")
@login_required
def index() -> str:
    page = list_portal_devices(
        current_user, page=parse_page(request.args.get("page")), per_page=TILES_PER_PAGE
    )
    return render_template(
        "portal/index.html",
        page=page,
        detail_href=detail_links(""),
        images=latest_images(device.id for device in page.items),
    )
