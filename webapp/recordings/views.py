"""録画一覧 and the viewer, and the recordings' bytes, for whoever may see the device."""

from __future__ import annotations

from flask import current_app, make_response, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from .. import storage
from ..devices.queries import get_visible_device
from ..paging import parse_page
from . import bp
from .queries import get_recording, neighbours, recordings_page

RECORDINGS_PER_PAGE = 48


def _back_url(device_id: int) -> str:
    """Where 「戻る」 leads: 機器情報 for the contractor, the portal for a general user."""
    if current_user.is_contractor:
        return url_for("devices.detail", device_id=device_id)
    return url_for("portal.index")


@bp.get("/<id:device_id>/recordings")
@login_required
def index(device_id: int) -> str:
    """録画一覧: a device's recordings, newest first."""
    device = get_visible_device(device_id, current_user)
    items, pagination = recordings_page(
        device, parse_page(request.args.get("page")), RECORDINGS_PER_PAGE
    )
    return render_template(
        "recordings/index.html",
        device=device,
        items=items,
        page=pagination,
        back_url=_back_url(device.id),
    )


@bp.get("/<id:device_id>/recordings/<id:recording_id>")
@login_required
def view(device_id: int, recording_id: int) -> str:
    """One recording, with the next newer and older ones a click away."""
    device = get_visible_device(device_id, current_user)
    recording = get_recording(device, recording_id)
    newer, older = neighbours(recording)
    return render_template(
        "recordings/view.html",
        device=device,
        recording=recording,
        newer=newer,
        older=older,
    )


@bp.get("/<id:device_id>/recordings/<id:recording_id>/content")
@login_required
def content(device_id: int, recording_id: int) -> Response:
    """The recording's bytes, from whichever storage holds them."""
    device = get_visible_device(device_id, current_user)
    recording = get_recording(device, recording_id)
    try:
        data = storage.read(recording.storage_key)
    except storage.RecordingMissing:
        current_app.logger.warning("recording %s has no stored object", recording.id)
        return make_response("", 404)
    response = make_response(data)
    response.content_type = recording.content_type
    response.headers["Content-Disposition"] = "inline"
    # Byte ranges, so that a clip can be sought (and Safari plays it at all).
    return response.make_conditional(request, accept_ranges=True, complete_length=len(data))
