"""機器一覧, 機器情報 and the deletion of a device."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import current_app, flash, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from ..access import contractor_required
from ..htmx import hx_redirect, is_htmx, see_other
from ..screens import render_screen
from ..services.devices import AlreadyDeleted, delete_device
from . import bp
from .forms import DeleteDeviceForm, DeviceSearchForm
from .queries import (
    DeviceGone,
    DeviceSearch,
    get_device,
    list_query_args,
    parse_page,
    search_devices,
)

# 表示項目切替: the column sets of 機器一覧.
VIEWS = {"status": "サービス稼働状態", "licence": "ライセンス情報", "comm": "通信状態"}
TABS = {"info": "機器情報", "licence": "ライセンス情報", "service": "サービス設定"}
MAX_BACK_LENGTH = 1000


def _parse_list_state(args: MultiDict[str, str]) -> tuple[DeviceSearchForm, DeviceSearch, str, int]:
    form = DeviceSearchForm(formdata=args)
    view = args.get("view", "status")
    if view not in VIEWS:
        view = "status"
    search = form.to_search() if form.validate() else DeviceSearch()
    return form, search, view, parse_page(args.get("page"))


def list_args_from_back(back: str | None) -> dict[str, Any]:
    """Rebuild the 機器一覧 arguments carried in a detail page's ``back`` parameter.

    Only known, valid conditions survive, so ``back`` can never become a redirect elsewhere.
    """
    if not back or len(back) > MAX_BACK_LENGTH:
        return {}
    try:
        args = MultiDict(parse_qsl(back, max_num_fields=20))
    except ValueError:
        return {}
    form, search, view, page = _parse_list_state(args)
    if form.errors:
        return {}
    return list_query_args(search, view, page)


@bp.get("")
@contractor_required
def index() -> Response:
    form, search, view, page_no = _parse_list_state(request.args)
    invalid = bool(form.errors)
    page = search_devices(
        current_user.contract_id,
        search,
        page=page_no,
        per_page=current_app.config["DEVICES_PER_PAGE"],
    )
    if invalid:
        page.items, page.matching = [], 0
    state = list_query_args(search, view, page.page)
    # The form travels with the list (out of band), so that htmx's history snapshots keep
    # the fields in step with the list they produced.
    return render_screen(
        "devices/index.html",
        blocks=("device_list", "search_form"),
        status=422 if invalid else 200,
        form=form,
        page=page,
        view=view,
        views=VIEWS,
        view_args={key: list_query_args(search, key) for key in VIEWS},
        invalid=invalid,
        back=urlencode(state),
    )


def _detail_context(device_id: int, tab: str) -> dict[str, Any]:
    back = request.args.get("back", "")
    list_args = list_args_from_back(back)
    return {
        "device": get_device(device_id, current_user.contract_id),
        "tab": tab,
        "tabs": TABS,
        "back": urlencode(list_args),
        "list_url": url_for("devices.index", **list_args),
    }


def _render_tab(device_id: int, tab: str) -> Response:
    return render_screen(
        "devices/detail.html", blocks=("device_panel",), **_detail_context(device_id, tab)
    )


@bp.get("/<id:device_id>")
@contractor_required
def detail(device_id: int) -> Response:
    return _render_tab(device_id, "info")


@bp.get("/<id:device_id>/licence")
@contractor_required
def licence(device_id: int) -> Response:
    return _render_tab(device_id, "licence")


@bp.get("/<id:device_id>/service")
@contractor_required
def service(device_id: int) -> Response:
    return _render_tab(device_id, "service")


@bp.route("/<id:device_id>/delete", methods=["GET", "POST"])
@contractor_required
def delete(device_id: int) -> Response:
    context = _detail_context(device_id, "info")
    device = context["device"]
    form = DeleteDeviceForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_screen("devices/delete.html", status=status, form=form, **context)
    name = device.name
    try:
        delete_device(device, reason=(form.reason.data or "").strip())
    except AlreadyDeleted as exc:
        raise DeviceGone(name) from exc
    flash(f"機器「{name}」を削除しました。", "success")
    return see_other(context["list_url"])


@bp.errorhandler(DeviceGone)
def device_gone(error: DeviceGone) -> Response:
    from ..errors import render_error

    if is_htmx():
        # The panel on screen is stale: reload the list rather than leave it clickable.
        flash(f"機器「{error.summary}」は既に削除されています。", "info")
        return hx_redirect(url_for("devices.index"))
    return render_error(
        410,
        "この機器は既に削除されています。",
        f"機器「{error.summary}」は削除済みです。機器一覧でご確認ください。",
        link=(url_for("devices.index"), "機器一覧へ"),
    )
