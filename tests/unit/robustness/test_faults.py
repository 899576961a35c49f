"""A process killed in the middle of a deletion or a withdrawal leaves nothing half-done.

The deletion runs in a child process that kills itself (SIGKILL, no clean-up) at a chosen
point: before its transaction commits, or between the commit and the file removal. The
test process then looks at what a restarted portal finds, and runs gc-recordings.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from flask import Flask

from tests.support.client import Account
from tests.support.factories import DeviceFactory, add_recordings
from webapp import storage
from webapp.enums import LicenceState
from webapp.extensions import db
from webapp.models import Contract, Device, Licence, Recording
from webapp.services.recordings import collect_garbage

ROOT = Path(__file__).parents[3]

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Contract, Device
    import webapp.services.account as account
    import webapp.services.devices as devices

    action, point, target = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    module = devices if action == "delete" else account
    if point == "before_commit":
        module.record_event = die  # the last step inside the transaction
    else:
        module.storage.remove = die  # the first step after the commit
        module.storage.remove_tree = die

    app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"]})
    with app.app_context():
        if action == "delete":
            devices.delete_device(db.session.get(Device, target))
        else:
            account.withdraw_contract(db.session.get(Contract, target))
    sys.exit(3)  # never reached: the process is killed first
    """
)


def run_child(app: Flask, action: str, point: str, target: int) -> int:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "ENCRYPTION_KEYS": ",".join(app.config["ENCRYPTION_KEYS"]),
        "RECORDINGS_DIR": str(app.config["RECORDINGS_DIR"]),
    }
    # The parent's pooled connections stay open, as another worker's would.
    result = subprocess.run(
        [sys.executable, "-c", CHILD, action, point, str(target)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    return result.returncode


@pytest.fixture
def camera(app: Flask, contractor: Account) -> dict[str, object]:
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id)
        files = [storage.path_for(r.storage_key) for r in add_recordings(device, 4)]
        return {"id": device.id, "licence": device.licence_id, "files": files}


def test_killed_before_commit_changes_nothing(app: Flask, camera: dict) -> None:
    assert run_child(app, "delete", "before_commit", camera["id"]) == -9
    with app.app_context():
        assert db.session.get(Device, camera["id"]) is not None
        assert db.session.query(Recording).filter_by(device_id=camera["id"]).count() == 4
        assert db.session.get(Licence, camera["licence"]).state is LicenceState.IN_USE
    assert all(Path(path).exists() for path in camera["files"])


def test_killed_after_commit_leaves_files_that_gc_removes(app: Flask, camera: dict) -> None:
    assert run_child(app, "delete", "after_commit", camera["id"]) == -9
    with app.app_context():
        assert db.session.get(Device, camera["id"]) is None
        assert db.session.get(Licence, camera["licence"]).state is LicenceState.REVOKED
    assert all(Path(path).exists() for path in camera["files"])  # left behind

    result = app.test_cli_runner().invoke(args=["gc-recordings", "--min-age", "0"])
    assert result.exit_code == 0, result.output
    assert "4 file(s)" in result.stdout
    assert not any(Path(path).exists() for path in camera["files"])


def test_withdrawal_killed_after_commit_leaves_a_folder_that_gc_removes(
    app: Flask, contractor: Account, tmp_path: Path
) -> None:
    leftover = Path(app.config["RECORDINGS_DIR"]) / f"c{contractor.contract_id}" / "d9" / "x.png"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"old clip")
    assert run_child(app, "withdraw", "after_commit", contractor.contract_id) == -9
    with app.app_context():
        assert db.session.get(Contract, contractor.contract_id) is None
        assert leftover.exists()
        sweep = collect_garbage(min_age_seconds=0)
    assert sweep.folders == 1 and sweep.files == 1
    assert not leftover.parent.parent.exists()


def test_withdrawal_killed_before_commit_changes_nothing(app: Flask, contractor: Account) -> None:
    assert run_child(app, "withdraw", "before_commit", contractor.contract_id) == -9
    with app.app_context():
        assert db.session.get(Contract, contractor.contract_id) is not None


def test_gc_spares_what_rows_name_and_young_files(app: Flask, camera: dict) -> None:
    young = Path(camera["files"][0]).with_name("uploading.png")
    young.write_bytes(b"arriving")
    with app.app_context():
        assert collect_garbage().files == 0  # default: spare files under ten minutes old
        sweep = collect_garbage(min_age_seconds=0)
    assert sweep.files == 1
    assert not young.exists()
    assert all(Path(path).exists() for path in camera["files"])
