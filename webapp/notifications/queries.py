"""Reading 通知メール設定: one page of the contract's devices with their event settings."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select

from ..devices.narrowing import narrow
from ..devices.queries import DeviceSearch
from ..extensions import db
from ..models import Device, NotificationSetting
from ..paging import Pagination


class SettingsPage(NamedTuple):
    rows: list[tuple[Device, NotificationSetting | None]]
    matching: int
    total: int
    pagination: Pagination


def device_settings_page(
    contract_id: int, page: int, per_page: int, search: DeviceSearch | None = None
) -> SettingsPage:
    """One page of the contract's devices that *search* keeps (by name), with their settings."""
    narrowed = narrow(contract_id, search or DeviceSearch(), page, per_page)
    rows = db.session.execute(
        narrowed.page_of(
            select(Device, NotificationSetting).outerjoin(
                NotificationSetting, NotificationSetting.device_id == Device.id
            )
        )
    ).all()
    return SettingsPage(
        [(device, setting) for device, setting in rows],
        narrowed.matching,
        narrowed.total,
        narrowed.pagination,
    )
