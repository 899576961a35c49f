"""Narrowing a per-device settings list (通知メール設定, a user's devices) by a search.

The same text conditions as 機器一覧 (機器名, 品番, MACアドレス, ドメイン名), so a contract
with hundreds of devices finds the ones to change instead of paging through all of them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, func, select
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..models import Device
from ..paging import Pagination, parse_page
from ..services.device_sets import contract_devices
from .forms import DeviceSearchForm
from .queries import DeviceSearch, search_condition

TEXT_FIELDS = ("name", "model", "mac", "domain")


class DeviceFilterForm(DeviceSearchForm):
    """The text conditions of 機器一覧's search, read from the query string."""

    # A settings list has no use for the selects: a device is on or off whatever its state.
    service_status = None  # type: ignore[assignment]
    plan = None  # type: ignore[assignment]

    def to_search(self) -> DeviceSearch:
        return DeviceSearch(
            name=(self.name.data or "").strip(),
            model=(self.model.data or "").strip(),
            mac=(self.mac.data or "").strip(),
            domain=(self.domain.data or "").strip(),
        )


def search_args(search: DeviceSearch) -> dict[str, str]:
    """The URL arguments that reproduce *search* (empty conditions left out)."""
    return {name: getattr(search, name) for name in TEXT_FIELDS if getattr(search, name)}


class ListState(NamedTuple):
    """What a settings list shows: the form, the search it made, and the page asked for."""

    form: DeviceFilterForm
    search: DeviceSearch
    page: int

    @property
    def args(self) -> dict[str, Any]:
        """The URL arguments of this list (the search, and the page when past the first)."""
        return {**search_args(self.search), **({"page": self.page} if self.page > 1 else {})}


def read_list_state(args: MultiDict[str, Any]) -> ListState:
    """Read the search and page from *args*; conditions that cannot be read search nothing."""
    form = DeviceFilterForm(formdata=args)
    search = form.to_search() if form.validate() else DeviceSearch()
    return ListState(form, search, parse_page(args.get("page")))


AnySelect = Select[*tuple[Any, ...]]


class Narrowed(NamedTuple):
    """The devices a search keeps, as a condition, with the counts 「表示件数」 shows."""

    condition: ColumnElement[bool]
    parameters: dict[str, Any]  # the values of the condition's named parameters
    matching: int
    total: int
    pagination: Pagination

    def page_of(self, statement: AnySelect) -> AnySelect:
        """*statement* narrowed to the devices kept, on the page to show (by name)."""
        return (
            statement.where(self.condition)
            .order_by(Device.name, Device.id)
            .limit(self.pagination.per_page)
            .offset(self.pagination.offset)
            .params(**self.parameters)
        )


def narrow(contract_id: int, search: DeviceSearch, page: int, per_page: int) -> Narrowed:
    """Which of the contract's devices *search* keeps, and which page of them to show."""
    fold_case = db.session.get_bind().dialect.name != "sqlite"
    # The conditions hold their values as named parameters, given with each statement.
    condition = and_(
        Device.contract_id == contract_id, search_condition(search.shape, fold_case=fold_case)
    )
    parameters = search.parameters()
    total = contract_devices(contract_id)
    matching = total
    if not search.is_empty:
        counting = select(func.count()).select_from(Device).where(condition)
        matching = db.session.scalar(counting, parameters) or 0
    pagination = Pagination.clamp(page, per_page, matching)
    return Narrowed(condition, parameters, matching, total, pagination)
