"""Fresh demo contracts (the same as `flask seed-demo` makes) in the live portal's database."""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select

from webapp.dev.demo import seed_demo
from webapp.enums import Plan
from webapp.extensions import db
from webapp.models import Device

DEMO_PASSWORD = "e2e-demo-pass-2026"


@dataclass(frozen=True)
class DemoDevice:
    id: int
    name: str
    model: str
    mac: str  # as displayed: 00:80:45:AB:CD:EF
    domain: str
    is_camera: bool
    camera_admin_password: str | None
    plan: Plan  # 加入サービス: what the portal keeps of its recordings


@dataclass(frozen=True)
class DemoContract:
    contract_id: int
    email: str
    password: str
    devices: tuple[DemoDevice, ...]  # in the order of 機器一覧 (by name)


def make_demo_contract(app: Flask, devices: int) -> DemoContract:
    """Seed a demo contract with *devices* devices under an e-mail address of its own."""
    email = f"e2e-{uuid.uuid4().hex[:12]}@example.com"
    with app.app_context():
        result = seed_demo(email, DEMO_PASSWORD, devices=devices, seed=zlib.crc32(email.encode()))
        rows = db.session.scalars(
            select(Device)
            .where(Device.contract_id == result.contract_id)
            .order_by(Device.name, Device.id)
        ).all()
        listed = tuple(
            DemoDevice(
                id=row.id,
                name=row.name,
                model=row.model,
                mac=row.mac_display,
                domain=row.domain,
                is_camera=row.is_camera,
                camera_admin_password=row.camera_admin_password,
                plan=row.licence.plan,
            )
            for row in rows
        )
    return DemoContract(result.contract_id, email, DEMO_PASSWORD, listed)
