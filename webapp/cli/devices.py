"""Commands about devices: the statuses they report, the status sweep, their API secrets."""

from __future__ import annotations

import time

import click
from flask import current_app

from ..enums import CommStatus, RecordingStatus
from ..extensions import db
from ..models import Device
from ..services.device_reports import record_status, replace_api_secret, sweep_silent_devices
from .base import portal_command


@portal_command("record-status")
@click.argument("device_id", type=int)
@click.argument(
    "status",
    type=click.Choice(
        [s.value for s in CommStatus] + [s.value for s in RecordingStatus.reported()],
        case_sensitive=False,
    ),
)
def record_status_command(device_id: int, status: str) -> None:
    """Apply a status DEVICE_ID reported (what its heartbeat would do) and send the mails.

    STATUS is a 通信状態 (online, offline, never) or a 録画状態 (continuous, scheduled,
    stopped).
    """
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


@portal_command("sweep-status")
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
    while True:
        try:
            changed, mails = sweep_silent_devices()
        except Exception:
            if every is None:
                raise
            # A database that is down for a moment must not end the background sweep.
            current_app.logger.exception("sweep-status failed; retrying in %s s", every)
            changed = mails = 0
        if changed or every is None:
            click.echo(f"{changed} device(s) now offline, {mails} mail(s) sent")
        if every is None:
            return
        db.session.remove()
        time.sleep(every)


@portal_command("issue-device-secret")
@click.argument("device_id", type=int)
def issue_device_secret_command(device_id: int) -> None:
    """Issue DEVICE_ID a new API secret and print it (the old one stops working).

    For operators and demos; contractors get theirs from 機器登録 and 機器設定.
    """
    device = db.session.get(Device, device_id)
    if device is None:
        raise click.ClickException(f"no device {device_id}")
    click.echo(replace_api_secret(device))


COMMANDS = (record_status_command, sweep_status_command, issue_device_secret_command)
