"""Operator commands: ``flask --app webapp <command>``."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click
from flask import Flask
from flask_migrate import upgrade

from .database import refresh_planner_statistics
from .enums import CommStatus, LicenceState, Plan, RecordingStatus
from .extensions import db
from .fakecamera import ApiError, FakeCamera
from .identifiers import normalise_licence_key
from .models import Contract, Device
from .services.contracts import (
    EmailTaken,
    create_contract,
    email_in_use,
    format_licence_key,
    issue_licences,
)
from .services.demo import demo_camera, seed_demo
from .services.device_api import replace_api_secret, sweep_silent_devices
from .services.licences import (
    LicenceNotFound,
    list_licences,
    revoke_licence,
    send_reminders,
)
from .services.notifications import record_status
from .services.recordings import collect_garbage
from .services.terms import VersionExists, publish_terms


def _ensure_schema() -> None:
    """Bring the database schema up to date (creates it on an empty database)."""
    upgrade()


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--email", default="demo@example.com", show_default=True)
    @click.option("--password", default="demo-pass-2026", show_default=True)
    @click.option("--devices", default=12, show_default=True, type=click.IntRange(0, 1_000_000))
    @click.option("--seed", type=int, help="Random seed, for repeatable data.")
    def seed_demo_command(email: str, password: str, devices: int, seed: int | None) -> None:
        """Create (or replace) a demo contract with DEVICES devices."""
        _ensure_schema()
        started = time.perf_counter()
        result = seed_demo(email, password, devices, seed=seed)
        refresh_planner_statistics(db.engine)
        click.echo(
            f"Demo contract {result.contract_id}: {result.devices} devices, "
            f"{result.recordings} recordings in {time.perf_counter() - started:.1f} s. "
            f"Log in as {email} / {password}"
        )

    @app.cli.command("create-contract")
    @click.option("--email", required=True, help="The contractor's login e-mail.")
    @click.option("--name", required=True, help="お名前 of the contractor.")
    @click.option("--company", default="", help="法人名・屋号.")
    @click.option("--seats", default=5, show_default=True, type=click.IntRange(0, 1000))
    @click.password_option(help="The contractor's first password (prompted if omitted).")
    def create_contract_command(
        email: str, name: str, company: str, seats: int, password: str
    ) -> None:
        """Create a contract and its contractor account."""
        _ensure_schema()
        try:
            contract = create_contract(
                email=email, password=password, name=name, company_name=company, seat_limit=seats
            )
        except EmailTaken as exc:
            raise click.ClickException(f"{email} is already registered") from exc
        click.echo(f"Contract {contract.id} created for {email}")

    @app.cli.command("issue-licences")
    @click.option("--count", default=1, show_default=True, type=click.IntRange(1, 100_000))
    @click.option(
        "--plan",
        type=click.Choice([plan.value for plan in Plan]),
        default=Plan.RECORDING_7.value,
        show_default=True,
        help="加入サービス: " + ", ".join(f"{p.value}={p.label}" for p in Plan),
    )
    @click.option(
        "--starts", type=click.DateTime(["%Y-%m-%d"]), help="First day of the term [today]."
    )
    @click.option("--years", default=1, show_default=True, type=click.IntRange(1, 10))
    @click.option("--days", type=click.IntRange(1, 3650), help="A term of exactly DAYS days.")
    @click.option("--contract-id", type=int, help="Reserve the keys for one contract.")
    def issue_licences_command(
        count: int,
        plan: str,
        starts: dt.datetime | None,
        years: int,
        days: int | None,
        contract_id: int | None,
    ) -> None:
        """Issue COUNT new licence keys and print them, one a line."""
        _ensure_schema()
        if contract_id is not None and db.session.get(Contract, contract_id) is None:
            raise click.BadParameter(f"no contract {contract_id}", param_hint="--contract-id")
        keys = issue_licences(
            count,
            plan=Plan.of(plan),
            starts_on=starts.date() if starts else None,
            years=years,
            days=days,
            contract_id=contract_id,
        )
        for key in keys:
            click.echo(format_licence_key(key))

    @app.cli.command("list-licences")
    @click.option(
        "--state",
        type=click.Choice([state.value for state in LicenceState]),
        help="Only licences in this state (期限切れ is judged by the date).",
    )
    @click.option("--contract-id", type=int, help="Only this contract's licences.")
    @click.option("--expiring-within", type=click.IntRange(0, 3650), help="Days from today.")
    def list_licences_command(
        state: str | None, contract_id: int | None, expiring_within: int | None
    ) -> None:
        """List licences as tab-separated lines: key, plan, term, state, contract, device."""
        _ensure_schema()
        listed = list_licences(
            state=LicenceState.of(state) if state else None,
            contract_id=contract_id,
            expiring_within=expiring_within,
        )
        click.echo("key\tplan\tstarts_on\tends_on\tstate\tcontract\tdevice")
        for item in listed:
            licence = item.licence
            click.echo(
                "\t".join(
                    [
                        format_licence_key(licence.key),
                        licence.plan.value,
                        licence.starts_on.isoformat(),
                        licence.ends_on.isoformat(),
                        item.state.value,
                        str(licence.contract_id or "-"),
                        item.device_name or "-",
                    ]
                )
            )

    @app.cli.command("revoke-licence")
    @click.argument("key")
    @click.option("--reason", default="", help="Kept in the audit log.")
    def revoke_licence_command(key: str, reason: str) -> None:
        """Revoke licence KEY for good; a device using it stops its service."""
        _ensure_schema()
        normalised = normalise_licence_key(key)
        if normalised is None:
            raise click.BadParameter("not a licence key (20 characters)", param_hint="KEY")
        try:
            licence = revoke_licence(normalised, reason=reason)
        except LicenceNotFound as exc:
            raise click.ClickException(f"no licence {key}") from exc
        click.echo(f"{format_licence_key(licence.key)} revoked")

    @app.cli.command("send-reminders")
    @click.option(
        "--today", type=click.DateTime(["%Y-%m-%d"]), help="Pretend it is this day [today]."
    )
    def send_reminders_command(today: dt.datetime | None) -> None:
        """Mail licence-expiry reminders (90, 30 and 0 days before). Meant for cron."""
        _ensure_schema()
        sent = send_reminders(today.date() if today else None)
        click.echo(f"{sent} reminder mail(s) sent")

    @app.cli.command("record-status")
    @click.argument("device_id", type=int)
    @click.argument(
        "status",
        type=click.Choice(
            [s.value for s in CommStatus] + [s.value for s in RecordingStatus], case_sensitive=False
        ),
    )
    def record_status_command(device_id: int, status: str) -> None:
        """Apply a status DEVICE_ID reported (what its heartbeat would do) and send the mails.

        STATUS is a 通信状態 (online, offline, never) or a 録画状態 (continuous, scheduled,
        stopped).
        """
        _ensure_schema()
        device = db.session.get(Device, device_id)
        if device is None:
            raise click.ClickException(f"no device {device_id}")
        value = status.lower()
        reported = (
            CommStatus.of(value)
            if value in {s.value for s in CommStatus}
            else RecordingStatus.of(value)
        )
        sent = record_status(device, reported)
        click.echo(f"device {device_id}: {reported.value}, {sent} mail(s) sent")

    @app.cli.command("sweep-status")
    @click.option(
        "--every",
        type=click.IntRange(1),
        default=None,
        help="Keep running, sweeping every this many seconds (without cron).",
    )
    def sweep_status_command(every: int | None) -> None:
        """Mark 通信断 the devices silent for DEVICE_SILENCE_SECONDS, and send the mails.

        Run it from cron every minute, or once with --every in the background.
        """
        _ensure_schema()
        while True:
            try:
                changed, mails = sweep_silent_devices()
            except Exception:
                if every is None:
                    raise
                # A database that is down for a moment must not end the background sweep.
                app.logger.exception("sweep-status failed; retrying in %s s", every)
                changed = mails = 0
            if changed or every is None:
                click.echo(f"{changed} device(s) now offline, {mails} mail(s) sent")
            if every is None:
                return
            db.session.remove()
            time.sleep(every)

    @app.cli.command("issue-device-secret")
    @click.argument("device_id", type=int)
    def issue_device_secret_command(device_id: int) -> None:
        """Issue DEVICE_ID a new API secret and print it (the old one stops working).

        For operators and demos; contractors get theirs from 機器登録 and 機器設定.
        """
        _ensure_schema()
        device = db.session.get(Device, device_id)
        if device is None:
            raise click.ClickException(f"no device {device_id}")
        click.echo(replace_api_secret(device))

    @app.cli.command("fake-camera")
    @click.option("--base-url", default="http://127.0.0.1:5000", show_default=True)
    @click.option("--device-id", type=int, help="The device to act as (with --secret).")
    @click.option("--secret", help="Its API secret, as shown at 機器登録 or 機器設定.")
    @click.option(
        "--demo-email",
        help="Instead: act as the first camera of this contractor's contract, with a new "
        "secret issued here (demos).",
    )
    @click.option("--interval", default=10.0, show_default=True, type=click.FloatRange(0.1))
    @click.option("--count", type=click.IntRange(1), help="Stop after this many rounds.")
    def fake_camera_command(
        base_url: str,
        device_id: int | None,
        secret: str | None,
        demo_email: str | None,
        interval: float,
        count: int | None,
    ) -> None:
        """Pretend to be a camera: a heartbeat and a generated image every INTERVAL seconds."""
        if demo_email:
            _ensure_schema()
            device = demo_camera(demo_email)
            if device is None:
                raise click.ClickException(f"no camera in the contract of {demo_email}")
            device_id, secret = device.id, replace_api_secret(device)
            db.session.remove()
        if device_id is None or not secret:
            raise click.ClickException("give --device-id and --secret, or --demo-email")
        camera = FakeCamera(base_url, device_id, secret)
        click.echo(f"fake camera {device_id} reporting to {base_url} every {interval:g} s")
        try:
            camera.run(interval=interval, count=count, log=click.echo)
        except ApiError as error:
            raise click.ClickException(f"the portal refused camera {device_id}: {error}") from error
        except KeyboardInterrupt:
            pass
        click.echo(f"{camera.sent['heartbeats']} heartbeat(s), {camera.sent['uploads']} upload(s)")

    @app.cli.command("publish-terms")
    @click.option("--version", "version", required=True, help="A new version label, e.g. 2.0.")
    @click.option(
        "--file",
        "path",
        required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="UTF-8 text: paragraphs separated by a blank line, each opening with its title.",
    )
    def publish_terms_command(version: str, path: Path) -> None:
        """Publish a new version of the terms (規約); every user accepts it at next login."""
        _ensure_schema()
        body = path.read_text(encoding="utf-8").strip()
        if not body or len(version) > 20:
            raise click.ClickException(
                "the terms need a text and a version of at most 20 characters"
            )
        try:
            publish_terms(version, body)
        except VersionExists as exc:
            raise click.ClickException(f"version {version} is already published") from exc
        click.echo(f"terms {version} published")

    @app.cli.command("gc-recordings")
    @click.option(
        "--min-age",
        default=600,
        show_default=True,
        type=click.IntRange(0),
        help="Spare files younger than this many seconds.",
    )
    def gc_recordings_command(min_age: int) -> None:
        """Remove recording files that no recording, device or contract names any more.

        Run it at start (make run does) and from cron: it mends what a process killed
        between a deletion's commit and its file removal left behind.
        """
        _ensure_schema()
        sweep = collect_garbage(min_age_seconds=min_age)
        click.echo(f"{sweep.files} file(s) and {sweep.folders} folder(s) removed")

    @app.cli.command("has-contract")
    @click.option("--email", required=True)
    def has_contract_command(email: str) -> None:
        """Exit 0 when a contract with this contractor e-mail exists, else 1."""
        _ensure_schema()
        if not email_in_use(email):
            raise SystemExit(1)
