"""Reading general users: the owner-scoped loader, the list, and one page of device access."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select

from ..access import found_or_gone
from ..devices.narrowing import narrow
from ..devices.queries import DeviceSearch
from ..enums import Role
from ..extensions import db
from ..models import Device, User, UserDevice
from ..paging import Pagination
from ..services.refusals import UserGone


def get_general_user(user_id: int, contract_id: int) -> User:
    """Return the contract's general user, or 404 (410 once this contract has deleted them).

    Another contract's user is a 404, exactly like one that never existed.
    """
    user = db.session.scalar(
        select(User).where(
            User.id == user_id, User.contract_id == contract_id, User.role == Role.GENERAL
        )
    )
    return found_or_gone(
        user, contract_id=contract_id, deletion="user.delete", target_id=user_id, gone=UserGone
    )


def general_users(contract_id: int) -> list[User]:
    """The contract's general users, by e-mail address."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.contract_id == contract_id, User.role == Role.GENERAL)
            .order_by(User.email)
        )
    )


class AccessPage(NamedTuple):
    """One page of the contract's devices, and which of them the user may see."""

    devices: list[Device]
    allowed: set[int]
    matching: int
    total: int
    pagination: Pagination


def device_access_page(
    user: User, page: int, per_page: int, search: DeviceSearch | None = None
) -> AccessPage:
    """One page of the device checklist of *user*'s detail screen, narrowed by *search*."""
    narrowed = narrow(user.contract_id, search or DeviceSearch(), page, per_page)
    devices = list(db.session.scalars(narrowed.page_of(select(Device))))
    allowed = set(
        db.session.scalars(
            select(UserDevice.device_id).where(
                UserDevice.user_id == user.id,
                UserDevice.device_id.in_([device.id for device in devices]),
            )
        )
    )
    return AccessPage(devices, allowed, narrowed.matching, narrowed.total, narrowed.pagination)
