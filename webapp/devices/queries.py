"""Reading devices: the owner-scoped loader, the search of 機器一覧 and its paging."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from flask import abort
from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import contains_eager

from ..enums import Plan, ServiceStatus
from ..extensions import db
from ..models import AuditEvent, Device, Licence

MAX_PAGE = 10**6


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
    deleted = deletion_event(device_id, contract_id)
    if deleted is not None:
        raise DeviceGone(deleted.summary)
    abort(404)


def deletion_event(device_id: int, contract_id: int) -> AuditEvent | None:
    """Return the audit event of this contract's deletion of the device, if any."""
    return db.session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.contract_id == contract_id,
            AuditEvent.action == "device.delete",
            AuditEvent.target_id == device_id,
        )
        .limit(1)
    )


def parse_page(raw: str | None) -> int:
    """Read a 1-based page number leniently: anything unusable is page 1."""
    if raw is None or not raw.isdigit() or len(raw) > 7:
        return 1
    return min(max(int(raw), 1), MAX_PAGE)


def normalise_mac_fragment(value: str) -> str:
    """Strip separators and case from (part of) a MAC address."""
    return value.replace(":", "").replace("-", "").strip().upper()


@dataclass(frozen=True)
class DeviceSearch:
    """The search conditions (検索条件) of 機器一覧."""

    name: str = ""
    model: str = ""
    mac: str = ""
    domain: str = ""
    service_status: ServiceStatus | None = None
    plan: Plan | None = None

    def condition(self) -> ColumnElement[bool]:
        clauses: list[ColumnElement[bool]] = []
        if self.name:
            clauses.append(Device.name.icontains(self.name, autoescape=True))
        if self.model:
            clauses.append(Device.model.icontains(self.model, autoescape=True))
        if self.mac:
            clauses.append(Device.mac.contains(normalise_mac_fragment(self.mac), autoescape=True))
        if self.domain:
            clauses.append(Device.domain.icontains(self.domain, autoescape=True))
        if self.service_status is not None:
            clauses.append(Device.service_status == self.service_status)
        if self.plan is not None:
            clauses.append(Licence.plan == self.plan)
        return and_(*clauses) if clauses else true()


@dataclass
class DevicePage:
    """One page of devices, with the counts 「表示件数: N / M」 shows."""

    items: list[Device]
    matching: int
    total: int
    page: int
    per_page: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, math.ceil(self.matching / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def search_devices(
    contract_id: int, search: DeviceSearch, *, page: int, per_page: int
) -> DevicePage:
    """Return a page of the contract's devices matching *search*, ordered by name.

    Two statements whatever the number of devices: both counts in one, the rows in the other.
    """
    condition = search.condition()
    owned = Device.contract_id == contract_id
    matching, total = db.session.execute(
        select(func.count(Device.id).filter(condition), func.count(Device.id))
        .select_from(Device)
        .join(Licence, Device.licence_id == Licence.id)
        .where(owned)
    ).one()
    pages = max(1, math.ceil(matching / per_page))
    page = min(page, pages)
    items = list(
        db.session.scalars(
            select(Device)
            .join(Device.licence)
            .options(contains_eager(Device.licence))
            .where(owned, condition)
            .order_by(Device.name, Device.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return DevicePage(items=items, matching=matching, total=total, page=page, per_page=per_page)


def list_portal_devices(contract_id: int, *, page: int, per_page: int) -> DevicePage:
    """Return a page of the portal's device tiles."""
    return search_devices(contract_id, DeviceSearch(), page=page, per_page=per_page)


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
