"""Commands about recordings: sweeping away the files nothing names any more."""

from __future__ import annotations

import click

from ..services.recordings import collect_garbage
from .base import portal_command


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


COMMANDS = (gc_recordings_command,)
