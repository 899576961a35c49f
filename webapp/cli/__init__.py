"""Operator commands, ``flask --app webapp <command>``: one module per area.

Each module lists its commands in ``COMMANDS``; the factory's ``register_commands()`` adds
them to the app. Portal commands bring the schema up to date before they run (base.py).
"""

from __future__ import annotations

import click

from . import contracts, demo, devices, licences, recordings, terms

AREAS = (contracts, licences, devices, recordings, terms, demo)


def all_commands() -> list[click.Command]:
    """Every command of the portal, area by area."""
    return [command for area in AREAS for command in area.COMMANDS]
