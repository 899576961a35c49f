"""A retention job killed midway leaves only what gc-recordings removes.

prune-recordings runs in a child process that kills itself (SIGKILL) as it is about to
remove the objects of its first batch: that batch's rows have gone (committed), the rest
not yet. A later gc-recordings removes the objects left without a row, and the next run
of the job removes the rest: never a row without its object, nothing kept lost.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from tests.support.client import Account
from tests.support.factories import DeviceFactory
from webapp import clock, storage
from webapp.enums import Plan, RecordingKind
from webapp.extensions import db
from webapp.models import Recording
from webapp.services.recordings import collect_garbage
from webapp.services.retention import prune_recordings

ROOT = Path(__file__).parents[3]

CHILD = textwrap.dedent(
    """
    import os, signal
    from webapp import create_app, storage
    from webapp.services.retention import prune_recordings

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    storage.remove = die  # the first step after the first batch has committed
    app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"]})
    with app.app_context():
        prune_recordings(batch_size=3)
    raise SystemExit(3)  # never reached: the process is killed first
    """
)


def run_child(app: Flask) -> int:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "ENCRYPTION_KEYS": ",".join(app.config["ENCRYPTION_KEYS"]),
        "RECORDINGS_DIR": str(app.config["RECORDINGS_DIR"]),
    }
    result = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    return result.returncode


def test_a_job_killed_midway_leaves_only_what_gc_removes(app: Flask, contractor: Account) -> None:
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id, licence__plan=Plan.RECORDING_7)
        prefix = storage.device_prefix(contractor.contract_id, device.id)
        rows = []
        for days in (0, 1, 8, 9, 10, 11, 12):  # two kept, five expired
            key = f"{prefix}/{days}.png"
            storage.write(key, b"\x89PNG")
            rows.append(
                Recording(
                    device_id=device.id,
                    kind=RecordingKind.IMAGE,
                    captured_at=clock.utcnow() - dt.timedelta(days=days),
                    content_type="image/png",
                    size_bytes=4,
                    storage_key=key,
                )
            )
        db.session.add_all(rows)
        db.session.commit()
    kept = {f"{prefix}/0.png", f"{prefix}/1.png"}

    def rows_named() -> set[str]:
        with app.app_context():
            return set(db.session.scalars(select(Recording.storage_key)))

    def objects() -> set[str]:
        with app.app_context():
            return {item.key for item in storage.iter_objects()}

    assert run_child(app) == -9
    # The first batch's rows went; their objects stay, named by nothing.
    assert len(rows_named()) == 4 and kept <= rows_named()
    orphans = objects() - rows_named()
    assert len(orphans) == 3 and not orphans & kept

    with app.app_context():
        assert collect_garbage(min_age_seconds=0).files == 3
    assert objects() == rows_named()  # never a row without its object
    with app.app_context():
        assert prune_recordings().recordings == 2
    assert rows_named() == objects() == kept
