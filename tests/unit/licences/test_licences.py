"""Licence expiry reminders, and the operator's licence commands."""

from __future__ import annotations

import datetime as dt
import email
import threading
from email import policy
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, LicenceFactory
from webapp.enums import LicenceState, ServiceStatus
from webapp.extensions import db
from webapp.models import Device, Licence, LicenceReminder
from webapp.services.licences import format_licence_key, send_reminders

TODAY = dt.date(2026, 11, 26)


def outbox(app: Flask) -> list[email.message.EmailMessage]:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    if not folder.exists():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for path in sorted(folder.glob("*.eml"))
    ]


def licence_ending(app: Flask, contract_id: int, days_left: int, **kwargs: object) -> int:
    with app.app_context():
        ends_on = TODAY + dt.timedelta(days=days_left)
        device = DeviceFactory(
            contract_id=contract_id,
            licence=LicenceFactory(
                contract_id=contract_id,
                starts_on=ends_on - dt.timedelta(days=364),
                ends_on=ends_on,
                **kwargs,
            ),
        )
        return device.licence_id


def run(app: Flask, today: dt.date = TODAY) -> int:
    with app.app_context():
        return send_reminders(today)


def test_reminders_at_90_30_and_0_days(app: Flask, contractor: Account) -> None:
    licence_ending(app, contractor.contract_id, 90)
    licence_ending(app, contractor.contract_id, 30)
    licence_ending(app, contractor.contract_id, 0)
    licence_ending(app, contractor.contract_id, 91)  # not yet
    assert run(app) == 1  # one mail for the contract, listing the three
    [mail] = outbox(app)
    assert mail["To"] == contractor.email
    assert "ライセンスの有効期限のお知らせ" in mail["Subject"]
    body = mail.get_content()
    assert "あと90日" in body and "あと30日" in body and "本日まで" in body
    assert body.count("ライセンスキー") == 3


def test_reminders_are_never_sent_twice(app: Flask, contractor: Account) -> None:
    licence_ending(app, contractor.contract_id, 30)
    assert run(app) == 1
    assert run(app) == 0
    assert run(app, TODAY + dt.timedelta(days=5)) == 0  # still within the 30-day stage
    assert run(app, TODAY + dt.timedelta(days=30)) == 1  # the 0-day stage
    assert run(app, TODAY + dt.timedelta(days=31)) == 0
    assert len(outbox(app)) == 2


def test_a_missed_stage_sends_only_the_latest(app: Flask, contractor: Account) -> None:
    licence_id = licence_ending(app, contractor.contract_id, 20)
    assert run(app) == 1
    with app.app_context():
        stages = db.session.scalars(
            select(LicenceReminder.days_before).where(LicenceReminder.licence_id == licence_id)
        ).all()
        assert stages == [30]


def test_revoked_and_unassigned_licences_get_no_reminder(app: Flask, contractor: Account) -> None:
    licence_ending(app, contractor.contract_id, 30, state=LicenceState.REVOKED)
    with app.app_context():
        LicenceFactory(contract_id=None, state=LicenceState.UNUSED, ends_on=TODAY)
    assert run(app) == 0


def test_a_failed_mail_is_retried_next_run(
    app: Flask, contractor: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webapp.services import licences

    licence_ending(app, contractor.contract_id, 30)

    def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(licences, "send_mail", broken)
    assert run(app) == 0
    monkeypatch.undo()
    assert run(app) == 1


def test_overlapping_runs_send_each_reminder_once(app: Flask, contractor: Account) -> None:
    for days in (90, 30, 0):
        licence_ending(app, contractor.contract_id, days)
    results: list[int] = []

    def cron() -> None:
        results.append(run(app))

    threads = [threading.Thread(target=cron) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 1
    assert len(outbox(app)) == 1


def test_send_reminders_command(app: Flask, contractor: Account) -> None:
    licence_ending(app, contractor.contract_id, 30)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-reminders", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "1 reminder mail(s) sent" in result.stdout
    assert (
        "0 reminder" in runner.invoke(args=["send-reminders", "--today", TODAY.isoformat()]).stdout
    )


# --- Operator commands --------------------------------------------------------------------


def test_issue_licences_with_plan_and_term(app: Flask, contractor: Account) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "issue-licences",
            "--count",
            "2",
            "--plan",
            "rec30",
            "--starts",
            "2027-04-01",
            "--contract-id",
            str(contractor.contract_id),
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        licences = db.session.scalars(select(Licence)).all()
        assert {(lc.starts_on, lc.ends_on) for lc in licences} == {
            (dt.date(2027, 4, 1), dt.date(2028, 3, 31))
        }
        assert {lc.contract_id for lc in licences} == {contractor.contract_id}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["issue-licences", "--plan", "gold"], "Invalid value for '--plan'"),
        (["issue-licences", "--count", "0"], "Invalid value for '--count'"),
        (["issue-licences", "--starts", "2027-13-01"], "Invalid value for '--starts'"),
        (["issue-licences", "--contract-id", "999"], "no contract 999"),
        (["revoke-licence", "nonsense"], "not a licence key"),
        (["revoke-licence", "ABCD-EFGH-JKMN-PQRS-TVWX"], "no licence"),
    ],
)
def test_operator_commands_explain_bad_input(app: Flask, args: list[str], message: str) -> None:
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output


@pytest.mark.parametrize(
    "command",
    ["issue-licences", "list-licences", "revoke-licence", "send-reminders", "create-contract"],
)
def test_operator_commands_have_help(app: Flask, command: str) -> None:
    result = app.test_cli_runner().invoke(args=[command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


@pytest.mark.parametrize(
    ("starts", "kwargs", "ends"),
    [
        (dt.date(2027, 4, 1), {}, dt.date(2028, 3, 31)),
        (dt.date(2028, 2, 29), {}, dt.date(2029, 2, 27)),
        (dt.date(2027, 1, 1), {"years": 2}, dt.date(2028, 12, 31)),
        (dt.date(2027, 1, 1), {"days": 30}, dt.date(2027, 1, 30)),
    ],
)
def test_terms(starts: dt.date, kwargs: dict, ends: dt.date) -> None:
    from webapp.services.licences import term_end

    assert term_end(starts, **kwargs) == ends


def test_list_licences(app: Flask, contractor: Account) -> None:
    licence_ending(app, contractor.contract_id, 30)
    with app.app_context():
        LicenceFactory(state=LicenceState.UNUSED, contract_id=None)
    runner = app.test_cli_runner()
    everything = runner.invoke(args=["list-licences"]).stdout.strip().splitlines()
    assert everything[0].startswith("key\tplan")
    assert len(everything) == 3
    unused = runner.invoke(args=["list-licences", "--state", "unused"]).stdout.strip().splitlines()
    assert len(unused) == 2
    mine = (
        runner.invoke(args=["list-licences", "--contract-id", str(contractor.contract_id)])
        .stdout.strip()
        .splitlines()
    )
    assert len(mine) == 2 and "Camera" in mine[1]


def test_revoking_a_key_in_use_stops_its_device(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    licence_id = licence_ending(app, contractor.contract_id, 200)
    with app.app_context():
        licence = db.session.get(Licence, licence_id)
        key = format_licence_key(licence.key)
        device_id = db.session.scalar(select(Device.id).where(Device.licence_id == licence_id))
    result = app.test_cli_runner().invoke(
        args=["revoke-licence", key.lower(), "--reason", "chargeback"]
    )
    assert result.exit_code == 0, result.output
    assert "revoked" in result.stdout
    with app.app_context():
        device = db.session.get(Device, device_id)
        assert device.licence.state is LicenceState.REVOKED
        assert device.effective_service_status() is ServiceStatus.SUSPENDED
    assert "サービス停止中" in logged_in.get(f"/devices/{device_id}").get_data(as_text=True)
    history = logged_in.get("/history").get_data(as_text=True)
    assert "ライセンスの失効 (運営)" in history


def test_reminders_speak_the_contractors_language(app: Flask, contractor: Account) -> None:
    from webapp.models import User

    with app.app_context():
        db.session.get(User, contractor.user_id).locale = "en"
        db.session.commit()
    licence_ending(app, contractor.contract_id, 30)
    assert run(app) == 1
    [mail] = outbox(app)
    body = mail.get_content()
    assert "ライセンス" not in body
    assert (TODAY + dt.timedelta(days=30)).isoformat() in body  # dates as 2026-12-26
