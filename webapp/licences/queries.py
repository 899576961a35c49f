"""Reading the contract's licences for ライセンス一覧: owner-scoped, filtered and paged."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, select

from ..extensions import db
from ..models import Device, Licence
from ..paging import Paged, Pagination
from ..services.licences import (
    ContractLicence,
    LicenceFilter,
    contract_licence,
    filter_condition,
)

COLUMNS = (
    Licence.id,
    Licence.key,
    Licence.plan,
    Licence.starts_on,
    Licence.ends_on,
    Licence.state,
    Device.id,
    Device.name,
)


@dataclass
class LicencePage(Paged):
    """One page of ライセンス一覧, with how many licences each filter holds."""

    items: list[ContractLicence]
    pagination: Pagination
    today: dt.date  # the service's day the states and days left are judged on
    counts: dict[LicenceFilter | None, int]  # None: every licence of the contract

    @property
    def matching(self) -> int:
        return self.pagination.total


def _of_contract(contract_id: int) -> Select[*tuple[Any, ...]]:
    """The contract's licences (issued to it, used or not) with the device each is on."""
    return (
        select(*COLUMNS)
        .select_from(Licence)
        # Only this contract's device: a key is registered only by the contract it is issued to.
        .outerjoin(Device, and_(Device.licence_id == Licence.id, Device.contract_id == contract_id))
        .where(Licence.contract_id == contract_id)
    )


def count_licences(contract_id: int, today: dt.date) -> dict[LicenceFilter | None, int]:
    """Return how many of the contract's licences each filter holds, in one pass."""
    filters: list[LicenceFilter | None] = [None, *LicenceFilter]
    row = db.session.execute(
        select(*(func.count().filter(filter_condition(f, today)) for f in filters)).where(
            Licence.contract_id == contract_id
        )
    ).one()
    return dict(zip(filters, row, strict=True))


def licence_page(
    contract_id: int,
    licence_filter: LicenceFilter | None,
    *,
    page: int,
    per_page: int,
    today: dt.date,
) -> LicencePage:
    """Return a page of the contract's licences in *licence_filter*, by last day."""
    counts = count_licences(contract_id, today)
    pagination = Pagination.clamp(page, per_page, counts[licence_filter])
    rows = db.session.execute(
        _of_contract(contract_id)
        .where(filter_condition(licence_filter, today))
        .order_by(Licence.ends_on, Licence.id)
        .limit(per_page)
        .offset(pagination.offset)
    )
    return LicencePage([contract_licence(*row) for row in rows], pagination, today, counts)


def all_licences(
    contract_id: int, licence_filter: LicenceFilter | None, today: dt.date
) -> list[ContractLicence]:
    """Return every licence of the contract in *licence_filter*, by last day (for the CSV)."""
    rows = db.session.execute(
        _of_contract(contract_id)
        .where(filter_condition(licence_filter, today))
        .order_by(Licence.ends_on, Licence.id)
    )
    return [contract_licence(*row) for row in rows]
