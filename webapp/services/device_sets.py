"""Sets of a contract's devices that a settings page posts, checked as a whole."""

from __future__ import annotations

from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from ..audit import deleted_by
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
    """Return those of *device_ids* that are devices of the contract, or answer 404.

    Another contract's device, or one that never existed, refuses the whole post: nothing of
    it is saved. A device this contract deleted since the page was shown (another tab) is
    only left out. One statement when all are there, whatever the number of ids.

    The devices are read FOR KEY SHARE (PostgreSQL; SQLite's writers are serialised anyway)
    and stay so until the caller's transaction ends: a device being deleted now is waited
    for and then left out, and none can go before the caller's rows that name it are in.
    """
    if len(device_ids) > MAX_POSTED_DEVICES:
        raise NotFound()
    if not device_ids:
        return set()
    present = set(
        db.session.scalars(
            select(Device.id)
            .where(Device.contract_id == contract_id, Device.id.in_(device_ids))
            .with_for_update(read=True, key_share=True)
        )
    )
    if len(present) == len(device_ids):
        return device_ids
    missing = device_ids - present
    if missing - set(deleted_by(contract_id, "device.delete", missing)):
        raise NotFound()
    return present
