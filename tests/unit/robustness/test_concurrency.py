"""Races: two requests at the same moment never both win, never crash, never orphan rows.

Each test starts threads that each work in their own application context and session,
lined up on a barrier so that their transactions overlap; they run on SQLite and, with
TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from tests.support.client import Account
from tests.support.factories import DeviceFactory, LicenceFactory, add_recipient, add_recordings
from tests.support.mail import Mailbox
from webapp.enums import CommStatus, DeviceKind, LicenceState, RecordingStatus
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Contract,
    Device,
    DeviceExchange,
    Licence,
    NotificationSetting,
    Recording,
    utcnow,
)
from webapp.services.account import withdraw_contract
from webapp.services.device_reports import (
    api_secret_is_current,
    authenticate,
    heartbeat,
    issue_api_secret,
    sweep_silent_devices,
)
from webapp.services.devices import (
    delete_device,
    exchange_device,
    register_device,
    start_setup,
)
from webapp.services.refusals import DevicesRemain


def race(app: Flask, *jobs: Callable[[], Any]) -> list[str]:
    """Run the jobs at once, each in its own app context; return how each ended."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = [""] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        with app.test_request_context():
            try:
                prepared = job()
                barrier.wait(timeout=10)
                result = prepared() if callable(prepared) else prepared
                outcomes[index] = f"ok:{result}" if result is not None else "ok"
            except Exception as exc:  # the outcome is what the test looks at
                outcomes[index] = type(exc).__name__
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_two_deletions_of_one_device(app: Flask, contractor: Account) -> None:
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id)
        add_recordings(device, 5)
        device_id, licence_id = device.id, device.licence_id

    def deleter() -> Callable[[], None]:
        device = db.session.get(Device, device_id)  # both load it before either deletes

        def go() -> None:
            delete_device(device)

        return go

    outcomes = race(app, deleter, deleter)
    assert sorted(outcomes) == ["DeviceGone", "ok"]
    assert count(app, Device, Device.id == device_id) == 0
    assert count(app, Recording, Recording.device_id == device_id) == 0
    assert count(app, NotificationSetting, NotificationSetting.device_id == device_id) == 0
    assert count(app, AuditEvent, AuditEvent.action == "device.delete") == 1
    with app.app_context():
        assert db.session.get(Licence, licence_id).state is LicenceState.REVOKED


def test_withdrawal_racing_a_registration_never_loses_a_device(
    app: Flask, contractor: Account
) -> None:
    for attempt in range(3):
        with app.app_context():
            key = LicenceFactory(contract_id=contractor.contract_id, state=LicenceState.UNUSED).key
        mac = f"0080451234{attempt:02X}"

        def withdraw() -> Callable[[], None]:
            contract = db.session.get(Contract, contractor.contract_id)

            def go() -> None:
                withdraw_contract(contract)

            return go

        def register(key: str = key, mac: str = mac) -> Callable[[], int]:
            def go() -> int:
                return register_device(
                    contractor.contract_id,
                    key=key,
                    name="同時登録",
                    model="WV-S1131",
                    mac=mac,
                    kind=DeviceKind.CAMERA,
                ).device.id

            return go

        outcomes = race(app, withdraw, register)
        withdrew = outcomes[0] == "ok"
        registered = outcomes[1].startswith("ok")
        # Exactly one of them wins, and the loser says why.
        assert withdrew != registered, outcomes
        if withdrew:
            assert outcomes[1] in {"Refused", "ContractGone", "AlreadyWithdrawn"}, outcomes
            assert count(app, Contract, Contract.id == contractor.contract_id) == 0
            assert count(app, Device, Device.mac == mac) == 0
            return
        assert outcomes[0] == DevicesRemain.__name__, outcomes
        assert count(app, Device, Device.mac == mac) == 1
        with app.app_context():
            # Clear the way for the next attempt: the registration won this one.
            delete_device(db.session.scalar(select(Device).where(Device.mac == mac)))


def test_two_exchanges_of_one_device(app: Flask, contractor: Account) -> None:
    with app.app_context():
        device_id = DeviceFactory(contract_id=contractor.contract_id, mac="008045AAAA01").id

    def exchanger(new_mac: str) -> Callable[[], Callable[[], None]]:
        def prepare() -> Callable[[], None]:
            device = db.session.get(Device, device_id)
            _ = device.licence.state

            def go() -> None:
                exchange_device(device, new_model="WV-S1131", new_mac=new_mac)

            return go

        return prepare

    outcomes = race(app, exchanger("008045BBBB01"), exchanger("008045CCCC01"))
    assert sorted(outcomes) == ["AlreadyDone", "ok"], outcomes
    assert count(app, DeviceExchange) == 1
    with app.app_context():
        device = db.session.get(Device, device_id)
        assert device.mac in {"008045BBBB01", "008045CCCC01"}
        assert device.licence.state is LicenceState.IN_USE


def test_two_registrations_with_one_key(app: Flask, contractor: Account) -> None:
    with app.app_context():
        key = LicenceFactory(contract_id=contractor.contract_id, state=LicenceState.UNUSED).key

    def registrar(mac: str) -> Callable[[], Callable[[], int]]:
        def prepare() -> Callable[[], int]:
            def go() -> int:
                return register_device(
                    contractor.contract_id,
                    key=key,
                    name=mac,
                    model="WV-S1131",
                    mac=mac,
                    kind=DeviceKind.CAMERA,
                ).device.id

            return go

        return prepare

    outcomes = race(app, registrar("008045DDDD01"), registrar("008045DDDD02"))
    assert sorted(o.split(":")[0] for o in outcomes) == ["Refused", "ok"], outcomes
    assert count(app, Device, Device.contract_id == contractor.contract_id) == 1


def test_two_registrations_of_one_mac(app: Flask, contractor: Account) -> None:
    with app.app_context():
        keys = [
            LicenceFactory(contract_id=contractor.contract_id, state=LicenceState.UNUSED).key
            for _ in range(2)
        ]

    def registrar(key: str) -> Callable[[], Callable[[], int]]:
        def prepare() -> Callable[[], int]:
            def go() -> int:
                return register_device(
                    contractor.contract_id,
                    key=key,
                    name="同じMAC",
                    model="WV-S1131",
                    mac="008045EEEE01",
                    kind=DeviceKind.CAMERA,
                ).device.id

            return go

        return prepare

    outcomes = race(app, registrar(keys[0]), registrar(keys[1]))
    assert sorted(o.split(":")[0] for o in outcomes) == ["Refused", "ok"], outcomes
    assert count(app, Device, Device.mac == "008045EEEE01") == 1
    # The loser's key was not consumed.
    assert count(app, Licence, Licence.state == LicenceState.UNUSED) == 1


def test_racing_reports_of_one_change_mail_once(
    app: Flask, contractor: Account, smtp: Mailbox
) -> None:
    """Four heartbeats at once bring a device online: one change, one mail per address.

    Then the sweep and a late heartbeat race over a silent device: whichever wins, the
    status is consistent with the mails sent.
    """
    with app.app_context():
        device = DeviceFactory(
            contract_id=contractor.contract_id, comm_status=CommStatus.NEVER_CONNECTED
        )
        device_id = device.id
        add_recipient(db.session.get(Contract, contractor.contract_id), "watch@example.com")

    def beater() -> Callable[[], int]:
        device = db.session.get(Device, device_id)  # all read 未接続 before any writes

        def go() -> int:
            return heartbeat(device, RecordingStatus.CONTINUOUS, "127.0.0.1")

        return go

    outcomes = race(app, beater, beater, beater, beater)
    assert sorted(outcomes) == ["ok:0", "ok:0", "ok:0", "ok:1"], outcomes
    assert len(smtp.messages) == 1
    with app.app_context():
        assert db.session.get(Device, device_id).comm_status is CommStatus.ONLINE
        db.session.get(Device, device_id).last_heartbeat_at = utcnow() - dt.timedelta(hours=1)
        db.session.commit()

    def sweeper() -> Callable[[], tuple[int, int]]:
        return sweep_silent_devices

    outcomes = race(app, sweeper, beater)
    assert all(outcome.startswith("ok") for outcome in outcomes), outcomes
    with app.app_context():
        status = db.session.get(Device, device_id).comm_status
    # Online at the end: either the heartbeat came first (no change, no mail) or the
    # sweep did (two changes, two mails). Never one mail and a wrong status.
    assert status is CommStatus.ONLINE
    assert len(smtp.messages) in {1, 3}, outcomes


def test_two_confirmations_of_one_setup_issue_one_secret(app: Flask, contractor: Account) -> None:
    """A double click on 「新しい機器認証キーを発行」: one secret, one audit record."""
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id)
        issue_api_secret(device)
        db.session.commit()
        device_id, shown = device.id, device.secret_mark

    def confirmer() -> Callable[[], str]:
        device = db.session.get(Device, device_id)
        _ = device.licence.state

        def go() -> str:
            return start_setup(device, replacing=shown)

        return go

    outcomes = race(app, confirmer, confirmer)
    assert sorted(outcome.split(":")[0] for outcome in outcomes) == ["AlreadyDone", "ok"]
    secret = next(o for o in outcomes if o.startswith("ok:")).removeprefix("ok:")
    with app.app_context():
        assert api_secret_is_current(device_id, secret)
    assert count(app, AuditEvent, AuditEvent.action == "device.setup") == 1


def test_racing_first_heartbeats_with_a_new_secret_set_up_once(
    app: Flask, contractor: Account, smtp: Mailbox
) -> None:
    """Four first heartbeats with the new secret at once: 完了 once, one mail per change."""
    with app.app_context():
        device = DeviceFactory(
            contract_id=contractor.contract_id, comm_status=CommStatus.NEVER_CONNECTED
        )
        issue_api_secret(device)
        db.session.commit()
        device_id = device.id
        add_recipient(db.session.get(Contract, contractor.contract_id), "watch@example.com")
        device = db.session.get(Device, device_id)
        secret = start_setup(device, replacing=device.secret_mark)

    def beater() -> Callable[[], int]:
        device = authenticate(device_id, f"Bearer {secret}")

        def go() -> int:
            return heartbeat(device, RecordingStatus.CONTINUOUS, "127.0.0.1")

        return go

    outcomes = race(app, beater, beater, beater, beater)
    assert sorted(outcomes) == ["ok:0", "ok:0", "ok:0", "ok:1"], outcomes
    assert len(smtp.messages) == 1
    with app.app_context():
        device = db.session.get(Device, device_id)
        assert device.comm_status is CommStatus.ONLINE
        assert device.setup_completed_at is not None
        assert device.old_api_secret_digest is None


def test_a_setup_racing_a_first_heartbeat_never_completes_with_an_old_secret(
    app: Flask, contractor: Account
) -> None:
    """The device reports with its new secret just as 機器設定 runs again.

    Whichever wins, 機器設定 is 完了 only when the secret the heartbeat came with is still
    the newest, and the device always keeps a working secret.
    """
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id)
        issue_api_secret(device)
        db.session.commit()
        device_id = device.id
        device = db.session.get(Device, device_id)
        moved_to = start_setup(device, replacing=device.secret_mark)

    def beater() -> Callable[[], int]:
        device = authenticate(device_id, f"Bearer {moved_to}")

        def go() -> int:
            return heartbeat(device, None, "127.0.0.1")

        return go

    def confirmer() -> Callable[[], str]:
        device = db.session.get(Device, device_id)
        shown = device.secret_mark

        def go() -> str:
            return start_setup(device, replacing=shown)

        return go

    outcomes = race(app, beater, confirmer)
    assert all(outcome.startswith("ok") for outcome in outcomes), outcomes
    newest = outcomes[1].removeprefix("ok:")
    with app.app_context():
        device = db.session.get(Device, device_id)
        # The heartbeat came first (完了, then 機器設定 made it 未完了 again) or second (its
        # secret was the old one by then): either way 未完了 now, for the newest secret.
        assert device.setup_completed_at is None
        assert api_secret_is_current(device_id, newest)
        assert authenticate(device_id, f"Bearer {moved_to}").id == device_id
