"""Operator commands: the schema check before them, device secrets, and units of work."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import inspect, select

from tests.support.apps import build_app, close_app
from tests.support.client import Account
from tests.support.factories import DeviceFactory
from webapp.cli import devices as device_commands
from webapp.database import unit_of_work
from webapp.dev.demo import demo_camera
from webapp.enums import Plan
from webapp.extensions import db
from webapp.models import Licence, TermsVersion
from webapp.services.contracts import create_contract, email_in_use
from webapp.services.device_reports import api_secret_is_current, issue_api_secret
from webapp.services.licences import issue_licences
from webapp.services.terms import publish_terms


@pytest.fixture
def empty_app(tmp_path: Path, empty_database: str) -> Iterator[Flask]:
    """An app whose database has no schema yet."""
    app = build_app(tmp_path, empty_database)
    yield app
    close_app(app)


def tables(app: Flask) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    "args",
    [
        ["list-licences"],
        ["has-contract", "--email", "nobody@example.com"],
        ["sweep-status"],
        ["gc-recordings"],
    ],
)
def test_portal_commands_bring_the_schema_up_first(empty_app: Flask, args: list[str]) -> None:
    result = empty_app.test_cli_runner().invoke(args=args)
    assert result.exit_code in {0, 1}, result.output
    assert {"contract", "device", "licence", "alembic_version"} <= tables(empty_app)


@pytest.mark.parametrize(
    "args",
    [
        ["db", "current"],
        ["issue-licences", "--help"],
        ["issue-licences", "--plan", "gold"],
        ["fake-camera", "--device-id", "1", "--secret", "s", "--count", "1", "--base-url", "-"],
    ],
)
def test_what_leaves_an_empty_database_alone(empty_app: Flask, args: list[str]) -> None:
    """Flask-Migrate's commands, help, bad input, and a camera that only speaks HTTP."""
    args = [closed_port_url() if arg == "-" else arg for arg in args]
    empty_app.test_cli_runner().invoke(args=args)
    assert not tables(empty_app) & {"contract", "device", "licence"}


def test_issue_device_secret_replaces_the_old_one(app: Flask, contractor: Account) -> None:
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id)
        old = issue_api_secret(device)
        db.session.commit()
        device_id = device.id
    runner = app.test_cli_runner()
    result = runner.invoke(args=["issue-device-secret", str(device_id)])
    assert result.exit_code == 0, result.output
    new = result.stdout.strip()
    with app.app_context():
        assert api_secret_is_current(device_id, new)
        assert not api_secret_is_current(device_id, old)
    missing = runner.invoke(args=["issue-device-secret", "999"])
    assert missing.exit_code == 1
    assert "no device 999" in missing.output


def test_the_demo_camera_gets_a_secret_of_its_own(app: Flask) -> None:
    runner = app.test_cli_runner()
    seeded = runner.invoke(args=["seed-demo", "--email", "cam@example.com", "--devices", "3"])
    assert seeded.exit_code == 0, seeded.output
    camera = runner.invoke(
        args=[
            "fake-camera",
            "--demo-email",
            "cam@example.com",
            "--base-url",
            closed_port_url(),
            "--count",
            "1",
        ],
    )
    assert camera.exit_code == 0, camera.output
    assert "portal unreachable" in camera.output
    assert "0 heartbeat(s), 0 upload(s)" in camera.output
    with app.app_context():
        device = demo_camera("cam@example.com")
        assert device is not None and device.api_secret_digest is not None
    unknown = runner.invoke(args=["fake-camera", "--demo-email", "x@example.com", "--count", "1"])
    assert unknown.exit_code == 1
    assert "no camera in the contract of x@example.com" in unknown.output


class Stop(Exception):
    """Ends a sweep that would otherwise run for ever."""


def test_the_background_sweep_outlives_a_failing_database(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes: list[tuple[int, int] | Exception] = [OSError("database gone"), (1, 2)]

    def sweep() -> tuple[int, int]:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def sleep(seconds: float) -> None:
        assert seconds == 30
        if not outcomes:
            raise Stop

    monkeypatch.setattr(device_commands, "sweep_silent_devices", sweep)
    monkeypatch.setattr(device_commands.time, "sleep", sleep)
    result = app.test_cli_runner().invoke(args=["sweep-status", "--every", "30"])
    assert isinstance(result.exception, Stop)
    assert "1 device(s) now offline, 2 mail(s) sent" in result.output
    assert "sweep-status failed; retrying in 30 s" in caplog.text

    outcomes[:] = [OSError("database gone")]
    once = app.test_cli_runner().invoke(args=["sweep-status"])
    assert isinstance(once.exception, OSError)
    assert once.exit_code == 1


OPERATIONS: dict[str, Callable[[], object]] = {
    "create_contract": lambda: create_contract(
        email="joined@example.com", password="pw-123456", name="合流 太郎"
    ),
    "issue_licences": lambda: issue_licences(3, plan=Plan.LIVE),
    "publish_terms": lambda: publish_terms("9.9", "第1条 (合流)\n本文。"),
}


@pytest.mark.parametrize("name", OPERATIONS)
def test_operations_commit_alone_or_join_their_callers_unit(app: Flask, name: str) -> None:
    def stored() -> bool:
        return bool(
            email_in_use("joined@example.com")
            or db.session.scalar(select(Licence.id))
            or db.session.scalar(select(TermsVersion.id).where(TermsVersion.version == "9.9"))
        )

    with app.app_context():
        with pytest.raises(RuntimeError), unit_of_work():
            OPERATIONS[name]()
            raise RuntimeError("the caller's unit fails after the operation")
        assert not stored()
        OPERATIONS[name]()
        db.session.rollback()  # what was not committed would go now
        assert stored()
