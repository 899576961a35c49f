"""Recording files that no row names any more: found and removed (gc-recordings).

Rows are deleted in a transaction and files after it commits; a process killed between
the two leaves files behind. They are harmless, and removed by this sweep.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Contract, Device, Recording

log = logging.getLogger(__name__)

_CONTRACT = re.compile(r"c(\d+)")
_DEVICE = re.compile(r"d(\d+)")


@dataclass
class Sweep:
    files: int = 0
    folders: int = 0


def _count_files(path: Path) -> int:
    return sum(1 for item in path.rglob("*") if item.is_file())


def _remove_folder(sweep: Sweep, folder: Path) -> None:
    """Remove a folder that no row names any more, counting what went with it."""
    sweep.files += _count_files(folder)
    shutil.rmtree(folder, ignore_errors=True)
    sweep.folders += 1


def collect_garbage(*, min_age_seconds: float = 600.0) -> Sweep:
    """Remove recording files and folders that no contract, device or recording row names.

    Files younger than *min_age_seconds* are spared: their row may still be on its way.
    Only the portal's own layout (c<contract>/d<device>/…) is touched.
    """
    root = Path(current_app.config["RECORDINGS_DIR"])
    sweep = Sweep()
    if not root.is_dir():
        return sweep
    cutoff = time.time() - min_age_seconds
    contracts = set(db.session.scalars(select(Contract.id)))
    for contract_dir in sorted(root.iterdir()):
        match = _CONTRACT.fullmatch(contract_dir.name)
        if not match or not contract_dir.is_dir():
            continue
        contract_id = int(match.group(1))
        if contract_id not in contracts:
            _remove_folder(sweep, contract_dir)
            continue
        devices = set(
            db.session.scalars(select(Device.id).where(Device.contract_id == contract_id))
        )
        for device_dir in sorted(contract_dir.iterdir()):
            match = _DEVICE.fullmatch(device_dir.name)
            if not match or not device_dir.is_dir():
                continue
            device_id = int(match.group(1))
            if device_id not in devices:
                _remove_folder(sweep, device_dir)
                continue
            named = set(
                db.session.scalars(
                    select(Recording.storage_key).where(Recording.device_id == device_id)
                )
            )
            for item in device_dir.rglob("*"):
                key = item.relative_to(root).as_posix()
                if item.is_file() and key not in named and item.stat().st_mtime < cutoff:
                    item.unlink(missing_ok=True)
                    sweep.files += 1
    if sweep.files or sweep.folders:
        log.info("gc-recordings removed %s files and %s folders", sweep.files, sweep.folders)
    return sweep
