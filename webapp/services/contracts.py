"""Creating contracts (operator work), the one login e-mail rule they share, and who the
contractor is."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import func, select

from .. import addresses
from ..database import unit_of_work
from ..enums import Role
from ..extensions import db
from ..models import Contract, User
from ..passwords import hash_password
from .refusals import EmailTaken, InvalidEmail


def email_in_use(email: str) -> bool:
    return (
        db.session.scalar(select(User.id).where(func.lower(User.email) == email.lower()))
        is not None
    )


class Contractor(NamedTuple):
    """Whom a mail about the contract goes to: the contractor's address, language and name."""

    email: str
    locale: str | None
    name: str  # お名前 of 契約者情報


def contractor_of(contract_id: int) -> Contractor | None:
    """Read the contractor's address, language and name now (before anything is deleted)."""
    row = db.session.execute(
        select(User.email, User.locale, Contract.name)
        .join(Contract, Contract.id == User.contract_id)
        .where(User.contract_id == contract_id, User.role == Role.CONTRACTOR)
    ).first()
    return Contractor(*row) if row is not None else None


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
    """Create a contract and its contractor account.

    The address obeys the rule of the portal's forms (InvalidEmail otherwise): a contractor
    created with an address the forms refuse could never save 契約者情報.
    """
    email = addresses.normalised(email)
    if not addresses.is_acceptable(email):
        raise InvalidEmail()
    with unit_of_work():
        if email_in_use(email):
            raise EmailTaken()
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
    return contract
