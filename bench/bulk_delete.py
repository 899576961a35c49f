"""Benchmark of 「選択した機器を削除」: time to delete thousands of selected devices at once.

    .venv/bin/python -m bench.bulk_delete                      # 5,000 devices × 10 recordings
    .venv/bin/python -m bench.bulk_delete --devices 1000 --recordings 20
    scripts/with-postgres .venv/bin/python -m bench.bulk_delete --database-url "$TEST_DATABASE_URL"
    .venv/bin/python -m bench.bulk_delete --work-dir /dev/shm   # files in memory, not on disk

A fresh database gets one contract with that many devices (each with its licence, its
notification setting and its recordings, a file for each under RECORDINGS_DIR), and a
second contract of the same size that must come out untouched. A child process then does
what the confirmation's POST does with "every device selected" (all=1): it reads the
selection and deletes it with delete_devices(), in one transaction, and starts the
removal of the devices' folders after the commit. It prints the time until the deletion
returns (what the contractor waits for: goal under 10 s), of the transaction alone, and
how long after the commit the folders were gone, and checks that nothing of the contract
is left and that the other contract kept everything (it fails otherwise).

Removing the folders is one unlink per recording file, which the disk sets the pace of
(on a busy shared disk, far more than the code does), so it runs in a thread beside the
request rather than within it; --work-dir /dev/shm times the same run with the files in
memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.prune import child, reset_database
from bench.run import ROOT, environment, flask

SEED = """
import os, sys, time
from sqlalchemy import insert
from webapp import clock, create_app, storage
from webapp.enums import (CommStatus, DeviceKind, LicenceState, Plan, RecordingKind,
                          RecordingStatus, Role, ServiceStatus)
from webapp.database import refresh_planner_statistics
from webapp.extensions import db
from webapp.models import (Contract, Device, Licence, NotificationSetting, Recording, User)
from webapp.services.licences import new_licence_key

devices, per_device = (int(value) for value in sys.argv[1:3])
app = create_app()
root = app.config["RECORDINGS_DIR"]
started = time.perf_counter()
with app.app_context():
    today, now = clock.today(), clock.utcnow()
    contract_ids = []
    for label in ("bulk", "other"):
        contract = Contract(name=f"{label} bench")
        db.session.add(contract)
        db.session.flush()
        contract_ids.append(contract.id)
        db.session.add(User(contract_id=contract.id, email=f"{label}@example.com",
                            role=Role.CONTRACTOR, locale="ja"))
        licences = [dict(key=new_licence_key(), contract_id=contract.id,
                         plan=Plan.RECORDING_30, starts_on=today,
                         ends_on=today + dt.timedelta(days=364), state=LicenceState.IN_USE)
                    for _ in range(devices)]
        licence_ids = list(db.session.scalars(
            insert(Licence).returning(Licence.id, sort_by_parameter_order=True), licences))
        rows = [dict(contract_id=contract.id, licence_id=licence_id, kind=DeviceKind.CAMERA,
                     name=f"{label} {n:06d}", model="WV-S1131",
                     mac=f"{label == 'bulk' and '02' or '06'}{n:010X}",
                     domain=f"{label}{n:06d}.bench.invalid", comm_status=CommStatus.ONLINE,
                     recording_status=RecordingStatus.CONTINUOUS,
                     service_status=ServiceStatus.ACTIVE)
                for n, licence_id in enumerate(licence_ids)]
        ids = list(db.session.scalars(
            insert(Device).returning(Device.id, sort_by_parameter_order=True), rows))
        db.session.execute(insert(NotificationSetting), [dict(device_id=i) for i in ids])
        recordings = []
        for device_id in ids:
            folder = os.path.join(root, f"c{contract.id}", f"d{device_id}")
            os.makedirs(folder, exist_ok=True)
            for n in range(per_device):
                name = f"rec-{n:03d}.jpg"
                with open(os.path.join(folder, name), "wb") as file:
                    file.write(b"\\xff\\xd8 bench")
                recordings.append(dict(
                    device_id=device_id, kind=RecordingKind.IMAGE,
                    captured_at=now - dt.timedelta(minutes=n), content_type="image/jpeg",
                    size_bytes=8,
                    storage_key=f"{storage.device_prefix(contract.id, device_id)}/{name}"))
        for start in range(0, len(recordings), 50_000):
            db.session.execute(insert(Recording), recordings[start:start + 50_000])
        db.session.commit()
    # As autovacuum would have by then: plan with the tables' real sizes (PostgreSQL).
    refresh_planner_statistics(db.engine)
print(json.dumps({"seconds": round(time.perf_counter() - started, 1),
                  "contracts": contract_ids}))
""".replace("import os, sys, time", "import datetime as dt, json, os, sys, time")

DELETE = """
import json, sys, time
from sqlalchemy import func, select
from webapp import create_app, storage
from webapp.devices.queries import DeviceSearch, DeviceSelection, select_devices
from webapp.extensions import db
from webapp.models import Device, Licence, NotificationSetting, Recording, AuditEvent
from webapp.services import devices as service

contract_id, other_id = (int(value) for value in sys.argv[1:3])
app = create_app()
timings = {}
removing = service.remove_device_folders

def timed_removal(contract, device_ids):
    timings["committed"] = time.perf_counter()
    removing(contract, device_ids)

service.remove_device_folders = timed_removal
with app.test_request_context():
    db.session.scalar(select(func.count()).select_from(Device))  # connected, warmed up
    db.session.remove()
    started = time.perf_counter()
    selected = select_devices(contract_id, DeviceSelection(search=DeviceSearch()))
    read = time.perf_counter()
    deletion = service.delete_devices(contract_id, selected.ids, reason="bench")
    finished = time.perf_counter()  # where the request answers
    storage.wait_for_removals()  # the folders go in a thread beside it
    removed = time.perf_counter()

    def left(model, column, contract):
        owned = select(Device.id).where(Device.contract_id == contract)
        return db.session.scalar(select(func.count()).select_from(model).where(column.in_(owned)))

    report = {
        "selected": selected.count,
        "deleted": len(deletion.deleted),
        "seconds": round(finished - started, 2),
        "selection_read_s": round(read - started, 2),
        "transaction_s": round(timings["committed"] - read, 2),
        "after_commit_s": round(finished - timings["committed"], 2),
        "folders_removed_s": round(removed - timings["committed"], 2),
        "devices_left": db.session.scalar(
            select(func.count()).select_from(Device).where(Device.contract_id == contract_id)),
        "files_left": sum(1 for _ in storage.iter_objects(f"c{contract_id}")),
        "audit_events": db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(
                AuditEvent.contract_id == contract_id, AuditEvent.action == "device.delete")),
        "other_devices": db.session.scalar(
            select(func.count()).select_from(Device).where(Device.contract_id == other_id)),
        "other_recordings": left(Recording, Recording.device_id, other_id),
        "other_settings": left(NotificationSetting, NotificationSetting.device_id, other_id),
        "other_files": sum(1 for _ in storage.iter_objects(f"c{other_id}")),
        "other_licences_in_use": db.session.scalar(
            select(func.count()).select_from(Licence).where(
                Licence.contract_id == other_id, Licence.revoked_at.is_(None))),
    }
print(json.dumps(report))
"""


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    env = environment(work, args.database_url)
    if args.database_url:
        reset_database(env)
    flask(env, "db", "upgrade")
    seeded = json.loads(child(env, SEED, args.devices, args.recordings))
    contract_id, other_id = seeded["contracts"]
    result: dict[str, Any] = json.loads(child(env, DELETE, contract_id, other_id))
    result.update(devices=args.devices, recordings_each=args.recordings, seed_s=seeded["seconds"])
    expected_other = {
        "other_devices": args.devices,
        "other_recordings": args.devices * args.recordings,
        "other_settings": args.devices,
        "other_files": args.devices * args.recordings,
        "other_licences_in_use": args.devices,
    }
    result["ok"] = (
        result["deleted"] == args.devices
        and result["devices_left"] == 0
        and result["files_left"] == 0
        and result["audit_events"] == args.devices
        and all(result[key] == value for key, value in expected_other.items())
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=5_000)
    parser.add_argument("--recordings", type=int, default=10, help="recordings per device")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp folder")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument(
        "--work-dir",
        default=None,
        help="where the temp folder (SQLite file, recordings) goes, e.g. /dev/shm to "
        "time the code rather than the disk; default: the system's temp folder",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="portal-bulk-delete-bench-", dir=args.work_dir))
    try:
        result = measure(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    database = "postgresql" if args.database_url else "sqlite"
    print(
        f"deleting {args.devices:,} selected devices with {args.recordings} recordings each "
        f"({database}): {result['seconds']:.2f} s "
        f"(selection {result['selection_read_s']:.2f} s, "
        f"transaction {result['transaction_s']:.2f} s, "
        f"after the commit {result['after_commit_s']:.2f} s); "
        f"the folders, removed beside it, gone {result['folders_removed_s']:.2f} s "
        "after the commit",
        flush=True,
    )
    figures = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": database,
        "run": result,
    }
    print(json.dumps(figures, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = figures["when"].replace(":", "")
    (out / f"bulk-delete-{stamp}.json").write_text(json.dumps(figures, indent=2) + "\n")
    if not result["ok"]:
        print("the deletion left something behind, or touched the other contract", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
