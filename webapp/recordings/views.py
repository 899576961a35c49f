"""録画一覧 and the viewer, and the recordings' bytes, for whoever may see the device.

Downloads: one recording, for whoever may see its device; every recording of a device as
a ZIP, for the contractor (offered before the device is deleted).
"""

from __future__ import annotations

from flask import current_app, make_response, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from .. import clock, storage
from ..access import contractor_required
from ..archives import recording_download, safe_file_name, zip_download
from ..devices.queries import get_device, get_visible_device
from ..paging import parse_page
from ..screens import form_status, render_screen
from ..services.recordings import record_archive_download
from . import bp
from .forms import RecordingDateForm
from .queries import (
    DayJump,
    get_recording,
    neighbours,
    page_of_day,
    recording_to_download,
    recordings_of_device_to_archive,
    recordings_page,
)

RECORDINGS_PER_PAGE = 48


def _back_url(device_id: int) -> str:
    """Where 「戻る」 leads: 機器情報 for the contractor, the portal for a general user."""
    if current_user.is_contractor:
        return url_for("devices.detail", device_id=device_id)
    return url_for("portal.index")


@bp.get("/<id:device_id>/recordings")
@login_required
def index(device_id: int) -> Response:
    """録画一覧: a device's recordings, newest first; with 日付, from that day on."""
    device = get_visible_device(device_id, current_user)
    form = RecordingDateForm(formdata=request.args)
    page = parse_page(request.args.get("page"))
    jump: DayJump | None = None
    if form.validate() and form.date.data:
        jump = page_of_day(device, form.date.data, RECORDINGS_PER_PAGE)
        page = jump.page
    items, pagination = recordings_page(device, page, RECORDINGS_PER_PAGE)
    return render_screen(
        "recordings/index.html",
        blocks=("body",),
        status=form_status(form),
        form=form,
        device=device,
        items=items,
        page=pagination,
        jump=jump,
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


@bp.get("/<id:device_id>/recordings/<id:recording_id>/download")
@login_required
def download(device_id: int, recording_id: int) -> Response:
    """One recording as a file to keep, streamed from storage, named by device and time."""
    device = get_visible_device(device_id, current_user)
    recording = recording_to_download(device, recording_id)
    try:
        source = storage.stream(recording.storage_key)
    except storage.RecordingMissing:
        current_app.logger.warning("recording %s has no stored object", recording_id)
        return make_response("", 404)
    return recording_download(recording, source)


@bp.get("/<id:device_id>/recordings.zip")
@contractor_required
def archive(device_id: int) -> Response:
    """Every recording of the device in one ZIP, streamed from storage: to keep before 削除.

    Another contract's device is a 404; one this contract has deleted, a 410.
    """
    device = get_device(device_id, current_user.contract_id)
    recordings = recordings_of_device_to_archive(device)
    record_archive_download(device.contract_id, len(recordings), device=device)
    today = clock.today().strftime("%Y%m%d")
    name = safe_file_name(device.name, device.domain)
    fallback = f"recordings-{safe_file_name(device.domain, 'device')}-{today}.zip"
    return zip_download(recordings, f"{name}-{today}.zip", fallback)


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
