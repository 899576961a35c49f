"""Sets of a contract's devices that a settings page posts, checked as a whole."""

from __future__ import annotations

from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from ..extensions import db
from ..models import Device

# A page shows fifty devices; a post naming more than this was not made by the page.
MAX_POSTED_DEVICES = 500


def contract_devices(contract_id: int) -> int:
    """How many devices the contract has."""
    return (
        db.session.scalar(
            select(func.count()).select_from(Device).where(Device.contract_id == contract_id)
        )
        or 0
    )


def own_devices(contract_id: int, device_ids: set[int]) -> set[int]:
    """Return *device_ids* when every one is a device of the contract, else answer 404.

    One count, whatever the number of ids. Another contract's device, or one that never
    existed, refuses the whole post: nothing of it is saved.
    """
    if len(device_ids) > MAX_POSTED_DEVICES:
        raise NotFound()
    if not device_ids:
        return set()
    owned = db.session.scalar(
        select(func.count())
        .select_from(Device)
        .where(Device.contract_id == contract_id, Device.id.in_(device_ids))
    )
    if owned != len(device_ids):
        raise NotFound()
    return device_ids
