"""Commands about the terms (規約): publishing a new version."""

from __future__ import annotations

from pathlib import Path

import click

from ..services.refusals import VersionExists
from ..services.terms import publish_terms
from .base import portal_command


@portal_command("publish-terms")
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
    body = path.read_text(encoding="utf-8").strip()
    if not body or len(version) > 20:
        raise click.ClickException("the terms need a text and a version of at most 20 characters")
    try:
        publish_terms(version, body)
    except VersionExists as exc:
        raise click.ClickException(f"version {version} is already published") from exc
    click.echo(f"terms {version} published")


COMMANDS = (publish_terms_command,)
