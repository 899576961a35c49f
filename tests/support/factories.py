"""Test data factories (factory_boy) shared by the unit and end-to-end tests."""

from __future__ import annotations

import datetime as dt
from functools import cache

import factory
from factory.alchemy import SQLAlchemyModelFactory

from webapp import clock, storage
from webapp.enums import (
    CommStatus,
    DeviceKind,
    LicenceState,
    Plan,
    RecordingKind,
    RecordingStatus,
    Role,
    ServiceStatus,
)
from webapp.extensions import db
from webapp.models import (
    Contract,
    Device,
    Licence,
    NotificationRecipient,
    NotificationSetting,
    Recording,
    User,
    utcnow,
)
from webapp.passwords import hash_password
from webapp.services.licences import new_licence_key

PASSWORD = "correct horse battery"


@cache
def password_hash() -> str:
    """Hash the test password once: argon2 is slow on purpose."""
    return hash_password(PASSWORD)


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class ContractFactory(BaseFactory):
    class Meta:
        model = Contract

    name = factory.Faker("name", locale="ja_JP")
    company_name = factory.Faker("company", locale="ja_JP")
    furigana = "ヤマダ タロウ"
    postal_code = "1000001"
    address = "東京都千代田区千代田1-1"
    phone_work = "03-1234-5678"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    contract = factory.SubFactory(ContractFactory)
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password_hash = factory.LazyFunction(password_hash)
    role = Role.CONTRACTOR


class LicenceFactory(BaseFactory):
    class Meta:
        model = Licence

    key = factory.LazyFunction(new_licence_key)
    plan = Plan.RECORDING_7
    starts_on = factory.LazyFunction(lambda: clock.today() - dt.timedelta(days=30))
    ends_on = factory.LazyAttribute(lambda o: o.starts_on + dt.timedelta(days=364))
    state = LicenceState.IN_USE


class DeviceFactory(BaseFactory):
    class Meta:
        model = Device

    contract_id = None  # every device belongs to a contract: pass contract_id
    licence = factory.SubFactory(LicenceFactory, contract_id=factory.SelfAttribute("..contract_id"))
    kind = DeviceKind.CAMERA
    name = factory.Sequence(lambda n: f"Camera{n:04d}")
    model = "WV-S1131"
    mac = factory.Sequence(lambda n: f"008045{n:06X}")
    domain = factory.Sequence(lambda n: f"cam{n:05d}.miemasu.test")
    global_ip = "203.0.113.10"
    camera_admin_user = "admin"
    camera_admin_password = "s3cret-admin-pass"
    service_started_on = factory.LazyFunction(lambda: clock.today() - dt.timedelta(days=30))
    comm_status = CommStatus.ONLINE
    recording_status = RecordingStatus.CONTINUOUS
    service_status = ServiceStatus.ACTIVE
    setup_completed_at = factory.LazyFunction(utcnow)

    @factory.post_generation
    def with_settings(obj: Device, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            db.session.add(NotificationSetting(device_id=obj.id))
            db.session.commit()


def add_recordings(device: Device, count: int = 3) -> list[Recording]:
    """Give a device recordings: rows plus small files under RECORDINGS_DIR."""
    rows = []
    for n in range(count):
        key = f"{storage.device_prefix(device.contract_id, device.id)}/rec-{n}.png"
        data = b"\x89PNG fake image " + str(n).encode()
        storage.write(key, data, content_type="image/png")
        rows.append(
            Recording(
                device_id=device.id,
                kind=RecordingKind.IMAGE,
                captured_at=utcnow(),
                content_type="image/png",
                size_bytes=len(data),
                storage_key=key,
            )
        )
    db.session.add_all(rows)
    db.session.commit()
    return rows


def add_recipient(contract: Contract, email: str) -> NotificationRecipient:
    recipient = NotificationRecipient(contract_id=contract.id, email=email)
    db.session.add(recipient)
    db.session.commit()
    return recipient
