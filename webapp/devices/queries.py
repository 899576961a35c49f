"""Reading devices: the owner-scoped loader, the search of 機器一覧 and its paging."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask import abort
from sqlalchemy import ColumnElement, and_, func, not_, or_, select, true

from ..audit import deletion_event
from ..enums import (
    CommStatus,
    DeviceKind,
    LicenceState,
    Plan,
    RecordingStatus,
    Role,
    ServiceStatus,
)
from ..extensions import db
from ..models import (
    Device,
    Licence,
    User,
    UserDevice,
    format_mac,
    licence_state,
    mask_key,
    service_status,
)
from ..paging import Pagination


class DeviceGone(Exception):
    """The device existed under this contract and has been deleted."""

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


def get_device(device_id: int, contract_id: int) -> Device:
    """Return the contract's device, or 404 (410 once this contract has deleted it).

    Another contractor's device is a 404, exactly like one that never existed.
    """
    device = db.session.scalar(
        select(Device).where(Device.id == device_id, Device.contract_id == contract_id)
    )
    if device is not None:
        return device
    deleted = deletion_event(contract_id, "device.delete", device_id)
    if deleted is not None:
        raise DeviceGone(deleted.summary)
    abort(404)


def normalise_mac_fragment(value: str) -> str:
    """Strip separators and case from (part of) a MAC address."""
    return value.replace(":", "").replace("-", "").strip().upper()


def service_status_is(status: ServiceStatus, today: dt.date) -> ColumnElement[bool]:
    """Match サービス稼働状態 as shown (Device.effective_service_status), in SQL.

    A lapsed licence (revoked, or past its term) stops the service whatever is stored.
    """
    lapsed = or_(Licence.state == LicenceState.REVOKED, Licence.ends_on < today)
    if status is ServiceStatus.SUSPENDED:
        return or_(Device.service_status == ServiceStatus.SUSPENDED, lapsed)
    return and_(Device.service_status == status, not_(lapsed))


def contains_ignoring_case(column: Any, text: str) -> ColumnElement[bool]:
    """Match *text* anywhere in *column*, ignoring case.

    SQLite's LIKE already ignores ASCII case, which is all its lower() folds, so there
    it skips lower() on every row: on thousands of devices that halves a search's time.
    Other databases fold both sides.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        return column.contains(text, autoescape=True)
    return column.icontains(text, autoescape=True)


@dataclass(frozen=True)
class DeviceSearch:
    """The search conditions (検索条件) of 機器一覧."""

    name: str = ""
    model: str = ""
    mac: str = ""
    domain: str = ""
    service_status: ServiceStatus | None = None
    plan: Plan | None = None
    today: dt.date = field(default_factory=dt.date.today)

    @property
    def is_empty(self) -> bool:
        return not (
            self.name or self.model or self.mac or self.domain or self.service_status or self.plan
        )

    @property
    def needs_licence(self) -> bool:
        """Whether the conditions look at the licence (its plan, or its term and state)."""
        return self.service_status is not None or self.plan is not None

    def condition(self) -> ColumnElement[bool]:
        clauses: list[ColumnElement[bool]] = []
        if self.name:
            clauses.append(contains_ignoring_case(Device.name, self.name))
        if self.model:
            clauses.append(contains_ignoring_case(Device.model, self.model))
        if self.mac:
            clauses.append(Device.mac.contains(normalise_mac_fragment(self.mac), autoescape=True))
        if self.domain:
            clauses.append(contains_ignoring_case(Device.domain, self.domain))
        if self.service_status is not None:
            clauses.append(service_status_is(self.service_status, self.today))
        if self.plan is not None:
            clauses.append(Licence.plan == self.plan)
        return and_(*clauses) if clauses else true()


@dataclass(frozen=True, slots=True)
class ListedDevice:
    """A device as a list or the portal shows it: its columns, not a whole ORM object.

    A page shows fifty; reading plain rows costs a fraction of building entities. The
    rules (licence state, service status) are the models' own functions.
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
)


@dataclass
class DevicePage:
    """One page of devices, with the counts 「表示件数: N / M」 shows."""

    items: list[ListedDevice]
    matching: int
    total: int
    pagination: Pagination
    today: dt.date  # the day the states are judged on, read once for the whole page

    @property
    def page(self) -> int:
        return self.pagination.page

    @property
    def pages(self) -> int:
        return self.pagination.pages

    @property
    def has_prev(self) -> bool:
        return self.pagination.has_prev

    @property
    def has_next(self) -> bool:
        return self.pagination.has_next


def visible_to(user: User) -> ColumnElement[bool]:
    """The devices *user* may see: the whole contract, or a general user's chosen ones."""
    owned = Device.contract_id == user.contract_id
    if user.role is Role.CONTRACTOR or user.all_devices:
        return owned
    chosen = select(UserDevice.device_id).where(UserDevice.user_id == user.id)
    return and_(owned, Device.id.in_(chosen))


def search_devices(
    contract_id: int,
    search: DeviceSearch,
    *,
    page: int,
    per_page: int,
    viewer: User | None = None,
) -> DevicePage:
    """Return a page of the contract's devices matching *search*, ordered by name.

    With a *viewer*, only the devices they may see count. Two statements at most in the
    usual case: the list alone counts its devices (one covering index) and reads a page
    of rows; a search reads its page with both counts in one pass, since counting the
    matches costs as much as finding them. Only a page past the end, or no match, counts
    separately.
    """
    condition = search.condition()
    owned = visible_to(viewer) if viewer is not None else Device.contract_id == contract_id
    counting = select(func.count(Device.id)).select_from(Device).where(owned)
    if search.needs_licence:
        counting = counting.join(Licence, Device.licence_id == Licence.id)
    rows = (
        select(*LISTED_COLUMNS)
        .join(Licence, Device.licence_id == Licence.id)
        .where(owned, condition)
        .order_by(Device.name, Device.id)
        .limit(per_page)
    )

    def listed(result: Any) -> list[ListedDevice]:
        # Each row holds LISTED_COLUMNS in order (and, for a search, its counts after them).
        width = len(LISTED_COLUMNS)
        return [ListedDevice(*row[:width]) for row in result]

    if search.is_empty:
        matching = total = db.session.scalar(counting) or 0
    else:
        offset = (max(page, 1) - 1) * per_page
        # Not correlated: the total counts every device in view, not the row beside it.
        total_in_view = select(func.count(Device.id)).where(owned).correlate(None)
        found = db.session.execute(
            rows.add_columns(func.count().over(), total_in_view.scalar_subquery()).offset(offset)
        ).all()
        if found:
            matching, total = found[0][-2:]
            pagination = Pagination.clamp(page, per_page, matching)
            return DevicePage(listed(found), matching, total, pagination, search.today)
        # No match, or a page past the end: count, and show the last page if there is one.
        matching, total = db.session.execute(
            counting.with_only_columns(
                func.count(Device.id).filter(condition), func.count(Device.id)
            )
        ).one()
    pagination = Pagination.clamp(page, per_page, matching)
    items = listed(db.session.execute(rows.offset(pagination.offset))) if matching else []
    return DevicePage(items, matching, total, pagination, search.today)


def list_portal_devices(viewer: User, *, page: int, per_page: int) -> DevicePage:
    """Return a page of the portal's device tiles, as *viewer* may see them."""
    return search_devices(
        viewer.contract_id, DeviceSearch(), page=page, per_page=per_page, viewer=viewer
    )


def count_devices(contract_id: int) -> int:
    return (
        db.session.scalar(select(func.count(Device.id)).where(Device.contract_id == contract_id))
        or 0
    )


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
