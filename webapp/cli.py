"""Operator commands: ``flask --app webapp <command>``."""

from __future__ import annotations

import time

import click
from flask import Flask
from flask_migrate import upgrade

from .enums import Plan
from .extensions import db
from .services.contracts import (
    EmailTaken,
    create_contract,
    email_in_use,
    format_licence_key,
    issue_licences,
)
from .services.demo import seed_demo


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
        db.session.commit()
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
    @click.option("--days", default=365, show_default=True, type=click.IntRange(1, 3650))
    def issue_licences_command(count: int, plan: str, days: int) -> None:
        """Issue COUNT new licence keys and print them, one a line."""
        _ensure_schema()
        keys = issue_licences(count, plan=Plan.of(plan), days=days)
        db.session.commit()
        for key in keys:
            click.echo(format_licence_key(key))

    @app.cli.command("has-contract")
    @click.option("--email", required=True)
    def has_contract_command(email: str) -> None:
        """Exit 0 when a contract with this contractor e-mail exists, else 1."""
        _ensure_schema()
        if not email_in_use(email):
            raise SystemExit(1)
