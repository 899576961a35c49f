"""Commands about licence keys: issue, list and revoke them, and mail expiry reminders."""

from __future__ import annotations

import datetime as dt

import click

from ..enums import LicenceState, Plan
from ..extensions import db
from ..identifiers import normalise_licence_key
from ..models import Contract
from ..services.licences import (
    format_licence_key,
    issue_licences,
    list_licences,
    revoke_licence,
    send_reminders,
)
from ..services.refusals import LicenceNotFound
from .base import portal_command


@portal_command("issue-licences")
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--plan",
    type=click.Choice([plan.value for plan in Plan]),
    default=Plan.RECORDING_7.value,
    show_default=True,
    help="加入サービス: " + ", ".join(f"{p.value}={p.label}" for p in Plan),
)
@click.option("--starts", type=click.DateTime(["%Y-%m-%d"]), help="First day of the term [today].")
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


@portal_command("list-licences")
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


@portal_command("revoke-licence")
@click.argument("key")
@click.option("--reason", default="", help="Kept in the audit log.")
def revoke_licence_command(key: str, reason: str) -> None:
    """Revoke licence KEY for good; a device using it stops its service."""
    normalised = normalise_licence_key(key)
    if normalised is None:
        raise click.BadParameter("not a licence key (20 characters)", param_hint="KEY")
    try:
        licence = revoke_licence(normalised, reason=reason)
    except LicenceNotFound as exc:
        raise click.ClickException(f"no licence {key}") from exc
    click.echo(f"{format_licence_key(licence.key)} revoked")


@portal_command("send-reminders")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Pretend it is this day [today].")
def send_reminders_command(today: dt.datetime | None) -> None:
    """Mail licence-expiry reminders (90, 30 and 0 days before). Meant for cron."""
    sent = send_reminders(today.date() if today else None)
    click.echo(f"{sent} reminder mail(s) sent")


COMMANDS = (
    issue_licences_command,
    list_licences_command,
    revoke_licence_command,
    send_reminders_command,
)
