"""One service time zone for every date: registration, licence terms, 操作履歴, display."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from flask import Flask

from tests.support.client import Account, Client
from tests.support.factories import LicenceFactory
from webapp import clock
from webapp.audit import record_event
from webapp.config import ConfigError, load_config
from webapp.database import unit_of_work
from webapp.enums import DeviceKind, LicenceState
from webapp.extensions import db
from webapp.filters import datetime_ja
from webapp.services.devices import register_device

# 00:23 on 4 December in Tokyo is still 3 December in UTC.
TOKYO_00_23 = dt.datetime(2026, 12, 3, 15, 23, tzinfo=dt.UTC)


def test_the_zone_is_tokyo_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_config(tmp_path)["SERVICE_TIME_ZONE"] == "Asia/Tokyo"
    monkeypatch.setenv("SERVICE_TIME_ZONE", "Europe/Paris")
    assert load_config(tmp_path)["SERVICE_TIME_ZONE"] == "Europe/Paris"
    monkeypatch.setenv("SERVICE_TIME_ZONE", "Mars/Olympus_Mons")
    with pytest.raises(ConfigError, match="SERVICE_TIME_ZONE"):
        load_config(tmp_path)


def test_days_begin_at_midnight_in_the_service_zone(app: Flask) -> None:
    with app.app_context():
        assert clock.start_of(dt.date(2026, 12, 4)) == dt.datetime(2026, 12, 3, 15, 0)
        assert clock.day_of(dt.datetime(2026, 12, 3, 15, 23)) == dt.date(2026, 12, 4)
        with time_machine.travel(TOKYO_00_23, tick=False):
            assert clock.today() == dt.date(2026, 12, 4)
        assert datetime_ja(dt.datetime(2026, 12, 3, 15, 23)) == "2026/12/04 00:23"
        app.config["SERVICE_TIME_ZONE"] = "UTC"
        assert datetime_ja(dt.datetime(2026, 12, 3, 15, 23)) == "2026/12/03 15:23"


def test_a_device_registered_at_00_23_in_tokyo_starts_that_day(
    app: Flask, contractor: Account
) -> None:
    with app.app_context(), time_machine.travel(TOKYO_00_23, tick=False):
        licence = LicenceFactory(
            contract_id=contractor.contract_id,
            state=LicenceState.UNUSED,
            starts_on=dt.date(2026, 12, 1),
            ends_on=dt.date(2027, 11, 30),
        )
        device, _ = register_device(
            contractor.contract_id,
            key=licence.key,
            name="深夜の登録",
            model="WV-S1131",
            mac="008045ABCDEF",
            kind=DeviceKind.CAMERA,
        )
        assert device.service_started_on == dt.date(2026, 12, 4)


def test_a_licence_lasts_to_the_end_of_its_last_day_in_tokyo(app: Flask) -> None:
    with app.app_context():
        licence = LicenceFactory(starts_on=dt.date(2025, 12, 4), ends_on=dt.date(2026, 12, 3))
        late_on_the_last_day = dt.datetime(2026, 12, 3, 14, 59, tzinfo=dt.UTC)  # 23:59 Tokyo
        with time_machine.travel(late_on_the_last_day, tick=False):
            assert licence.effective_state() is LicenceState.IN_USE
        with time_machine.travel(TOKYO_00_23, tick=False):  # UTC is still on the last day
            assert licence.effective_state() is LicenceState.EXPIRED


def test_history_filters_by_the_service_day(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context(), time_machine.travel(TOKYO_00_23, tick=False):
        with unit_of_work():
            record_event("contract.export", contract_id=contractor.contract_id)
        db.session.remove()
    found = logged_in.get("/history?action=contract.export&date_from=2026-12-04&date_to=2026-12-04")
    assert "2026/12/04 00:23" in found.get_data(as_text=True)
    before = logged_in.get("/history?action=contract.export&date_to=2026-12-03")
    assert "2026/12/04 00:23" not in before.get_data(as_text=True)
