"""What every portal command shares: the application context and an up-to-date schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import ScriptInfo
from flask_migrate import upgrade


def ensure_schema() -> None:
    """Bring the database schema up to date (creates it on an empty database)."""
    upgrade()


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
