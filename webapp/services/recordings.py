"""Recording objects that no row names any more: found and removed (gc-recordings).

Rows are deleted in a transaction and objects after it commits; a process killed between
the two leaves objects behind. They are harmless, and removed by this sweep, which works
the same on every storage backend (a local folder, an S3 bucket).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from .. import storage
from ..extensions import db
from ..models import Contract, Device, Recording

log = logging.getLogger(__name__)

_CONTRACT = re.compile(r"c(\d+)")
_DEVICE = re.compile(r"d(\d+)")


@dataclass
class Sweep:
    """What a sweep removed: objects (files), and folders (prefixes) of gone rows."""

    files: int = 0
    folders: int = 0


@dataclass
class _Sweeper:
    """One pass over the stored objects, remembering only the contract and device at hand."""

    cutoff: float
    contracts: set[int]
    sweep: Sweep = field(default_factory=Sweep)
    gone: set[str] = field(default_factory=set)
    pending: list[str] = field(default_factory=list)
    devices_of: tuple[int, set[int]] | None = None
    named_of: tuple[int, set[str]] | None = None

    def visit(self, item: storage.StoredObject) -> None:
        parts = item.key.split("/")
        # Only the portal's own layout is touched: c<contract>/… and c<contract>/d<device>/….
        contract = _CONTRACT.fullmatch(parts[0])
        if contract is None or len(parts) < 2:
            return
        contract_id = int(contract.group(1))
        if contract_id not in self.contracts:
            if _exists_now(Contract, contract_id):  # created after the sweep began
                self.contracts.add(contract_id)
            else:
                self.remove_folder(parts[0])
                return
        device = _DEVICE.fullmatch(parts[1])
        if device is None or len(parts) < 3:
            return
        device_id = int(device.group(1))
        if device_id not in self.devices(contract_id):
            if _exists_now(Device, device_id):  # registered after the sweep began
                self.devices(contract_id).add(device_id)
            else:
                self.remove_folder(f"{parts[0]}/{parts[1]}")
                return
        # Young objects are spared: their row may still be on its way.
        if item.modified < self.cutoff and item.key not in self.named(device_id):
            self.pending.append(item.key)
            if len(self.pending) >= storage.DELETE_BATCH:
                self.flush()

    def devices(self, contract_id: int) -> set[int]:
        if self.devices_of is None or self.devices_of[0] != contract_id:
            query = select(Device.id).where(Device.contract_id == contract_id)
            self.devices_of = (contract_id, set(db.session.scalars(query)))
        return self.devices_of[1]

    def named(self, device_id: int) -> set[str]:
        if self.named_of is None or self.named_of[0] != device_id:
            keys = set(
                db.session.scalars(
                    select(Recording.storage_key).where(Recording.device_id == device_id)
                )
            )
            self.named_of = (device_id, keys)
        return self.named_of[1]

    def remove_folder(self, prefix: str) -> None:
        """Remove a folder that no row names any more, counting what went with it."""
        if prefix in self.gone:  # already removed; the listing was read before
            return
        self.gone.add(prefix)
        self.sweep.files += storage.remove_tree(prefix)
        self.sweep.folders += 1

    def flush(self) -> None:
        if self.pending:
            self.sweep.files += storage.remove(self.pending)
            self.pending = []


def _exists_now(model: type[Contract] | type[Device], row_id: int) -> bool:
    """Ask again, outside the sweep's snapshot, before a whole folder is removed.

    The sweep read the contracts (and each contract's devices) when it began; one created
    since then has objects but was not in that list, and must not lose them.
    """
    db.session.rollback()  # a new transaction sees what has been committed since
    return db.session.get(model, row_id, populate_existing=True) is not None


def collect_garbage(*, min_age_seconds: float = 600.0) -> Sweep:
    """Remove recording objects and folders that no contract, device or recording row names.

    Objects younger than *min_age_seconds* are spared: their row may still be on its way.
    Only the portal's own layout (c<contract>/d<device>/…) is touched; a folder whose
    contract or device is gone goes whole.
    """
    sweeper = _Sweeper(
        cutoff=time.time() - min_age_seconds,
        contracts=set(db.session.scalars(select(Contract.id))),
    )
    for item in storage.iter_objects():
        sweeper.visit(item)
    sweeper.flush()
    sweep = sweeper.sweep
    if sweep.files or sweep.folders:
        log.info("gc-recordings removed %s files and %s folders", sweep.files, sweep.folders)
    return sweep
