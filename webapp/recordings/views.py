"""録画一覧 and its viewer, ライブ映像, and the recordings' bytes, for whoever may see the device.

Downloads: one recording, for whoever may see its device; every recording of a device's
history as a ZIP, for the contractor (offered before the device is deleted).
"""

from __future__ import annotations

from flask import abort, current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from .. import clock, storage
from ..access import contractor_required
from ..archives import recording_download, safe_file_name, zip_download
from ..devices.queries import get_device, get_visible_device
from ..errors import render_error
from ..models import Device
from ..paging import parse_page
from ..screens import form_status, render_screen
from ..services.recordings import record_archive_download
from . import bp
from .forms import RecordingDateForm
from .queries import (
    DayJump,
    get_recording,
    neighbours,
    newest_image,
    page_of_day,
    recording_to_download,
    recordings_of_device_to_archive,
    recordings_page,
)

RECORDINGS_PER_PAGE = 48
# How often the ライブ映像 view asks for the newest image (with JavaScript).
LIVE_REFRESH_SECONDS = 10


def _back_url(device_id: int) -> str:
    """Where 「戻る」 leads: 機器情報 for the contractor, the portal for a general user."""
    if current_user.is_contractor:
        return url_for("devices.detail", device_id=device_id)
    return url_for("portal.index")


def _with_history(device_id: int) -> Device:
    """The device, if its plan keeps a recording history; else 404 (ライブ映像 keeps none)."""
    device = get_visible_device(device_id, current_user)
    if not device.keeps_recordings:
        abort(
            render_error(
                404,
                _("この機器の録画はありません。"),
                _(
                    "加入サービス「%(plan)s」では録画は保存されず、最新の画像だけが表示されます。",
                    plan=device.licence.plan.label,
                ),
                link=(url_for("recordings.live", device_id=device.id), _("ライブ映像へ")),
            )
        )
    return device


@bp.get("/<id:device_id>/recordings")
@login_required
def index(device_id: int) -> Response:
    """録画一覧: a device's recordings, newest first; with 日付, from that day on."""
    device = _with_history(device_id)
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
    device = _with_history(device_id)
    recording = get_recording(device, recording_id)
    newer, older = neighbours(device, recording)
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
    device = _with_history(device_id)
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


@bp.get("/<id:device_id>/live")
@login_required
def live(device_id: int) -> Response:
    """ライブ映像: the device's newest still image, asked for again every few seconds.

    With JavaScript, htmx swaps in the image alone (until the viewer pauses it); without,
    the page is read again by its link.
    """
    device = get_visible_device(device_id, current_user)
    paused = request.args.get("auto") == "off"
    return render_screen(
        "recordings/live.html",
        blocks=("live_image",),
        device=device,
        image=newest_image(device),
        live_url=url_for("recordings.live", device_id=device.id),
        paused=paused,
        refresh_seconds=LIVE_REFRESH_SECONDS,
        back_url=_back_url(device.id),
    )


@bp.get("/<id:device_id>/recordings/<id:recording_id>/content")
@login_required
def content(device_id: int, recording_id: int) -> Response:
    """The recording's bytes, from whichever storage holds them, while its plan keeps it."""
    device = get_visible_device(device_id, current_user)
    recording = get_recording(device, recording_id, history=False)
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
