"""Commands about recordings: what the plans no longer keep, and files nothing names any more."""

from __future__ import annotations

import time

import click
from flask import current_app

from ..extensions import db
from ..services.recordings import collect_garbage
from ..services.retention import MAX_PRUNE_BATCH, PRUNE_BATCH, prune_recordings
from .base import portal_command

# The longest pause a background pruning takes between runs (a day).
MAX_PRUNE_EVERY = 86_400


@portal_command("gc-recordings")
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
    sweep = collect_garbage(min_age_seconds=min_age)
    click.echo(f"{sweep.files} file(s) and {sweep.folders} folder(s) removed")


@portal_command("prune-recordings")
@click.option(
    "--batch-size",
    default=PRUNE_BATCH,
    show_default=True,
    type=click.IntRange(1, MAX_PRUNE_BATCH),
    help="Recordings removed per transaction (and per call to the storage).",
)
@click.option(
    "--every",
    type=click.IntRange(1, MAX_PRUNE_EVERY),
    default=None,
    help="Keep running, pruning every this many seconds (without cron).",
)
def prune_recordings_command(batch_size: int, every: int | None) -> None:
    """Remove the recordings that their device's plan no longer keeps (rows and files).

    「録画 N日」 keeps what was captured in the service's last N days and today; 「ライブ映像」
    only the newest still image. Expired recordings are never shown, even before this runs.
    Run it from cron (daily, or more often), or once with --every in the background.
    """
    while True:
        try:
            pruning = prune_recordings(batch_size=batch_size)
        except Exception:
            if every is None:
                raise
            # A database that is down for a moment must not end the background pruning.
            current_app.logger.exception("prune-recordings failed; retrying in %s s", every)
        else:
            if pruning.recordings or every is None:
                click.echo(
                    f"{pruning.recordings} recording(s) and {pruning.objects} file(s) removed"
                )
        if every is None:
            return
        db.session.remove()
        time.sleep(every)


COMMANDS = (gc_recordings_command, prune_recordings_command)
