"""機器一覧, 機器情報 and the deletion of a device."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import abort, current_app, flash, g, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from .. import clock
from ..access import contractor_required
from ..archives import zip_download
from ..enums import DeviceKind
from ..htmx import retarget, see_other, swaps_into, wants_fragment
from ..i18n import lazy as _l
from ..identifiers import normalise_licence_key, normalise_mac
from ..limits import failures_limited
from ..paging import Pagination, parse_page
from ..recordings.queries import count_device_recordings, latest_images
from ..screens import form_status, render_form, render_screen
from ..services.device_reports import api_secret_is_current
from ..services.device_sets import contract_devices
from ..services.devices import (
    already_registered,
    delete_device,
    delete_devices,
    exchange_device,
    register_device,
    start_setup,
    update_device,
)
from ..services.recordings import record_archive_download
from ..services.refusals import AlreadyDone, Conflict, ContractGone, Refused
from . import bp
from .forms import (
    BulkDeleteDevicesForm,
    DeleteDeviceForm,
    DeviceSearchForm,
    EditDeviceForm,
    ExchangeDeviceForm,
    RegisterDeviceForm,
    SetupDeviceForm,
)
from .links import detail_links
from .queries import (
    MAX_SELECTED_IDS,
    DevicePage,
    DeviceSearch,
    DeviceSelection,
    SelectedDevices,
    get_device,
    list_query_args,
    recordings_of_devices_to_archive,
    search_devices,
    select_devices,
)

# 表示項目切替: the column sets of 機器一覧.
VIEWS = {"status": _l("サービス稼働状態"), "licence": _l("ライセンス情報"), "comm": _l("通信状態")}
FORM_FIELDS = ("name", "model", "mac", "domain", "service_status", "plan")
TABS = {"info": _l("機器情報"), "licence": _l("ライセンス情報"), "service": _l("サービス設定")}
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
    per_page = current_app.config["DEVICES_PER_PAGE"]
    if invalid:
        # Nothing is searched with conditions that could not be read; the total still shows.
        page = DevicePage(
            items=[],
            matching=0,
            total=contract_devices(current_user.contract_id),
            pagination=Pagination.clamp(1, per_page, 0),
            today=search.today,
            searched=False,
        )
    else:
        page = search_devices(current_user.contract_id, search, page=page_no, per_page=per_page)
    state = list_query_args(search, view, page.page)
    # A search or a page of the list on screen replaces its rows alone (the page already
    # shows the columns); a refused search replaces the whole list and sends the form
    # back too (out of band), with its messages.
    rows_only = not invalid and swaps_into("device-rows")
    if rows_only:
        blocks: tuple[str, ...] = ("rows_update",)
    elif invalid:
        blocks = ("device_list", "search_form")
    else:
        blocks = ("device_list",)
    response = render_screen(
        "devices/index.html",
        blocks=blocks,
        status=form_status(form),
        form=form,
        page=page,
        view=view,
        views=VIEWS,
        view_args={key: list_query_args(search, key) for key in VIEWS},
        detail_href=detail_links(urlencode(state)),
        form_state={name: form[name].data or "" for name in FORM_FIELDS},
        invalid=invalid,
        rows_only=rows_only,
        back=urlencode(state),
        selection_args=list_query_args(search, "status"),
        page_args=state,
        # 「このページの機器をすべて選択」 without JavaScript: the page again, every row ticked.
        select_page=request.args.get("select") == "page",
    )
    response.vary.add("HX-Target")
    if invalid and swaps_into("device-rows"):
        retarget(response, "#device-list")
    return response


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
    context = _detail_context(device_id, tab)
    if tab == "info":
        context["latest_image"] = latest_images([device_id]).get(device_id)
        if not wants_fragment():  # the panel alone never carries it: keep it for the page
            context["api_secret"] = _take_api_secret(device_id)
    return render_screen("devices/detail.html", blocks=("device_panel",), **context)


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
    if not form.validate_on_submit():
        # How many recordings the deletion takes, offered for download first.
        recordings = count_device_recordings(device)
        return render_form("devices/delete.html", form, recordings=recordings, **context)
    name = device.name
    mail = delete_device(device, reason=(form.reason.data or "").strip())
    flash(_("機器「%(name)s」を削除しました。", name=name), "success")
    if mail is not None and mail.sent is False:
        flash(
            _(
                "%(email)s に削除のお知らせメールを送信できませんでした。"
                "機器の削除は完了しています。",
                email=", ".join(mail.recipients),
            ),
            "error",
        )
    return see_other(context["list_url"])


def _wrong_licence_key(response: Response) -> bool:
    return bool(g.get("wrong_licence_key"))


@bp.route("/new", methods=["GET", "POST"])
@contractor_required
@failures_limited(
    "10 per 15 minutes",
    failed=_wrong_licence_key,
    key=lambda: f"licence-key:contract:{current_user.contract_id}",
)
@failures_limited("30 per 15 minutes", failed=_wrong_licence_key)
def register() -> Response:
    """機器登録."""
    form = RegisterDeviceForm(contract_id=current_user.contract_id)
    back = request.args.get("back", "")
    context: dict[str, Any] = {"list_url": url_for("devices.index", **list_args_from_back(back))}
    if request.method == "POST":
        done = already_registered(
            current_user.contract_id,
            normalise_licence_key(request.form.get("licence_key", "")[:40]),
            normalise_mac(request.form.get("mac", "")[:20]),
        )
        if done is not None:
            flash(_("この機器は既に登録されています。"), "info")
            return see_other(url_for("devices.detail", device_id=done))
    if not form.validate_on_submit():
        g.wrong_licence_key = bool(form.licence_key.errors)
        return render_form("devices/register.html", form, **context)
    try:
        device, api_secret = register_device(
            current_user.contract_id,
            key=form.normalised_key,
            name=form.name.data,
            model=form.model.data,
            mac=form.normalised_mac,
            kind=DeviceKind.of(form.kind.data),
        )
    except AlreadyDone as done:
        flash(_("この機器は既に登録されています。"), "info")
        return see_other(url_for("devices.detail", device_id=done.result))
    except Refused as refusal:
        g.wrong_licence_key = refusal.field == "licence_key"
        return render_form("devices/register.html", form, refusal=refusal, **context)
    flash(
        _(
            "機器「%(name)s」を登録しました。表示された機器認証キーを機器に設定してください。",
            name=device.name,
        ),
        "success",
    )
    return _hand_over_api_secret(
        device.id, api_secret, url_for("devices.detail", device_id=device.id)
    )


# A new API secret rides the session (encrypted) across the redirect after 機器登録 or
# 機器設定, and is shown by the next 機器情報 of that device, once.
API_SECRET_KEY = "new_api_secret"
API_SECRET_MAX_AGE = 300


def _hand_over_api_secret(device_id: int, api_secret: str, detail_url: str) -> Response:
    cipher = current_app.extensions["field_cipher"]
    session[API_SECRET_KEY] = {"device": device_id, "secret": cipher.encrypt(api_secret)}
    return see_other(detail_url)


def _take_api_secret(device_id: int) -> str | None:
    """Return the secret just issued to this device, if this is the page that shows it."""
    pending = session.get(API_SECRET_KEY)
    if not isinstance(pending, dict) or pending.get("device") != device_id:
        return None
    session.pop(API_SECRET_KEY)
    cipher = current_app.extensions["field_cipher"]
    secret: str | None = cipher.decrypt_fresh(str(pending.get("secret")), API_SECRET_MAX_AGE)
    if secret is not None and not api_secret_is_current(device_id, secret):
        # Two 機器設定 at once (a double click): this page's secret lost to the other one.
        flash(
            _(
                "機器認証キーが続けて発行されたため表示できません。もう一度「機器設定」を行ってください。"
            ),
            "error",
        )
        return None
    return secret


@bp.route("/<id:device_id>/edit", methods=["GET", "POST"])
@contractor_required
def edit(device_id: int) -> Response:
    """変更画面: 機器名, ドメイン名 and the camera credentials."""
    context = _detail_context(device_id, "info")
    device = context["device"]
    form = EditDeviceForm(device=device, obj=None if request.method == "POST" else device)
    if request.method == "GET":
        # Passwords are never sent back to the browser: empty means "keep".
        for name in ("camera_admin_password", "camera_list_password"):
            if name in form:
                form[name].data = ""
    if not form.validate_on_submit():
        return render_form("devices/edit.html", form, **context)
    credentials = {name: form[name].data for name in form.data if name.startswith("camera_")}
    try:
        changed = update_device(
            device, name=form.name.data, domain=form.normalised_domain, **credentials
        )
    except Refused as refusal:
        return render_form("devices/edit.html", form, refusal=refusal, **context)
    flash(_("機器情報を変更しました。") if changed else _("変更はありませんでした。"), "success")
    return see_other(url_for("devices.detail", device_id=device.id, back=context["back"] or None))


@bp.route("/<id:device_id>/setup", methods=["GET", "POST"])
@contractor_required
def setup(device_id: int) -> Response:
    """機器設定: a confirmation, then a new API secret for the device to be set up with."""
    context = _detail_context(device_id, "info")
    device = context["device"]
    form = SetupDeviceForm(data={"replacing": device.secret_mark})
    if not form.validate_on_submit():
        return render_form("devices/setup.html", form, **context)
    detail_url = url_for("devices.detail", device_id=device.id, back=context["back"] or None)
    try:
        api_secret = start_setup(device, replacing=form.replacing.data)
    except AlreadyDone:
        # The same confirmation again (a double click, another tab): the secret it issued
        # is shown by 機器情報 if this browser still holds it.
        flash(
            _(
                "新しい機器認証キーは既に発行されています。"
                "表示されていない場合は、もう一度「機器設定」を行ってください。"
            ),
            "info",
        )
        return see_other(detail_url)
    except Refused as refusal:
        return render_form("devices/setup.html", form, refusal=refusal, **context)
    flash(
        _(
            "機器「%(name)s」の新しい機器認証キーを発行しました。機器に設定してください。",
            name=device.name,
        ),
        "success",
    )
    return _hand_over_api_secret(device.id, api_secret, detail_url)


@bp.route("/<id:device_id>/exchange", methods=["GET", "POST"])
@contractor_required
def exchange(device_id: int) -> Response:
    """機器の交換: move the licence and settings to new hardware."""
    context = _detail_context(device_id, "info")
    device = context["device"]
    form = ExchangeDeviceForm()
    if not form.validate_on_submit():
        return render_form("devices/exchange.html", form, **context)
    detail_url = url_for("devices.detail", device_id=device.id, back=context["back"] or None)
    try:
        exchange_device(device, new_model=form.model.data, new_mac=form.normalised_mac)
    except AlreadyDone:
        flash(_("この機器への交換は既に完了しています。"), "info")
        return see_other(detail_url)
    except Refused as refusal:
        return render_form("devices/exchange.html", form, refusal=refusal, **context)
    flash(
        _(
            "機器「%(name)s」を交換しました。新しい機器の準備ができたら「機器設定」を行ってください。",
            name=device.name,
        ),
        "success",
    )
    return see_other(detail_url)


def _selection_from(values: MultiDict[str, str]) -> DeviceSelection:
    """Read a selection: ``all=1`` with the search's conditions, or the ticked ``id``s.

    Malformed values (a tampered form) are a 400; an id of another contract is a 404
    later, when the selection is read (select_devices).
    """
    if values.get("all") == "1":
        form = DeviceSearchForm(formdata=values)
        if not form.validate():
            abort(400)
        return DeviceSelection(search=form.to_search())
    raw = values.getlist("id")
    if len(raw) > MAX_SELECTED_IDS or not all(
        value.isascii() and value.isdigit() and len(value) < 12 for value in raw
    ):
        abort(400)
    return DeviceSelection(ids=tuple(dict.fromkeys(int(value) for value in raw)))


def _selection_fields(selection: DeviceSelection) -> list[tuple[str, Any]]:
    """The selection as form fields (or URL arguments) that reproduce it."""
    if selection.search is not None:
        conditions = list_query_args(selection.search, "status")
        return [("all", "1"), *conditions.items()]
    return [("id", device_id) for device_id in selection.ids]


def _say_already_deleted(selection: DeviceSelection, selected: SelectedDevices) -> None:
    if selected.already_deleted:
        flash(
            _(
                "次の機器は既に削除されています: %(names)s",
                names=_("、").join(selected.already_deleted),
            ),
            "info",
        )
    elif selection.search is not None and not selected.ids:
        flash(_("条件に合う機器はありません。既に削除されている可能性があります。"), "info")


@bp.route("/bulk-delete", methods=["GET", "POST"])
@contractor_required
def bulk_delete() -> Response:
    """「選択した機器を削除」: the selection's confirmation, then its deletion (all or nothing)."""
    selection = _selection_from(request.form if request.method == "POST" else request.args)
    back = request.args.get("back", "")
    list_url = url_for("devices.index", **list_args_from_back(back))
    # From 退会手続き: once the devices are gone, the withdrawal goes on where it stopped.
    then = "withdraw" if request.args.get("then") == "withdraw" else None
    done_url = url_for("account.withdraw") if then else list_url
    if selection.is_empty:
        flash(_("削除する機器を選択してください。"), "error")
        return see_other(list_url)
    contract_id = current_user.contract_id
    selected = select_devices(contract_id, selection)
    if not selected.ids:
        # Everything ticked is gone already (a second submit, another tab): said, not an error.
        _say_already_deleted(selection, selected)
        return see_other(done_url)
    form = BulkDeleteDevicesForm(data={"expected": selected.mark})
    fields = _selection_fields(selection)
    context: dict[str, Any] = {
        "selected": selected,
        "selection_fields": fields,
        "action": url_for("devices.bulk_delete", back=back or None, then=then),
        "archive_url": f"{url_for('devices.bulk_recordings')}?{urlencode(fields)}",
        "list_url": list_url,
        "back": back,
    }
    if not form.validate_on_submit():
        return render_form("devices/bulk_delete.html", form, **context)
    if selection.search is not None and form.expected.data != selected.mark:
        # Other devices match than those the confirmation showed (one registered since,
        # another deleted in another tab): never delete unseen ones. The confirmation is
        # shown again with the devices as they are now, ready to be submitted.
        form.expected.data = selected.mark
        return render_form(
            "devices/bulk_delete.html",
            form,
            refusal=Conflict(SELECTION_CHANGED, field=""),
            **context,
        )
    reason = (form.reason.data or "").strip()
    try:
        deletion = delete_devices(contract_id, selected.ids, reason=reason)
    except ContractGone:
        abort(404)
    if not deletion.deleted:
        # Two submits at once: the other one deleted them between the reading and the lock.
        flash(_("選択した機器は既に削除されています。"), "info")
        return see_other(done_url)
    _say_already_deleted(selection, selected)
    flash(_("%(count)s台の機器を削除しました。", count=len(deletion.deleted)), "success")
    mail = deletion.mail
    if mail is not None and mail.sent is False:
        flash(
            _(
                "%(email)s に削除のお知らせメールを送信できませんでした。"
                "機器の削除は完了しています。",
                email=", ".join(mail.recipients),
            ),
            "error",
        )
    return see_other(done_url)


SELECTION_CHANGED = _l(
    "確認の後に条件に合う機器が変わりました。対象の機器を確かめて、もう一度「削除」を押してください。"
)


@bp.get("/bulk-delete/recordings.zip")
@contractor_required
def bulk_recordings() -> Response:
    """The recordings a bulk deletion would delete, in one ZIP: to keep them first."""
    selection = _selection_from(request.args)
    if selection.is_empty:
        abort(404)
    contract_id = current_user.contract_id
    selected = select_devices(contract_id, selection)
    archived = recordings_of_devices_to_archive(contract_id, selected.ids)
    record_archive_download(contract_id, len(archived), devices=selected.count)
    name = f"recordings-{clock.today().strftime('%Y%m%d')}.zip"
    return zip_download(archived, name, name)
