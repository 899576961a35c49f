"""Operator commands: seed-demo, create-contract, issue-licences."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from tests.support.apps import build_app, close_app
from tests.support.databases import ON_POSTGRES
from webapp.enums import DeviceKind, LicenceState, Role
from webapp.extensions import db
from webapp.models import Contract, Device, Licence, NotificationSetting, Recording, User
from webapp.passwords import verify_password


@pytest.fixture
def empty_app(tmp_path: Path, empty_database: str) -> Iterator[Flask]:
    """An app whose database has no schema yet."""
    app = build_app(tmp_path, empty_database)
    yield app
    close_app(app)


def test_seed_demo_builds_schema_and_a_realistic_contract(empty_app: Flask, tmp_path: Path) -> None:
    result = empty_app.test_cli_runner().invoke(
        args=[
            "seed-demo",
            "--email",
            "Demo@Example.com",
            "--password",
            "pw-123456",
            "--devices",
            "40",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "40 devices" in result.output
    with empty_app.app_context():
        user = db.session.scalar(select(User).where(User.role == Role.CONTRACTOR))
        assert user.email == "demo@example.com"
        assert verify_password(user.password_hash, "pw-123456")
        devices = db.session.scalars(select(Device)).all()
        assert len(devices) == 40
        assert len({d.name for d in devices}) == 40
        assert len({d.model for d in devices}) > 3
        assert {d.kind for d in devices} == set(DeviceKind) or len(devices) < 10
        assert all(re.fullmatch(r"008045[0-9A-F]{6}", d.mac) for d in devices)
        assert len({d.comm_status for d in devices}) > 1
        assert db.session.scalar(select(func.count()).select_from(NotificationSetting)) == 40
        recordings = db.session.scalars(select(Recording)).all()
        assert recordings
        assert all((tmp_path / "recordings" / r.storage_key).is_file() for r in recordings)
        licences = db.session.scalars(select(Licence)).all()
        assert {licence.state for licence in licences} == {LicenceState.IN_USE}


@pytest.mark.skipif(not ON_POSTGRES, reason="about PostgreSQL's planner statistics")
def test_seed_demo_leaves_postgresql_fresh_statistics(empty_app: Flask) -> None:
    """So that 機器一覧 of the new contract reads its index in order from the first request."""
    result = empty_app.test_cli_runner().invoke(args=["seed-demo", "--devices", "30"])
    assert result.exit_code == 0, result.output
    with empty_app.app_context():
        vacuumed, analysed = db.session.execute(
            text(
                "SELECT last_vacuum, last_analyze FROM pg_stat_user_tables WHERE relname = 'device'"
            )
        ).one()
    assert vacuumed is not None and analysed is not None


def test_seed_demo_replaces_the_contract_of_that_email(empty_app: Flask, tmp_path: Path) -> None:
    runner = empty_app.test_cli_runner()
    runner.invoke(args=["seed-demo", "--email", "d@example.com", "--devices", "5"])
    with empty_app.app_context():
        old_files = [
            tmp_path / "recordings" / key
            for key in db.session.scalars(select(Recording.storage_key))
        ]
    result = runner.invoke(args=["seed-demo", "--email", "d@example.com", "--devices", "3"])
    assert result.exit_code == 0, result.output
    with empty_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contract)) == 1
        assert db.session.scalar(select(func.count()).select_from(Device)) == 3
    assert not any(path.exists() for path in old_files)


def test_seed_demo_with_no_devices(empty_app: Flask) -> None:
    result = empty_app.test_cli_runner().invoke(args=["seed-demo", "--devices", "0"])
    assert result.exit_code == 0, result.output


def test_create_contract(empty_app: Flask) -> None:
    runner = empty_app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-contract",
            "--email",
            "new@example.com",
            "--name",
            "新規 契約者",
            "--password",
            "pw-abcdefg",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    again = runner.invoke(
        args=["create-contract", "--email", "NEW@example.com", "--name", "x", "--password", "pw"]
    )
    assert again.exit_code != 0
    assert "already registered" in again.output
    with empty_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contract)) == 1


def test_issue_licences_prints_unique_unguessable_keys(empty_app: Flask) -> None:
    result = empty_app.test_cli_runner().invoke(
        args=["issue-licences", "--count", "25", "--plan", "live"]
    )
    assert result.exit_code == 0, result.output
    keys = result.stdout.split()
    assert len(keys) == 25 == len(set(keys))
    assert all(
        re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){4}[0-9A-HJKMNP-TV-Z]{4}", key) for key in keys
    )
    with empty_app.app_context():
        stored = db.session.scalars(select(Licence)).all()
        assert {licence.state for licence in stored} == {LicenceState.UNUSED}
        assert {licence.key for licence in stored} == {key.replace("-", "") for key in keys}


def test_has_contract(empty_app: Flask) -> None:
    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["has-contract", "--email", "x@example.com"]).exit_code == 1
    runner.invoke(args=["seed-demo", "--email", "x@example.com", "--devices", "0"])
    assert runner.invoke(args=["has-contract", "--email", "x@example.com"]).exit_code == 0


def test_demo_contracts_never_share_a_mac_or_a_domain(app: Flask) -> None:
    """Two demo contracts from the same random seed: what is unique stays unique."""
    from webapp.dev.demo import seed_demo

    with app.app_context():
        seed_demo("one@example.com", "pass phrase 2026", devices=40, seed=7)
        seed_demo("two@example.com", "pass phrase 2026", devices=40, seed=7)
        rows = db.session.execute(select(Device.mac, Device.domain)).all()
    assert len(rows) == 80
    assert len({mac for mac, _ in rows}) == len({domain for _, domain in rows}) == 80
