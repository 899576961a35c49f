"""Peak memory of the recordings' ZIP downloads: flat, whatever the size of the archive.

    .venv/bin/python -m bench.archive                    # about 1 GiB in 10,000 files
    .venv/bin/python -m bench.archive --storage s3       # the same, read from a local S3 server
    .venv/bin/python -m bench.archive --megabytes 200    # a smaller run

Seeds one contract with recordings (random bytes, so that nothing compresses), serves the
portal with gunicorn on 127.0.0.1 and downloads, as a browser does, first one device's ZIP
(a tenth of the recordings) and then the whole contract's ZIP. The worker's peak resident
memory (VmHWM) is read before and after each: a ZIP built in memory or from a temporary
file would add its own size to it, a streamed one only the list of its entries. The ZIP is
written to a file and checked (every entry there, every CRC right) before the figures are
printed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from bench.run import EMAIL, PASSWORD, PC, ROOT, environment, flask, free_port, login

DEVICES = 10
CHUNK = 1024 * 1024


def seed(devices: int, files_per_device: int, file_bytes: int) -> None:
    """Create the bench contract: *devices* cameras with *files_per_device* recordings each.

    Run in a child process with the portal's environment (see main).
    """
    from sqlalchemy import insert

    from webapp import create_app, storage
    from webapp.enums import DeviceKind, Plan, RecordingKind, Role
    from webapp.extensions import db
    from webapp.models import Contract, Device, Licence, Recording, User, utcnow
    from webapp.passwords import hash_password
    from webapp.services.licences import new_licence_key

    app = create_app()
    with app.app_context():
        contract = Contract(name="bench")
        db.session.add(contract)
        db.session.flush()
        db.session.add(
            User(
                contract_id=contract.id,
                email=EMAIL,
                password_hash=hash_password(PASSWORD),
                role=Role.CONTRACTOR,
            )
        )
        today = dt.date.today()
        now = utcnow()
        block = os.urandom(file_bytes + devices * files_per_device)
        for d in range(devices):
            licence = Licence(
                key=new_licence_key(),
                contract_id=contract.id,
                plan=Plan.RECORDING_30,
                starts_on=today,
                ends_on=today + dt.timedelta(days=364),
            )
            db.session.add(licence)
            db.session.flush()
            device = Device(
                contract_id=contract.id,
                licence_id=licence.id,
                kind=DeviceKind.CAMERA,
                name=f"Camera {d + 1:02d}",
                model="WV-S1131",
                mac=f"02BE{d:08X}",
                domain=f"bench{d:03d}.archive.invalid",
            )
            db.session.add(device)
            db.session.flush()
            rows = []
            for n in range(files_per_device):
                key = f"{storage.device_prefix(contract.id, device.id)}/r{n:06d}.jpg"
                # Each file a different slice of random bytes: nothing to compress or share.
                start = d * files_per_device + n
                storage.write(key, block[start : start + file_bytes], content_type="image/jpeg")
                rows.append(
                    {
                        "device_id": device.id,
                        "kind": RecordingKind.IMAGE,
                        "captured_at": now - dt.timedelta(seconds=30 * n),
                        "content_type": "image/jpeg",
                        "size_bytes": file_bytes,
                        "storage_key": key,
                    }
                )
            db.session.execute(insert(Recording), rows)
        db.session.commit()


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """gunicorn with one threaded worker: a download streams for as long as it takes."""
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "webapp:create_app()",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).read()
            return server
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited")
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def reset_peak(pid: int) -> None:
    """Make the process's peak resident memory (VmHWM) its current one (Linux 4.0 and later).

    The peak of the worker's start (the app, the user-agent rules) is higher than a request
    needs: without the reset it would hide what a download adds.
    """
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def memory_kib(pid: int) -> dict[str, int]:
    """The process's resident memory now (VmRSS) and at its peak so far (VmHWM), in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(value.split()[0])
    return values


def download(url: str, cookie: str, target: Path) -> dict[str, float]:
    """Fetch *url* as a browser would, writing it to *target* a chunk at a time."""
    request = urllib.request.Request(url, headers={"Cookie": cookie, "User-Agent": PC})
    started = time.perf_counter()
    first_byte = None
    size = 0
    with urllib.request.urlopen(request, timeout=600) as answer, target.open("wb") as out:
        assert answer.status == 200, answer.status
        while chunk := answer.read(CHUNK):
            if first_byte is None:
                first_byte = time.perf_counter() - started
            out.write(chunk)
            size += len(chunk)
    seconds = time.perf_counter() - started
    return {
        "bytes": size,
        "seconds": round(seconds, 2),
        "first_byte_ms": round((first_byte or 0) * 1000, 1),
        "mb_per_s": round(size / 1e6 / seconds, 1),
    }


def check_zip(path: Path, entries: int) -> None:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if len(names) != entries or len(set(names)) != entries:
            raise RuntimeError(f"{path.name}: {len(names)} entries, expected {entries}")
        bad = archive.testzip()
        if bad is not None:
            raise RuntimeError(f"{path.name}: entry {bad} is corrupt")


def measure(env: dict[str, str], work: Path, files_per_device: int) -> dict[str, Any]:
    port = free_port()
    server = start_server(env, port)
    try:
        base = f"http://127.0.0.1:{port}"
        cookie = login(base)
        worker = worker_pid(server.pid)
        # One recording first, so that what every download uses once per process (the S3
        # client and its service description) is in place before memory is measured.
        device_id, recording_id = first_recording(env)
        one = f"{base}/devices/{device_id}/recordings/{recording_id}/download"
        download(one, cookie, work / "one.jpg")
        results: dict[str, Any] = {}
        device_zip = work / "device.zip"
        reset_peak(worker)
        results["worker_before_device_zip"] = memory_kib(worker)
        results["device_zip"] = download(
            f"{base}/devices/{device_id}/recordings.zip", cookie, device_zip
        )
        results["worker_after_device_zip"] = memory_kib(worker)
        check_zip(device_zip, files_per_device)
        device_zip.unlink()
        contract_zip = work / "contract.zip"
        reset_peak(worker)
        results["worker_before_contract_zip"] = memory_kib(worker)
        results["contract_zip"] = download(f"{base}/account/recordings.zip", cookie, contract_zip)
        results["worker_after_contract_zip"] = memory_kib(worker)
        check_zip(contract_zip, files_per_device * DEVICES)
        contract_zip.unlink()
        return results
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def first_recording(env: dict[str, str]) -> tuple[int, int]:
    """The first device and its first recording, as (device id, recording id)."""
    script = (
        "from sqlalchemy import select\n"
        "from webapp import create_app\n"
        "from webapp.extensions import db\n"
        "from webapp.models import Recording\n"
        "with create_app().app_context():\n"
        "    row = db.session.execute(select(Recording.device_id, Recording.id)"
        ".order_by(Recording.id).limit(1)).one()\n"
        "    print(row[0], row[1])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    device_id, recording_id = out.stdout.strip().splitlines()[-1].split()
    return int(device_id), int(recording_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024, help="size of all recordings")
    parser.add_argument("--file-kb", type=int, default=100, help="size of one recording")
    parser.add_argument("--storage", choices=["local", "s3"], default="local")
    args = parser.parse_args()

    file_bytes = args.file_kb * 1024
    files_per_device = max(1, args.megabytes * 1024 * 1024 // file_bytes // DEVICES)
    work = Path(tempfile.mkdtemp(prefix="portal-archive-bench-"))
    env = environment(work, "")
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, work, True)
        if args.storage == "s3":
            from tests.support.s3server import ACCESS_KEY, REGION, SECRET_KEY, running_s3_server

            s3 = stack.enter_context(running_s3_server())
            env.update(
                STORAGE_BACKEND="s3",
                S3_BUCKET=s3.new_bucket(),
                S3_ENDPOINT_URL=s3.endpoint_url,
                S3_REGION=REGION,
                AWS_ACCESS_KEY_ID=ACCESS_KEY,
                AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            )
        flask(env, "db", "upgrade")
        started = time.perf_counter()
        call = f"seed({DEVICES}, {files_per_device}, {file_bytes})"
        subprocess.run(
            [sys.executable, "-c", f"from bench.archive import seed; {call}"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        seeded = time.perf_counter() - started
        results = measure(env, work, files_per_device)

    figures = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "storage": args.storage,
        "recordings": files_per_device * DEVICES,
        "recording_bytes": file_bytes,
        "seeded_in_s": round(seeded, 1),
        **results,
        # How far the worker's peak rose above where it stood when the download began.
        "peak_rise_mib": {
            name: round(
                (
                    results[f"worker_after_{name}"]["VmHWM"]
                    - results[f"worker_before_{name}"]["VmRSS"]
                )
                / 1024,
                1,
            )
            for name in ("device_zip", "contract_zip")
        },
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
