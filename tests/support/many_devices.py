"""A contract with many devices, made in a few statements instead of one factory call each."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from webapp import clock
from webapp.enums import CommStatus, DeviceKind, LicenceState, Plan, RecordingStatus, ServiceStatus
from webapp.extensions import db
from webapp.models import Device, Licence, NotificationSetting
from webapp.services.licences import new_licence_key


def add_many_devices(
    app: Flask, contract_id: int, count: int, *, prefix: str = "Bulk", settings: bool = True
) -> list[int]:
    """Add *count* devices named ``{prefix}0001``… (in that order by name); return their ids.

    With *settings*, each gets its notification setting row (all on), as registration does.
    """
    today = clock.today()
    with app.app_context():
        licences = [
            Licence(
                key=new_licence_key(),
                contract_id=contract_id,
                plan=Plan.RECORDING_7,
                starts_on=today - dt.timedelta(days=30),
                ends_on=today + dt.timedelta(days=334),
                state=LicenceState.IN_USE,
            )
            for _ in range(count)
        ]
        db.session.add_all(licences)
        db.session.flush()
        devices = [
            Device(
                contract_id=contract_id,
                licence_id=licence.id,
                kind=DeviceKind.CAMERA,
                name=f"{prefix}{n:04d}",
                model="WV-S1131",
                mac=f"0A{licence.id:010X}",
                domain=f"{prefix.lower()}{licence.id}.miemasu.test",
                comm_status=CommStatus.ONLINE,
                recording_status=RecordingStatus.CONTINUOUS,
                service_status=ServiceStatus.ACTIVE,
            )
            for n, licence in enumerate(licences, start=1)
        ]
        db.session.add_all(devices)
        db.session.flush()
        ids = [device.id for device in devices]
        if settings:
            db.session.add_all(NotificationSetting(device_id=device_id) for device_id in ids)
        db.session.commit()
        return ids
