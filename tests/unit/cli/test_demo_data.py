"""seed-demo makes data that obeys every rule: plans, dates and statuses that agree."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from flask import Flask
from sqlalchemy import select

from webapp import clock
from webapp.enums import (
    CommStatus,
    LicenceState,
    Plan,
    RecordingKind,
    RecordingStatus,
    ServiceStatus,
)
from webapp.extensions import db
from webapp.models import Device, Licence, Recording
from webapp.services.retention import kept, prune_recordings


def test_demo_data_obeys_the_plans_dates_and_statuses(app: Flask) -> None:
    from webapp.dev.demo import seed_demo

    with app.app_context():
        seed_demo("rules@example.com", "pass phrase 2026", devices=120, seed=11)
        now, today = clock.utcnow(), clock.today()
        silence = dt.timedelta(seconds=app.config["DEVICE_SILENCE_SECONDS"])
        devices = db.session.scalars(select(Device)).all()
        recordings = Counter(db.session.scalars(select(Recording.device_id)))
        kinds = set(db.session.scalars(select(Recording.kind)))
        plans = Counter(device.licence.plan for device in devices)

        assert set(plans) == set(Plan) and plans[Plan.LIVE] == 24  # one in five
        assert len({device.comm_status for device in devices}) == len(CommStatus)
        for device in devices:
            licence, plan = device.licence, device.licence.plan
            assert licence.effective_state(today) is LicenceState.IN_USE
            assert device.service_started_on is not None
            assert licence.starts_on <= device.service_started_on <= today
            assert device.created_at <= now
            setup, heard = device.setup_completed_at, device.last_heartbeat_at
            if device.comm_status is CommStatus.NEVER_CONNECTED:
                # Never set up: nothing reported, nothing stored.
                assert setup is None and heard is None and device.global_ip is None
                assert device.service_status is ServiceStatus.AWAITING_SETUP
                assert recordings[device.id] == 0
            else:
                assert setup is not None and device.service_status is ServiceStatus.ACTIVE
                assert clock.start_of(device.service_started_on) <= setup <= now
                assert device.global_ip
            if device.comm_status is CommStatus.OFFLINE:
                assert heard is not None and setup is not None
                assert setup <= heard < now - silence
                assert device.recording_status in {RecordingStatus.STOPPED, RecordingStatus.NONE}
            if plan is Plan.LIVE:
                assert device.recording_status is RecordingStatus.NONE
                assert recordings[device.id] <= 1  # only the newest still image
            else:
                assert device.recording_status is not RecordingStatus.NONE
        # Every recording is one its plan keeps, taken after 機器設定 and by the last report.
        for recording, device in db.session.execute(
            select(Recording, Device).join(Device, Device.id == Recording.device_id)
        ):
            assert device.setup_completed_at is not None
            assert device.setup_completed_at <= recording.captured_at
            assert recording.captured_at <= (device.last_heartbeat_at or now)
        assert kinds == {RecordingKind.IMAGE}
        assert (
            db.session.scalar(
                select(Recording.id)
                .join(Device, Device.id == Recording.device_id)
                .join(Licence, Licence.id == Device.licence_id)
                .where(~kept(Licence.plan))
            )
            is None
        )
        assert prune_recordings().recordings == 0  # nothing for the retention job to do


def test_every_demo_contract_has_a_camera_first(app: Flask) -> None:
    """Small demo contracts too: the fake camera and the image flow need one to act as."""
    from webapp.dev.demo import seed_demo
    from webapp.enums import DeviceKind

    with app.app_context():
        for seed in range(20):  # at 15 % recorders, some of these seeds draw one first
            result = seed_demo(
                f"first-{seed}@example.com", "pass phrase 2026", devices=1, seed=seed
            )
            kinds = db.session.scalars(
                select(Device.kind).where(Device.contract_id == result.contract_id)
            ).all()
            assert kinds == [DeviceKind.CAMERA], seed
