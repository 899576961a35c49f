"""Benchmark of the retention job: time and peak memory of pruning expired recordings.

    .venv/bin/python -m bench.prune                              # 100,000 then 1,000,000
    .venv/bin/python -m bench.prune --recordings 1000000 --devices 10000
    scripts/with-postgres .venv/bin/python -m bench.prune --database-url "$TEST_DATABASE_URL"

For each count, a fresh database gets that many expired recordings spread over the devices
(in turn 録画 7日, 録画 30日 and ライブ映像), each device also with one recording its plan
keeps, and a file for every recording under RECORDINGS_DIR. A child process then runs
prune_recordings() as `flask prune-recordings` does, and reports its time and its peak
memory (resident set, with the app loaded before it began); afterwards exactly the kept
recordings and their files must remain (it fails otherwise). Memory should stay flat as
the count grows: the job holds one window of devices and one batch of keys at a time. The
CPU time (the job's own, user and system) is printed beside the wall time, which on a
shared machine also holds the time spent waiting for the processor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.run import ROOT, environment, flask

SEED = """
import datetime as dt, os, sys, time
from sqlalchemy import insert
from webapp import clock, create_app, storage
from webapp.enums import (CommStatus, DeviceKind, LicenceState, Plan, RecordingKind,
                          RecordingStatus, ServiceStatus)
from webapp.extensions import db
from webapp.models import Contract, Device, Licence, Recording
from webapp.services.licences import new_licence_key

expired, devices, per_contract, write_files = (int(value) for value in sys.argv[1:5])
plans = [Plan.RECORDING_7, Plan.RECORDING_30, Plan.LIVE]
app = create_app()
root = app.config["RECORDINGS_DIR"]
started = time.perf_counter()
with app.app_context():
    today, now = clock.today(), clock.utcnow()
    long_ago = now - dt.timedelta(days=40)  # past every plan's days
    device_ids = []
    for first in range(0, devices, per_contract):
        count = min(per_contract, devices - first)
        contract = Contract(name="prune bench")
        db.session.add(contract)
        db.session.flush()
        licences = [dict(key=new_licence_key(), contract_id=contract.id,
                         plan=plans[(first + n) % len(plans)], starts_on=today,
                         ends_on=today + dt.timedelta(days=364), state=LicenceState.IN_USE)
                    for n in range(count)]
        licence_ids = list(db.session.scalars(
            insert(Licence).returning(Licence.id, sort_by_parameter_order=True), licences))
        rows = [dict(contract_id=contract.id, licence_id=licence_id, kind=DeviceKind.CAMERA,
                     name=f"prune {first + n:06d}", model="WV-S1131",
                     mac=f"02{first + n:010X}", domain=f"p{first + n:06d}.prune.invalid",
                     comm_status=CommStatus.ONLINE, recording_status=RecordingStatus.CONTINUOUS,
                     service_status=ServiceStatus.ACTIVE)
                for n, licence_id in enumerate(licence_ids)]
        ids = list(db.session.scalars(
            insert(Device).returning(Device.id, sort_by_parameter_order=True), rows))
        device_ids += [(contract.id, device_id) for device_id in ids]
        db.session.commit()

    def recordings():
        # One kept recording per device (its newest, captured now), then the expired ones,
        # round robin over the devices.
        for n, (contract_id, device_id) in enumerate(device_ids):
            yield contract_id, device_id, f"kept-{n}", now
        for n in range(expired):
            contract_id, device_id = device_ids[n % len(device_ids)]
            yield contract_id, device_id, f"old-{n}", long_ago - dt.timedelta(seconds=n)

    batch = []
    folders = set()
    for contract_id, device_id, name, captured_at in recordings():
        key = f"{storage.device_prefix(contract_id, device_id)}/{name}.jpg"
        if write_files:
            folder = os.path.join(root, f"c{contract_id}", f"d{device_id}")
            if folder not in folders:
                os.makedirs(folder, exist_ok=True)
                folders.add(folder)
            os.close(os.open(os.path.join(folder, f"{name}.jpg"), os.O_CREAT | os.O_WRONLY, 0o644))
        batch.append(dict(device_id=device_id, kind=RecordingKind.IMAGE, captured_at=captured_at,
                          content_type="image/jpeg", size_bytes=0, storage_key=key))
        if len(batch) == 50_000:
            db.session.execute(insert(Recording), batch)
            db.session.commit()
            batch = []
    if batch:
        db.session.execute(insert(Recording), batch)
        db.session.commit()
print(round(time.perf_counter() - started, 1))
"""

PRUNE = """
import json, resource, time
from sqlalchemy import func, select
from webapp import create_app, storage
from webapp.extensions import db
from webapp.models import Recording
from webapp.services.retention import prune_recordings

def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

app = create_app()
with app.app_context():
    db.session.scalar(select(func.count()).select_from(Recording))  # connected, warmed up
    db.session.remove()
    before = peak_mib()
    started, cpu_started = time.perf_counter(), cpu_seconds()
    pruning = prune_recordings()
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    after = peak_mib()
    rows_left = db.session.scalar(select(func.count()).select_from(Recording))
    files_left = sum(1 for _ in storage.iter_objects())
print(json.dumps({
    "seconds": round(seconds, 2),
    "cpu_seconds": round(cpu, 2),
    "recordings_removed": pruning.recordings,
    "files_removed": pruning.objects,
    "peak_mib_before": round(before, 1),
    "peak_mib": round(after, 1),
    "rows_left": rows_left,
    "files_left": files_left,
}))
"""


def child(env: dict[str, str], script: str, *args: object) -> str:
    result = subprocess.run(
        [sys.executable, "-c", script, *(str(arg) for arg in args)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def reset_database(env: dict[str, str]) -> None:
    """Empty a PostgreSQL database between two counts (SQLite gets a new file instead)."""
    child(
        env,
        "from webapp import create_app\n"
        "from webapp.extensions import db\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    db.session.execute(db.text('DROP SCHEMA public CASCADE; CREATE SCHEMA public'))\n"
        "    db.session.commit()\n",
    )


def measure(args: argparse.Namespace, expired: int, work: Path) -> dict[str, Any]:
    env = environment(work, args.database_url)
    if args.database_url:
        reset_database(env)
    flask(env, "db", "upgrade")
    seeded = float(child(env, SEED, expired, args.devices, args.per_contract, int(args.files)))
    result: dict[str, Any] = json.loads(child(env, PRUNE))
    result.update(expired=expired, devices=args.devices, seed_seconds=seeded)
    result["ok"] = result["rows_left"] == args.devices and (
        not args.files or result["files_left"] == args.devices
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--recordings",
        default="100000,1000000",
        help="expired recordings to prune, one run per comma-separated count",
    )
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--per-contract", type=int, default=100, help="devices per contract")
    parser.add_argument(
        "--no-files", dest="files", action="store_false", help="rows only, no files to remove"
    )
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp folder")
    parser.add_argument("--keep", action="store_true", help="keep the temp folders")
    args = parser.parse_args()

    results = []
    for expired in (int(count) for count in args.recordings.split(",")):
        work = Path(tempfile.mkdtemp(prefix="portal-prune-bench-"))
        try:
            result = measure(args, expired, work)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        results.append(result)
        print(
            f"{expired:>10,} expired over {args.devices:,} devices: "
            f"{result['seconds']:.1f} s ({result['cpu_seconds']:.1f} s of CPU), "
            f"peak {result['peak_mib']:.0f} MiB "
            f"(app loaded: {result['peak_mib_before']:.0f} MiB), "
            f"{result['recordings_removed']:,} rows and {result['files_removed']:,} files removed",
            flush=True,
        )
    figures = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": "postgresql" if args.database_url else "sqlite",
        "files": args.files,
        "runs": results,
    }
    print(json.dumps(figures, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = figures["when"].replace(":", "")
    (out / f"prune-{stamp}.json").write_text(json.dumps(figures, indent=2) + "\n")
    if not all(result["ok"] for result in results):
        print("the job left other recordings than those the plans keep", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
