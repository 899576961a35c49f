"""Reading 通知メール設定: one page of the contract's devices with their event settings."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select

from ..devices.queries import count_devices
from ..extensions import db
from ..models import Device, NotificationSetting
from ..paging import Pagination


class SettingsPage(NamedTuple):
    rows: list[tuple[Device, NotificationSetting | None]]
    pagination: Pagination


def device_settings_page(contract_id: int, page: int, per_page: int) -> SettingsPage:
    """One page of the contract's devices (by name), each with its notification setting."""
    pagination = Pagination.clamp(page, per_page, count_devices(contract_id))
    rows = db.session.execute(
        select(Device, NotificationSetting)
        .outerjoin(NotificationSetting, NotificationSetting.device_id == Device.id)
        .where(Device.contract_id == contract_id)
        .order_by(Device.name, Device.id)
        .limit(per_page)
        .offset(pagination.offset)
    ).all()
    return SettingsPage([(device, setting) for device, setting in rows], pagination)
