"""What every portal command shares: the application context and an up-to-date schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from alembic.migration import MigrationContext
from flask import current_app, g
from flask.cli import ScriptInfo
from flask_migrate import upgrade

from .. import addresses
from ..extensions import db


def schema_revision() -> str | None:
    """The revision the database's schema is at (None for an empty database)."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_schema() -> None:
    """Bring the database schema up to date (creates it on an empty database).

    Quietly: Alembic's own lines would repeat for every command; one line says what changed.
    """
    before = schema_revision()
    g.quiet_migrations = True
    try:
        upgrade()
    finally:
        g.quiet_migrations = False
    after = schema_revision()
    if after != before:
        click.echo(f"Database schema upgraded to {after}.", err=True)


class PortalCommand(click.Command):
    """A command of the portal: it runs in the app context, on a schema brought up to date.

    The schema is checked here, once for every portal command, after the arguments are
    parsed (so --help and bad input touch nothing) and before the command runs.
    Flask-Migrate's own ``db`` commands are not portal commands and do not get it.
    """

    def invoke(self, ctx: click.Context) -> Any:
        if not current_app:
            # `flask` pushes the context itself; the test runner's commands need it here.
            ctx.with_resource(ctx.ensure_object(ScriptInfo).load_app().app_context())
        ensure_schema()
        return super().invoke(ctx)


def portal_command(name: str) -> Callable[[Callable[..., Any]], PortalCommand]:
    """Declare a portal command: ``@portal_command("name")`` above its click options."""
    return click.command(name, cls=PortalCommand)


class EmailAddress(click.ParamType):
    """An e-mail option: trimmed, in lower case, and held to the rule of the portal's forms."""

    name = "email"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        address = addresses.normalised(str(value))
        if not addresses.is_acceptable(address):
            self.fail(f"{value!r} is not an e-mail address the portal's forms accept", param, ctx)
        return address


EMAIL = EmailAddress()
