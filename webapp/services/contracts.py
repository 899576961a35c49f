"""Creating contracts and issuing licence keys (operator work)."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, insert, select

from ..database import unit_of_work
from ..enums import LicenceState, Plan, Role
from ..extensions import db
from ..models import Contract, Licence, User, utcnow
from ..passwords import hash_password

# Crockford's base32: no I, L, O or U, so a key read aloud or retyped is unambiguous.
KEY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
KEY_LENGTH = 20  # 100 bits


class EmailTaken(ValueError):
    """Another account already uses this e-mail address."""


def new_licence_key() -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def format_licence_key(key: str) -> str:
    """Show a key in groups of four: ABCD-EFGH-JKMN-PQRS-TVWX."""
    return "-".join(key[i : i + 4] for i in range(0, len(key), 4))


def email_in_use(email: str) -> bool:
    return (
        db.session.scalar(select(User.id).where(func.lower(User.email) == email.lower()))
        is not None
    )


def create_contract(
    *,
    email: str,
    password: str,
    name: str,
    company_name: str = "",
    furigana: str = "",
    postal_code: str = "",
    address: str = "",
    phone_work: str = "",
    phone_mobile: str = "",
    phone_home: str = "",
    seat_limit: int = 5,
    password_hash: str | None = None,
) -> Contract:
    """Create a contract and its contractor account."""
    email = email.strip().lower()
    with unit_of_work():
        if email_in_use(email):
            raise EmailTaken(email)
        contract = Contract(
            name=name,
            company_name=company_name,
            furigana=furigana,
            postal_code=postal_code,
            address=address,
            phone_work=phone_work,
            phone_mobile=phone_mobile,
            phone_home=phone_home,
            seat_limit=seat_limit,
        )
        db.session.add(contract)
        db.session.flush()
        db.session.add(
            User(
                contract_id=contract.id,
                email=email,
                password_hash=password_hash or hash_password(password),
                role=Role.CONTRACTOR,
            )
        )
        db.session.flush()
    return contract


def term_end(starts_on: dt.date, *, years: int = 1, days: int | None = None) -> dt.date:
    """Return the last day of a term: *days* long if given, else *years* calendar years."""
    if days is not None:
        return starts_on + dt.timedelta(days=days - 1)
    try:
        anniversary = starts_on.replace(year=starts_on.year + years)
    except ValueError:  # 29 February into a common year
        anniversary = starts_on.replace(year=starts_on.year + years, day=28)
    return anniversary - dt.timedelta(days=1)


def issue_licences(
    count: int,
    *,
    plan: Plan = Plan.RECORDING_7,
    starts_on: dt.date | None = None,
    years: int = 1,
    days: int | None = None,
    contract_id: int | None = None,
) -> list[str]:
    """Issue *count* new, unused licence keys.

    The term is *years* calendar years from *starts_on* (an annual pack by default), or
    exactly *days* days when given.
    """
    starts_on = starts_on or dt.date.today()
    ends_on = term_end(starts_on, years=years, days=days)
    keys = [new_licence_key() for _ in range(count)]
    if keys:
        now = utcnow()
        with unit_of_work():
            db.session.execute(
                insert(Licence),
                [
                    {
                        "key": key,
                        "contract_id": contract_id,
                        "plan": plan,
                        "starts_on": starts_on,
                        "ends_on": ends_on,
                        "state": LicenceState.UNUSED,
                        "issued_at": now,
                    }
                    for key in keys
                ],
            )
    return keys
