"""Recording files under RECORDINGS_DIR.

Rows are deleted in the database transaction; files are removed only after it has
committed, so a failed transaction never loses a file that a row still names.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from flask import current_app

log = logging.getLogger(__name__)


def _root() -> Path:
    return Path(current_app.config["RECORDINGS_DIR"])


def path_for(storage_key: str) -> Path:
    """Return the file of a storage key, refusing keys that would leave the folder."""
    key = PurePosixPath(storage_key)
    if key.is_absolute() or ".." in key.parts or not key.parts:
        raise ValueError(f"unsafe storage key {storage_key!r}")
    return _root().joinpath(*key.parts)


def contract_prefix(contract_id: int) -> str:
    return f"c{contract_id}"


def device_prefix(contract_id: int, device_id: int) -> str:
    return f"{contract_prefix(contract_id)}/d{device_id}"


def write(storage_key: str, data: bytes) -> None:
    path = path_for(storage_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def remove(storage_keys: Iterable[str]) -> int:
    """Remove files by key; a file already gone is not an error. Return how many were removed."""
    removed = 0
    parents: set[Path] = set()
    for storage_key in storage_keys:
        path = path_for(storage_key)
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError:
            log.exception("could not remove recording file %s", path)
        parents.add(path.parent)
    for parent in parents:
        _remove_empty_dirs(parent)
    return removed


def remove_tree(prefix: str) -> None:
    """Remove everything under a prefix (a withdrawn contract's folder)."""
    path = path_for(prefix)
    shutil.rmtree(path, ignore_errors=True)
    _remove_empty_dirs(path.parent)


def _remove_empty_dirs(path: Path) -> None:
    root = _root()
    while path != root and root in path.parents:
        try:
            os.rmdir(path)
        except OSError:
            return
        path = path.parent
