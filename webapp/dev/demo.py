"""Demo data: one contract with many realistic devices, licences and recordings."""

from __future__ import annotations

import datetime as dt
import random
import struct
import zlib
from dataclasses import dataclass
from functools import partial
from typing import Any

from faker import Faker
from flask import current_app
from sqlalchemy import delete, func, insert, select

from .. import clock, storage
from ..database import after_commit, unit_of_work
from ..enums import (
    CommStatus,
    DeviceKind,
    LicenceState,
    Plan,
    RecordingKind,
    RecordingStatus,
    Role,
    ServiceStatus,
)
from ..extensions import db
from ..models import (
    Contract,
    Device,
    Licence,
    NotificationRecipient,
    NotificationSetting,
    Recording,
    User,
    recording_status,
    utcnow,
)
from ..passwords import hash_password
from ..services.contracts import create_contract
from ..services.licences import new_licence_key
from ..services.terms import publish_bundled_terms

# Real-looking model numbers (品番) of network cameras and recorders.
CAMERA_MODELS = [
    "WV-S1131",
    "WV-S1136",
    "WV-S2131L",
    "WV-S2136L",
    "WV-S1536LN",
    "WV-S1536LTN",
    "WV-X1551LN",
    "WV-X2251L",
    "WV-S3131L",
    "WV-S4156",
    "WV-U1132",
    "WV-U2142L",
    "BB-SC384B",
    "BB-SW174A",
    "WV-SPN531",
    "WV-SFV631L",
]
RECORDER_MODELS = ["WJ-NX300", "WJ-NX200", "WJ-NU201", "WJ-NU300", "WJ-NX400"]
PLACES = [
    "正面玄関",
    "裏口",
    "駐車場",
    "倉庫",
    "事務所",
    "レジ",
    "受付",
    "会議室",
    "通路",
    "屋上",
    "搬入口",
    "売場",
    "休憩室",
    "エレベーター前",
    "非常口",
    "駐輪場",
]
PANASONIC_OUI = "008045"
RECORDINGS_PER_DEVICE = 3


# The plans of the demo's devices, in turn: one device in five has ライブ映像 only, and
# small demos (up to four devices) record.
DEMO_PLANS = (Plan.RECORDING_30, Plan.RECORDING_7, Plan.RECORDING_30, Plan.RECORDING_7, Plan.LIVE)


@dataclass(frozen=True)
class DemoState:
    """A demo device's statuses, which agree with each other and with its dates."""

    comm: CommStatus
    recording: RecordingStatus
    service: ServiceStatus
    setup: dt.datetime | None  # 機器設定, after the service started and before now
    heard: dt.datetime | None  # its last heartbeat, for a device that has gone silent


def _demo_state(rng: random.Random, plan: Plan, started_on: dt.date, now: dt.datetime) -> DemoState:
    """Draw a demo device's statuses: never set up, gone silent, or online and recording.

    An online device's last heartbeat is left unset: the demo has no cameras behind it, and
    sweep-status judges only devices that have reported, so they stay 通信中.
    """
    roll = rng.random()
    if roll < 0.06:  # registered, never set up: it has reported nothing
        recording = recording_status(RecordingStatus.STOPPED, plan)
        return DemoState(
            CommStatus.NEVER_CONNECTED, recording, ServiceStatus.AWAITING_SETUP, None, None
        )
    started = clock.start_of(started_on)
    # Set up after the service started, and at least two days ago.
    setup = started + (now - dt.timedelta(days=2) - started) * rng.random()
    if roll < 0.16:  # gone silent a few hours or days ago, some time after its setup
        heard = now - (now - setup) * rng.uniform(0.01, 0.5)
        heard = max(heard, now - dt.timedelta(days=5))
        recording = RecordingStatus.STOPPED
        return DemoState(
            CommStatus.OFFLINE,
            recording_status(recording, plan),
            ServiceStatus.ACTIVE,
            setup,
            heard,
        )
    recording = rng.choice(
        [RecordingStatus.CONTINUOUS, RecordingStatus.CONTINUOUS, RecordingStatus.SCHEDULED]
    )
    return DemoState(
        CommStatus.ONLINE, recording_status(recording, plan), ServiceStatus.ACTIVE, setup, None
    )


@dataclass
class DemoResult:
    contract_id: int
    devices: int
    recordings: int


def _png(width: int, height: int, rgb: tuple[int, int, int], stripe: tuple[int, int, int]) -> bytes:
    """Encode a small two-tone PNG (a stand-in for a camera still)."""
    rows = bytearray()
    for y in range(height):
        colour = stripe if height // 3 <= y < height // 3 + 4 else rgb
        rows += b"\x00" + bytes(colour) * width

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


def _images(rng: random.Random, count: int = 12) -> list[bytes]:
    return [
        _png(
            64,
            36,
            (rng.randrange(40, 120), rng.randrange(60, 140), rng.randrange(80, 160)),
            (rng.randrange(150, 255), rng.randrange(150, 255), rng.randrange(150, 255)),
        )
        for _ in range(count)
    ]


def remove_contract_of(email: str) -> bool:
    """Delete the contract whose contractor has *email*, with everything it holds."""
    with unit_of_work():
        contract_id = db.session.scalar(
            select(User.contract_id).where(func.lower(User.email) == email.lower())
        )
        if contract_id is None:
            return False
        device_ids = select(Device.id).where(Device.contract_id == contract_id)
        licence_ids = select(Device.licence_id).where(Device.contract_id == contract_id)
        db.session.execute(delete(Recording).where(Recording.device_id.in_(device_ids)))
        db.session.execute(
            delete(NotificationSetting).where(NotificationSetting.device_id.in_(device_ids))
        )
        used = list(db.session.scalars(licence_ids))
        db.session.execute(delete(Device).where(Device.contract_id == contract_id))
        db.session.execute(
            delete(Licence).where((Licence.contract_id == contract_id) | Licence.id.in_(used))
        )
        db.session.execute(delete(Contract).where(Contract.id == contract_id))
        after_commit(partial(storage.remove_tree, storage.contract_prefix(contract_id)))
    return True


def _free_macs(rng: random.Random, count: int) -> list[int]:
    """*count* distinct MAC suffixes under the demo OUI that no registered device uses."""
    taken = {
        int(mac[len(PANASONIC_OUI) :], 16)
        for mac in db.session.scalars(
            select(Device.mac).where(Device.mac.startswith(PANASONIC_OUI))
        )
    }
    chosen: list[int] = []
    seen = set(taken)
    while len(chosen) < count:
        suffix = rng.randrange(16**6)
        if suffix not in seen:
            seen.add(suffix)
            chosen.append(suffix)
    return chosen


def seed_demo(email: str, password: str, devices: int, *, seed: int | None = None) -> DemoResult:
    """Replace any contract of *email* with a demo contract holding *devices* devices.

    The replacement is one transaction: should seeding fail, the old contract stays.
    """
    rng = random.Random(seed)
    fake = Faker("ja_JP")
    fake.seed_instance(seed)
    with unit_of_work():
        remove_contract_of(email)
        # The demo contract has accepted the current terms, so its first login goes straight in.
        terms_version = publish_bundled_terms().version

        today = clock.today()
        now = utcnow()
        domain_suffix = current_app.config["DEVICE_DOMAIN_SUFFIX"]
        last, last_kana, _ = fake.last_name_pair()
        first, first_kana, _ = fake.first_name_pair()
        contract = create_contract(
            email=email,
            password=password,
            name=f"{last} {first}",
            company_name=fake.company(),
            furigana=f"{last_kana} {first_kana}",
            postal_code=fake.zipcode().replace("-", ""),
            address=fake.address().split(" ", 1)[-1],
            phone_work=f"03-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}",
            phone_mobile=f"090-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}",
            seat_limit=5,
        )
        for user in contract.users:
            user.terms_version = terms_version
        local, _, domain = email.partition("@")
        viewer_hash = hash_password(password)
        for n in (1, 2):
            db.session.add(
                User(
                    contract_id=contract.id,
                    email=f"{local}+viewer{n}@{domain}",
                    password_hash=viewer_hash,
                    role=Role.GENERAL,
                    terms_version=terms_version,
                )
            )
        db.session.add_all(
            NotificationRecipient(contract_id=contract.id, email=address)
            for address in (email, f"{local}+alerts@{domain}")
        )

        licence_rows: list[dict[str, Any]] = []
        for i in range(devices):
            # Registered some days ago (its service started then), never in the future.
            starts_on = today - dt.timedelta(days=rng.randrange(3, 360))
            licence_rows.append(
                {
                    "key": new_licence_key(),
                    "contract_id": contract.id,
                    "plan": DEMO_PLANS[i % len(DEMO_PLANS)],
                    "starts_on": starts_on,
                    "ends_on": starts_on + dt.timedelta(days=364),
                    "state": LicenceState.IN_USE,
                    "issued_at": now,
                }
            )
        licence_ids = (
            list(
                db.session.scalars(
                    insert(Licence).returning(Licence.id, sort_by_parameter_order=True),
                    licence_rows,
                )
            )
            if licence_rows
            else []
        )

        macs = _free_macs(rng, devices)
        device_rows = []
        for i, (licence_id, licence) in enumerate(zip(licence_ids, licence_rows, strict=True)):
            # About one in seven is a recorder, but never the first: every demo contract has a
            # camera to show an image from (and for `fake-camera --demo-email`).
            recorder = rng.random() < 0.15 and i > 0
            kind = DeviceKind.RECORDER if recorder else DeviceKind.CAMERA
            state = _demo_state(rng, licence["plan"], licence["starts_on"], now)
            camera = kind is DeviceKind.CAMERA
            own_list_pair = camera and rng.random() < 0.5
            device_rows.append(
                {
                    "contract_id": contract.id,
                    "licence_id": licence_id,
                    "kind": kind,
                    "name": f"{rng.choice(PLACES)} {i + 1:04d}",
                    "model": rng.choice(CAMERA_MODELS if camera else RECORDER_MODELS),
                    "mac": f"{PANASONIC_OUI}{macs[i]:06X}",
                    # The contract's id keeps them apart from every other contract's devices.
                    "domain": f"cam{i + 1:05d}-c{contract.id}.{domain_suffix}",
                    "global_ip": f"203.0.113.{rng.randrange(1, 255)}" if state.setup else None,
                    "camera_admin_user": "admin" if camera else None,
                    "camera_admin_password": fake.password(length=12) if camera else None,
                    # Half the cameras have a separate viewing account; the rest use the admin pair.
                    "camera_list_user": "viewer" if own_list_pair else None,
                    "camera_list_password": fake.password(length=12) if own_list_pair else None,
                    "service_started_on": licence["starts_on"],
                    "comm_status": state.comm,
                    "recording_status": state.recording,
                    "service_status": state.service,
                    "setup_completed_at": state.setup,
                    "last_heartbeat_at": state.heard,
                    "created_at": clock.start_of(licence["starts_on"]),
                }
            )
        device_ids = (
            list(
                db.session.scalars(
                    insert(Device).returning(Device.id, sort_by_parameter_order=True), device_rows
                )
            )
            if device_rows
            else []
        )
        if device_ids:
            db.session.execute(
                insert(NotificationSetting),
                [
                    {
                        "device_id": device_id,
                        "on_comm_change": True,
                        "on_recording_stop": rng.random() < 0.7,
                        "on_licence_expiry": True,
                    }
                    for device_id in device_ids
                ],
            )

        images = _images(rng)
        recording_rows = []
        files: list[tuple[str, bytes]] = []
        for device_id, row, licence in zip(device_ids, device_rows, licence_rows, strict=True):
            if row["setup_completed_at"] is None:
                continue
            # What the plan keeps: ライブ映像 only the newest still image, 録画 N日 a few
            # recent ones, all taken after 機器設定 and up to the device's last report.
            latest = row["last_heartbeat_at"] or now
            count = RECORDINGS_PER_DEVICE if licence["plan"].keeps_recordings else 1
            for n in range(count):
                data = rng.choice(images)
                key = f"{storage.device_prefix(contract.id, device_id)}/demo-{n}.png"
                files.append((key, data))
                recording_rows.append(
                    {
                        "device_id": device_id,
                        "kind": RecordingKind.IMAGE,
                        "captured_at": latest - dt.timedelta(minutes=15 * n + rng.randrange(15)),
                        "content_type": "image/png",
                        "size_bytes": len(data),
                        "storage_key": key,
                    }
                )
        if recording_rows:
            db.session.execute(insert(Recording), recording_rows)
        # Files before the commit: should it fail, stray files are harmless, whereas rows
        # naming files that were never written would not be.
        for key, data in files:
            storage.write(key, data, content_type="image/png")
        return DemoResult(contract_id=contract.id, devices=len(device_ids), recordings=len(files))


def demo_camera(email: str) -> Device | None:
    """The first camera, by id, of the contract whose contractor has *email* (for demos)."""
    return db.session.scalar(
        select(Device)
        .join(User, User.contract_id == Device.contract_id)
        .where(
            User.email == email.strip().lower(),
            User.role == Role.CONTRACTOR,
            Device.kind == DeviceKind.CAMERA,
        )
        .order_by(Device.id)
        .limit(1)
    )
