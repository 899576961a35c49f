"""Deleting (cancelling) a device."""

from __future__ import annotations

from sqlalchemy import delete, update

from .. import storage
from ..audit import record_event
from ..enums import LicenceState
from ..extensions import db
from ..models import Device, Licence, NotificationSetting, Recording, utcnow


class AlreadyDeleted(Exception):
    """The device was deleted by another request in the meantime."""


def delete_device(device: Device, *, reason: str = "") -> None:
    """Delete a device for good (機器の削除／解約) and revoke its licence.

    One transaction removes the device, its notification setting and its recording
    rows, and revokes the licence (失効: never usable again); the recording files
    are removed once it has committed. Raises AlreadyDeleted, changing nothing,
    when a concurrent request got there first.
    """
    device_id, contract_id, licence_id = device.id, device.contract_id, device.licence_id
    name, domain = device.name, device.domain
    try:
        storage_keys = list(
            db.session.scalars(
                delete(Recording)
                .where(Recording.device_id == device_id)
                .returning(Recording.storage_key)
            )
        )
        db.session.execute(
            delete(NotificationSetting).where(NotificationSetting.device_id == device_id)
        )
        deleted = db.session.execute(
            delete(Device)
            .where(Device.id == device_id, Device.contract_id == contract_id)
            .returning(Device.id)
        ).first()
        if deleted is None:
            raise AlreadyDeleted(name)
        db.session.execute(
            update(Licence)
            .where(Licence.id == licence_id)
            .values(state=LicenceState.REVOKED, revoked_at=utcnow())
        )
        record_event(
            "device.delete",
            contract_id=contract_id,
            target_type="device",
            target_id=device_id,
            summary=name,
            detail={"domain": domain, "recordings": len(storage_keys), "reason": reason[:1000]},
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    storage.remove(storage_keys)
