"""Commands about contracts: create one, and ask whether one exists."""

from __future__ import annotations

import click

from ..services.contracts import create_contract, email_in_use
from ..services.refusals import EmailTaken
from .base import EMAIL, portal_command


@portal_command("create-contract")
@click.option("--email", type=EMAIL, required=True, help="The contractor's login e-mail.")
@click.option("--name", required=True, help="お名前 of the contractor.")
@click.option("--company", default="", help="法人名・屋号.")
@click.option("--seats", default=5, show_default=True, type=click.IntRange(0, 1000))
@click.password_option(help="The contractor's first password (prompted if omitted).")
def create_contract_command(email: str, name: str, company: str, seats: int, password: str) -> None:
    """Create a contract and its contractor account."""
    try:
        contract = create_contract(
            email=email, password=password, name=name, company_name=company, seat_limit=seats
        )
    except EmailTaken as exc:
        raise click.ClickException(f"{email} is already registered") from exc
    click.echo(f"Contract {contract.id} created for {email}")


@portal_command("has-contract")
@click.option("--email", required=True)
def has_contract_command(email: str) -> None:
    """Exit 0 when a contract with this contractor e-mail exists, else 1."""
    if not email_in_use(email):
        raise SystemExit(1)


COMMANDS = (create_contract_command, has_contract_command)
