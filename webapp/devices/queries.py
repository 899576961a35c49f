"""Reading devices: the owner-scoped loader, the search of 機器一覧 and its paging."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from flask import abort
from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    String,
    and_,
    bindparam,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import undefer

from .. import clock
from ..access import found_or_gone
from ..archives import ArchivedRecording
from ..audit import deleted_by
from ..enums import (
    CommStatus,
    DeviceKind,
    LicenceState,
    Plan,
    RecordingStatus,
    Role,
    ServiceStatus,
    Trouble,
)
from ..extensions import db
from ..models import (
    LICENCE_ENDING_DAYS,
    Device,
    Licence,
    Recording,
    User,
    UserDevice,
    device_troubles,
    format_mac,
    licence_state,
    mask_key,
    recording_status,
    service_status,
)
from ..paging import Paged, Pagination
from ..recordings.queries import ARCHIVED_COLUMNS
from ..services.refusals import DeviceGone
from ..services.retention import in_history


def get_device(device_id: int, contract_id: int) -> Device:
    """Return the contract's device, or 404 (410 once this contract has deleted it).

    Another contractor's device is a 404, exactly like one that never existed.
    """
    device = db.session.scalar(
        select(Device)
        .where(Device.id == device_id, Device.contract_id == contract_id)
        # 機器情報 shows whether each camera password is set: one statement, not three.
        .options(undefer(Device.camera_admin_password), undefer(Device.camera_list_password))
    )
    return found_or_gone(
        device,
        contract_id=contract_id,
        deletion="device.delete",
        target_id=device_id,
        gone=DeviceGone,
    )


def get_visible_device(device_id: int, viewer: User) -> Device:
    """Return a device *viewer* may see (the contractor: any of theirs), or 404."""
    device = db.session.scalar(select(Device).where(Device.id == device_id, visible_to(viewer)))
    if device is None:
        abort(404)
    return device


def normalise_mac_fragment(value: str) -> str:
    """Strip separators and case from (part of) a MAC address."""
    return value.replace(":", "").replace("-", "").strip().upper()


def service_status_is(
    status: ServiceStatus, today: dt.date | ColumnElement[dt.date]
) -> ColumnElement[bool]:
    """Match サービス稼働状態 as shown (Device.effective_service_status), in SQL.

    A lapsed licence (revoked, or past its term) stops the service whatever is stored.
    *today* is a date, or the parameter that will hold it.
    """
    lapsed = or_(Licence.state == LicenceState.REVOKED, Licence.ends_on < today)
    if status is ServiceStatus.SUSPENDED:
        return or_(Device.service_status == ServiceStatus.SUSPENDED, lapsed)
    return and_(Device.service_status == status, not_(lapsed))


def trouble_is(
    trouble: Trouble, today: dt.date | ColumnElement[dt.date], ending_by: Any
) -> ColumnElement[bool]:
    """Match a device in *trouble* (models.device_troubles), in SQL.

    *today* and *ending_by* (LICENCE_ENDING_DAYS after it) are dates, or the parameters
    that will hold them.
    """
    if trouble is Trouble.OFFLINE:
        return Device.comm_status == CommStatus.OFFLINE
    if trouble is Trouble.RECORDING_STOPPED:
        # Device.effective_recording_status: a plan that keeps recordings, and a device
        # that stopped (or last reported under a plan that kept none) and has reported.
        keeping = [plan for plan in Plan if plan.keeps_recordings]
        return and_(
            Licence.plan.in_(keeping),
            Device.recording_status.in_([RecordingStatus.STOPPED, RecordingStatus.NONE]),
            Device.comm_status != CommStatus.NEVER_CONNECTED,
        )
    if trouble is Trouble.SERVICE_STOPPED:
        return service_status_is(ServiceStatus.SUSPENDED, today)
    return and_(
        Licence.state == LicenceState.IN_USE,
        Licence.ends_on >= today,
        Licence.ends_on <= ending_by,
    )


def ending_by(today: dt.date) -> dt.date:
    """The last day of a term that counts as ending soon, seen from *today*."""
    return today + dt.timedelta(days=LICENCE_ENDING_DAYS)


LIKE_ESCAPE = "/"


def like_anywhere(text: str) -> str:
    """Return a LIKE pattern that finds *text* anywhere: its own % and _ are plain characters."""
    for char in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(char, LIKE_ESCAPE + char)
    return f"%{text}%"


def matches_pattern(column: Any, parameter: str, *, fold_case: bool) -> ColumnElement[bool]:
    """Match *column* against the LIKE pattern held by *parameter* (see like_anywhere).

    SQLite's LIKE already ignores ASCII case, which is all its lower() folds, so there
    it skips lower() on every row: on thousands of devices that halves a search's time.
    Other databases fold both sides (*fold_case*).
    """
    pattern = bindparam(parameter, type_=String())
    if fold_case:
        return func.lower(column).like(func.lower(pattern), escape=LIKE_ESCAPE)
    return column.like(pattern, escape=LIKE_ESCAPE)


class SearchShape(NamedTuple):
    """Which conditions a search sets, not their values: all that its SQL depends on."""

    name: bool
    model: bool
    mac: bool
    domain: bool
    service_status: ServiceStatus | None
    plan: bool
    trouble: Trouble | None = None

    @property
    def needs_licence(self) -> bool:
        """Whether the conditions look at the licence (its plan, or its term and state)."""
        return (
            self.service_status is not None
            or self.plan
            or self.trouble not in {None, Trouble.OFFLINE}
        )


@dataclass(frozen=True)
class DeviceSearch:
    """The search conditions (検索条件) of 機器一覧."""

    name: str = ""
    model: str = ""
    mac: str = ""
    domain: str = ""
    service_status: ServiceStatus | None = None
    plan: Plan | None = None
    trouble: Trouble | None = None  # the portal's filter
    today: dt.date = field(default_factory=clock.today)

    @property
    def is_empty(self) -> bool:
        return not (
            self.name
            or self.model
            or self.mac
            or self.domain
            or self.service_status
            or self.plan
            or self.trouble
        )

    @property
    def shape(self) -> SearchShape:
        return SearchShape(
            name=bool(self.name),
            model=bool(self.model),
            mac=bool(self.mac),
            domain=bool(self.domain),
            service_status=self.service_status,
            plan=self.plan is not None,
            trouble=self.trouble,
        )

    def parameters(self) -> dict[str, Any]:
        """The values of the conditions, named as search_condition() names its parameters."""
        texts = {"name": self.name, "model": self.model, "domain": self.domain}
        values: dict[str, Any] = {key: like_anywhere(text) for key, text in texts.items() if text}
        if self.mac:
            values["mac"] = like_anywhere(normalise_mac_fragment(self.mac))
        if self.service_status is not None or self.trouble is not None:
            values["today"] = self.today
        if self.trouble is not None:
            values["ending_by"] = ending_by(self.today)
        if self.plan is not None:
            values["plan"] = self.plan
        return values


def search_condition(shape: SearchShape, *, fold_case: bool) -> ColumnElement[bool]:
    """The WHERE clause of a search of this *shape*, its values left as named parameters."""
    clauses: list[ColumnElement[bool]] = []
    if shape.name:
        clauses.append(matches_pattern(Device.name, "name", fold_case=fold_case))
    if shape.model:
        clauses.append(matches_pattern(Device.model, "model", fold_case=fold_case))
    if shape.mac:
        # Stored and searched without separators, in capitals.
        clauses.append(matches_pattern(Device.mac, "mac", fold_case=False))
    if shape.domain:
        clauses.append(matches_pattern(Device.domain, "domain", fold_case=fold_case))
    if shape.service_status is not None:
        today = bindparam("today", type_=Date())
        clauses.append(service_status_is(shape.service_status, today))
    if shape.plan:
        clauses.append(Licence.plan == bindparam("plan"))
    if shape.trouble is not None:
        today = bindparam("today", type_=Date())
        clauses.append(trouble_is(shape.trouble, today, bindparam("ending_by", type_=Date())))
    return and_(*clauses) if clauses else true()


@dataclass(frozen=True, slots=True)
class ListedDevice:
    """A device as a list or the portal shows it: its columns, not a whole ORM object.

    A page shows fifty; reading plain rows costs a fraction of building entities. The
    rules (licence state, service status, 録画状態) are the models' own functions.
    """

    id: int
    kind: DeviceKind
    name: str
    model: str
    mac: str
    domain: str
    comm_status: CommStatus
    recording_status: RecordingStatus
    stored_service_status: ServiceStatus
    plan: Plan
    licence_key: str
    ends_on: dt.date
    stored_licence_state: LicenceState
    last_heartbeat_at: dt.datetime | None

    @property
    def mac_display(self) -> str:
        return format_mac(self.mac)

    @property
    def masked_key(self) -> str:
        return mask_key(self.licence_key)

    def licence_state(self, today: dt.date | None = None) -> LicenceState:
        return licence_state(self.stored_licence_state, self.ends_on, today)

    def effective_service_status(self, today: dt.date | None = None) -> ServiceStatus:
        return service_status(self.stored_service_status, self.licence_state(today))

    def effective_recording_status(self) -> RecordingStatus:
        return recording_status(self.recording_status, self.plan)

    @property
    def keeps_recordings(self) -> bool:
        return self.plan.keeps_recordings

    def days_left(self, today: dt.date | None = None) -> int:
        return (self.ends_on - (today or clock.today())).days

    def troubles(self, today: dt.date | None = None) -> frozenset[Trouble]:
        today = today or clock.today()
        return device_troubles(
            self.comm_status,
            self.effective_recording_status(),
            self.effective_service_status(today),
            self.licence_state(today),
            self.days_left(today),
        )


LISTED_COLUMNS = (
    Device.id,
    Device.kind,
    Device.name,
    Device.model,
    Device.mac,
    Device.domain,
    Device.comm_status,
    Device.recording_status,
    Device.service_status,
    Licence.plan,
    Licence.key,
    Licence.ends_on,
    Licence.state,
    Device.last_heartbeat_at,
)


@dataclass
class DevicePage(Paged):
    """One page of devices, with the counts 「表示件数: N / M」 shows."""

    items: list[ListedDevice]
    matching: int
    total: int
    pagination: Pagination
    today: dt.date  # the day the states are judged on, read once for the whole page
    searched: bool = True  # False when the conditions were refused and nothing was searched


def sees_every_device(user: User) -> bool:
    """The contractor sees every device of the contract; a general user, those chosen for them."""
    return user.role is Role.CONTRACTOR or user.all_devices


def visible_to(user: User) -> ColumnElement[bool]:
    """The devices *user* may see: the whole contract, or a general user's chosen ones."""
    owned = Device.contract_id == user.contract_id
    if sees_every_device(user):
        return owned
    chosen = select(UserDevice.device_id).where(UserDevice.user_id == user.id)
    return and_(owned, Device.id.in_(chosen))


AnySelect = Select[*tuple[Any, ...]]


class Listing(NamedTuple):
    """The statements that read a page of devices, for one shape of search."""

    page: AnySelect  # a page of rows, each with the number of devices in view beside it
    matching: AnySelect  # the number of devices that match
    counts: AnySelect  # that, and the number of devices in view, in one pass


@functools.cache
def listing(shape: SearchShape, *, chosen_only: bool, fold_case: bool) -> Listing:
    """Build the statements of a search of this *shape*, once per process.

    Only their parameters change between requests (contract_id, user_id for a general user
    who sees *chosen_only* devices, the conditions' values, limit, offset), so SQLAlchemy
    finds each compiled statement in its cache without building and hashing it again.
    """
    owned = Device.contract_id == bindparam("contract_id")
    if chosen_only:
        chosen = select(UserDevice.device_id).where(UserDevice.user_id == bindparam("user_id"))
        owned = and_(owned, Device.id.in_(chosen))
    condition = search_condition(shape, fold_case=fold_case)
    # Not correlated: the total counts every device in view, not the row beside it.
    in_view = select(func.count()).select_from(Device).where(owned).correlate(None)
    page: AnySelect = (
        select(*LISTED_COLUMNS, in_view.scalar_subquery())
        .join(Licence, Device.licence_id == Licence.id)
        .where(owned, condition)
        .order_by(Device.name, Device.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    counting: AnySelect = select(func.count()).select_from(Device).where(owned)
    if shape.needs_licence:
        counting = counting.join(Licence, Device.licence_id == Licence.id)
    return Listing(
        page=page,
        matching=counting.where(condition),
        counts=counting.with_only_columns(func.count().filter(condition), func.count()),
    )


def search_devices(
    contract_id: int,
    search: DeviceSearch,
    *,
    page: int,
    per_page: int,
    viewer: User | None = None,
) -> DevicePage:
    """Return a page of the contract's devices matching *search*, ordered by name.

    With a *viewer*, only the devices they may see count. The page is read first, with
    the number of devices in view beside each row: the list alone needs nothing else, and
    a search whose page is not full has found its last match on it. Only a full page of a
    search counts its matches (one more pass over the contract's index, where reading
    every match to count it beside the rows would cost several times that on a broad
    search); a page past the end, or no match at all, counts both and reads the last page.
    """
    params: dict[str, Any] = {**search.parameters(), "contract_id": contract_id, "limit": per_page}
    chosen_only = False
    if viewer is not None:
        params["contract_id"] = viewer.contract_id
        if not sees_every_device(viewer):
            chosen_only = True
            params["user_id"] = viewer.id
    fold_case = db.session.get_bind().dialect.name != "sqlite"
    statements = listing(search.shape, chosen_only=chosen_only, fold_case=fold_case)

    def listed(rows: Any) -> list[ListedDevice]:
        # Each row holds LISTED_COLUMNS in order, then the number of devices in view.
        width = len(LISTED_COLUMNS)
        return [ListedDevice(*row[:width]) for row in rows]

    # Plain columns, no entities: read through the session's connection, past the ORM.
    connection = db.session.connection()
    offset = (max(page, 1) - 1) * per_page
    found = connection.execute(statements.page, {**params, "offset": offset}).all()
    if found:
        total = found[0][-1]
        if search.is_empty:
            matching = total
        elif len(found) < per_page:
            matching = offset + len(found)
        else:
            matching = connection.execute(statements.matching, params).scalar() or 0
        pagination = Pagination.clamp(page, per_page, matching)
        return DevicePage(listed(found), matching, total, pagination, search.today)
    # No match, or a page past the end: count, and show the last page if there is one.
    matching, total = connection.execute(statements.counts, params).one()
    pagination = Pagination.clamp(page, per_page, matching)
    if not matching:
        return DevicePage([], matching, total, pagination, search.today)
    rows = connection.execute(statements.page, {**params, "offset": pagination.offset})
    return DevicePage(listed(rows), matching, total, pagination, search.today)


def in_view_of(viewer: User) -> tuple[dict[str, Any], bool]:
    """The parameters that name the devices *viewer* may see, and whether they are chosen ones."""
    params: dict[str, Any] = {"contract_id": viewer.contract_id}
    if sees_every_device(viewer):
        return params, False
    return {**params, "user_id": viewer.id}, True


@dataclass(frozen=True)
class TroubleCounts:
    """How many of the devices in view are in each trouble, of how many, on which day."""

    total: int
    by_trouble: dict[Trouble, int]
    today: dt.date

    def __getitem__(self, trouble: Trouble) -> int:
        return self.by_trouble[trouble]

    def matching(self, trouble: Trouble | None) -> int:
        """The number of devices the portal shows with the filter *trouble* (None: all)."""
        return self.total if trouble is None else self.by_trouble[trouble]


@functools.cache
def trouble_counting(*, chosen_only: bool) -> AnySelect:
    """One pass over the devices in view that counts them, and those in each trouble."""
    owned = Device.contract_id == bindparam("contract_id")
    if chosen_only:
        chosen = select(UserDevice.device_id).where(UserDevice.user_id == bindparam("user_id"))
        owned = and_(owned, Device.id.in_(chosen))
    today = bindparam("today", type_=Date())
    last_day = bindparam("ending_by", type_=Date())
    counts = (func.count().filter(trouble_is(trouble, today, last_day)) for trouble in Trouble)
    return (
        select(func.count(), *counts)
        .select_from(Device)
        .join(Licence, Device.licence_id == Licence.id)
        .where(owned)
    )


def count_troubles(viewer: User, today: dt.date | None = None) -> TroubleCounts:
    """Count the devices *viewer* may see, and those in each trouble (one statement)."""
    today = today or clock.today()
    params, chosen_only = in_view_of(viewer)
    params.update(today=today, ending_by=ending_by(today))
    row = db.session.connection().execute(trouble_counting(chosen_only=chosen_only), params).one()
    total, *counts = row
    return TroubleCounts(total, dict(zip(Trouble, counts, strict=True)), today)


def list_portal_devices(
    viewer: User,
    counts: TroubleCounts,
    *,
    trouble: Trouble | None = None,
    page: int,
    per_page: int,
) -> DevicePage:
    """Return a page of the portal's device tiles, as *viewer* may see them.

    With *trouble*, only the devices in it. The *counts* already say how many match, so
    the page is read in one statement, a page past the end being the last one.
    """
    search = DeviceSearch(trouble=trouble, today=counts.today)
    matching = counts.matching(trouble)
    pagination = Pagination.clamp(page, per_page, matching)
    if not matching:
        return DevicePage([], matching, counts.total, pagination, counts.today)
    params, chosen_only = in_view_of(viewer)
    fold_case = db.session.get_bind().dialect.name != "sqlite"
    statement = listing(search.shape, chosen_only=chosen_only, fold_case=fold_case).page
    rows = db.session.connection().execute(
        statement,
        {**params, **search.parameters(), "limit": per_page, "offset": pagination.offset},
    )
    width = len(LISTED_COLUMNS)
    items = [ListedDevice(*row[:width]) for row in rows]
    return DevicePage(items, matching, counts.total, pagination, counts.today)


def list_query_args(search: DeviceSearch, view: str, page: int = 1) -> dict[str, Any]:
    """Return the URL arguments that reproduce a 機器一覧 state (empty values left out)."""
    args: dict[str, Any] = {
        "name": search.name,
        "model": search.model,
        "mac": search.mac,
        "domain": search.domain,
        "service_status": search.service_status.value if search.service_status else "",
        "plan": search.plan.value if search.plan else "",
        "view": view if view != "status" else "",
        "page": page if page > 1 else "",
    }
    return {key: value for key, value in args.items() if value}


# The most devices a selection may name one by one (a page shows fifty); beyond a page,
# "all matching" carries the search instead of the ids.
MAX_SELECTED_IDS = 1000
# How many of the selected devices the confirmation lists by name; the rest are counted.
CONFIRMATION_LISTS = 50


@dataclass(frozen=True)
class DeviceSelection:
    """The devices 「選択した機器を削除」 is about: ids ticked one by one, or every device
    matching a search (*search* set: across all its pages, whatever was ticked)."""

    ids: tuple[int, ...] = ()
    search: DeviceSearch | None = None

    @property
    def is_empty(self) -> bool:
        return self.search is None and not self.ids


@dataclass
class SelectedDevices:
    """A selection as this contract has it now."""

    ids: list[int]  # the devices still there, by name
    listed: list[ListedDevice]  # the first CONFIRMATION_LISTS of them
    recordings: int  # how many recordings their histories hold (what the deletion takes)
    already_deleted: list[str]  # names of ticked devices this contract has deleted meanwhile

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def mark(self) -> str:
        """A short digest of exactly these devices, whatever their order."""
        listed = ",".join(str(each) for each in sorted(self.ids))
        return hashlib.sha256(listed.encode()).hexdigest()[:32]


def _selection_condition(contract_id: int, selection: DeviceSelection) -> ColumnElement[bool]:
    owned = Device.contract_id == contract_id
    if selection.search is not None:
        fold_case = db.session.get_bind().dialect.name != "sqlite"
        return and_(owned, search_condition(selection.search.shape, fold_case=fold_case))
    return and_(owned, Device.id.in_(selection.ids))


def _deleted_names(contract_id: int, missing: set[int]) -> list[str]:
    """Names of the *missing* ids this contract deleted; 404 when any is not one of them.

    Another contract's device, or one that never was, makes the whole selection a 404:
    nothing is deleted, and nothing is said about what the others hold.
    """
    if not missing:
        return []
    if db.session.scalar(select(func.count()).where(Device.id.in_(missing))):
        abort(404)
    names = deleted_by(contract_id, "device.delete", missing)
    if set(names) != missing:
        abort(404)
    return sorted(names.values())


def select_devices(contract_id: int, selection: DeviceSelection) -> SelectedDevices:
    """Read a selection of the contract's devices for a bulk action; 404 for a foreign id."""
    condition = _selection_condition(contract_id, selection)
    params = selection.search.parameters() if selection.search is not None else {}
    needs_licence = selection.search is not None and selection.search.shape.needs_licence
    query = select(Device.id).where(condition).order_by(Device.name, Device.id)
    if needs_licence:
        query = query.join(Licence, Device.licence_id == Licence.id)
    ids = list(db.session.scalars(query, params))
    already_deleted = (
        _deleted_names(contract_id, set(selection.ids) - set(ids))
        if selection.search is None
        else []
    )
    first: Any = db.session.execute(
        select(*LISTED_COLUMNS)
        .join(Licence, Device.licence_id == Licence.id)
        .where(condition)
        .order_by(Device.name, Device.id)
        .limit(CONFIRMATION_LISTS),
        params,
    )
    listed = [ListedDevice(*row) for row in first]
    recordings = 0
    if ids:
        recordings = (
            db.session.scalar(
                select(func.count())
                .select_from(Recording)
                .join(Device, Device.id == Recording.device_id)
                .join(Licence, Device.licence_id == Licence.id)
                .where(condition, in_history(Licence.plan)),
                params,
            )
            or 0
        )
    return SelectedDevices(ids, listed, recordings, already_deleted)


def recordings_of_devices_to_archive(
    contract_id: int, device_ids: list[int]
) -> list[ArchivedRecording]:
    """The histories of the contract's chosen devices, device by device, oldest first."""
    archived: list[ArchivedRecording] = []
    # A chunk at a time: a selection of every device may name thousands.
    for start in range(0, len(device_ids), 500):
        chunk = device_ids[start : start + 500]
        rows = db.session.execute(
            select(*ARCHIVED_COLUMNS)
            .join(Device, Device.id == Recording.device_id)
            .join(Licence, Device.licence_id == Licence.id)
            .where(
                Device.contract_id == contract_id,
                Device.id.in_(chunk),
                in_history(Licence.plan),
            )
            .order_by(Device.name, Device.id, Recording.captured_at, Recording.id)
        )
        archived += [ArchivedRecording(*row) for row in rows]
    archived.sort(key=lambda item: (item.device_name, item.device_id))
    return archived
