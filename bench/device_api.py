r"""Device API benchmark: heartbeats/s and uploads/s against a truly bare hello-world Flask app.

    make bench RUNS=3                                     # both benchmarks, SQLite, 3 runs each
    .venv/bin/python -m bench.device_api                  # 200 devices, SQLite, one run
    .venv/bin/python -m bench.device_api --runs 3         # three runs, then a summary per row
    .venv/bin/python -m bench.device_api --storage s3     # uploads into a local S3 server
    scripts/with-postgres sh -c \
        '.venv/bin/python -m bench.device_api --database-url "$TEST_DATABASE_URL"'

Denominator: every ratio ("vs hello") and every target is against `bench/hello.py`, a separate
hello-world Flask app (not the portal), served in the same run just before the portal by the
same gunicorn binary with the same options (2 sync workers on 127.0.0.1, a free port) and loaded
by wrk with the same settings (2 threads, 8 connections, --duration seconds, default 8). It is
measured again at the end of each run, only to show how much the machine's load moved.

gunicorn then serves the portal, and wrk sends heartbeats (round robin over all --devices
devices, 200 by default, each request from the next device with its own secret) and uploads
of a ~10 kB 640x360 JPEG (each with a fresh Idempotency-Key; round robin over the devices whose
plan records, since a ライブ映像 device keeps only its newest image). Afterwards the database is
checked: every upload wrk counted as answered is a stored recording, or the benchmark fails.
Targets (issue 17): heartbeats ≥ 0.50 of the hello app on SQLite (≥ 0.35 on PostgreSQL) with
p99 < 30 ms, uploads ≥ 0.30; a row with any non-2xx answer fails its targets. Also printed: the
devices one node carries at one heartbeat a minute (heartbeats/s x 60).

Figures vary with the machine's load: compare ratios measured in the same run, and take
several runs. Each run's figures are printed, and saved as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from bench.run import (
    HELLO,
    HELLO_AGAIN,
    ROOT,
    Target,
    environment,
    flask,
    hello_figures,
    print_run,
    print_summary,
    run_wrk,
    save,
    serving,
    warm_up,
    with_ratios,
)

EMAIL = "api-bench@example.com"
PASSWORD = "bench passphrase 2026"

# Every device gets a secret (heartbeats go round robin over all of them); "records" marks
# the devices whose plan keeps recordings: a ライブ映像 device keeps only its newest image,
# so its uploads replace each other and could not all be found stored afterwards.
ISSUE_SECRETS = """
import json
from webapp import create_app
from webapp.enums import Plan
from webapp.extensions import db
from webapp.models import Device, Licence
from webapp.services.device_reports import issue_api_secret
app = create_app()
with app.app_context():
    rows = (
        db.session.query(Device, Licence.plan)
        .join(Licence, Device.licence_id == Licence.id)
        .order_by(Device.id)
        .all()
    )
    secrets = [
        {"id": d.id, "secret": issue_api_secret(d), "records": plan != Plan.LIVE}
        for d, plan in rows
    ]
    db.session.commit()
print(json.dumps(secrets))
"""

COUNT_RECORDINGS = """
from sqlalchemy import func, select
from webapp import create_app
from webapp.extensions import db
from webapp.models import Recording
app = create_app()
with app.app_context():
    print(db.session.scalar(select(func.count()).select_from(Recording).where(
        Recording.idempotency_key.is_not(None))))
"""

WRK_SCRIPT = """
local devices = {%(devices)s}
local body = %(body)s
local counter = 0
local threads = 0
-- Each wrk thread has its own Lua state: a global thread_id keeps their keys apart, and an
-- offset of half the fleet keeps the two threads off the same device at the same moment
-- (in lockstep both would update one device's row at once, which no real fleet does).
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
  thread:set("offset", (threads - 1) * math.floor(#devices / 2))
end
function request()
  counter = counter + 1
  local device = devices[((counter + offset) %% #devices) + 1]
  local headers = {["Authorization"] = "Bearer " .. device[2]}
  if body then
    headers["Content-Type"] = "image/jpeg"
    headers["Idempotency-Key"] = "%(prefix)s-" .. thread_id .. "-" .. counter
    headers["X-Captured-At"] = "%(now)s"
    return wrk.format("POST", "/api/v1/devices/" .. device[1] .. "/recordings", headers, body)
  end
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/api/v1/devices/" .. device[1] .. "/heartbeat", headers,
    '{"recording": "continuous"}')
end
"""


def python(env: dict[str, str], script: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip().splitlines()[-1]


def lua_string(data: bytes) -> str:
    return '"' + "".join(f"\\{byte}" for byte in data) + '"'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--runs", type=int, default=1, help="measurements of the same database")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp folder")
    parser.add_argument("--storage", choices=["local", "s3"], default="local")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="portal-api-bench-"))
    env = {**environment(work, args.database_url), "DEVICE_API_RATE_LIMIT": "1000000 per minute"}
    with contextlib.ExitStack() as stack:
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
        stack.callback(shutil.rmtree, work, True)
        return report(env, work, args)


def lua_table(devices: list[dict[str, Any]]) -> str:
    return ", ".join(f'{{{d["id"]}, "{d["secret"]}"}}' for d in devices)


def prime_heartbeats(base: str, devices: list[dict[str, Any]]) -> None:
    """One heartbeat from each device, unmeasured, checked to answer 200.

    The seeded devices' first heartbeat changes their status (and mails it): a one-off, not
    the steady state of a fleet that is measured; it also proves every secret works.
    """
    started = time.perf_counter()
    for device in devices:
        request = urllib.request.Request(
            f"{base}/api/v1/devices/{device['id']}/heartbeat",
            data=b'{"recording": "continuous"}',
            headers={
                "Authorization": f"Bearer {device['secret']}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request) as response:
            if response.status != 200:
                raise RuntimeError(f"device {device['id']}: heartbeat answered {response.status}")
    took = time.perf_counter() - started
    print(f"first heartbeat of each of {len(devices)} devices (unmeasured): {took:.1f} s")


def one_run(
    env: dict[str, str],
    work: Path,
    args: argparse.Namespace,
    devices: list[dict[str, Any]],
    image: bytes,
    prime: bool,
) -> dict[str, dict[str, float]]:
    """The hello app, then the portal's heartbeats and uploads; count the uploads stored."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    heartbeat_table = lua_table(devices)
    upload_table = lua_table([d for d in devices if d["records"]])

    def script(kind: str) -> list[str]:
        """A wrk script; uploads get Idempotency-Keys no other wrk run has used."""
        path = work / f"{kind}-{uuid.uuid4().hex}.lua"
        table, body = (
            (upload_table, lua_string(image)) if kind == "upload" else (heartbeat_table, "nil")
        )
        prefix = f"bench-{uuid.uuid4().hex[:12]}"
        path.write_text(WRK_SCRIPT % {"devices": table, "body": body, "now": now, "prefix": prefix})
        return ["-s", str(path)]

    hello = hello_figures(env, args)
    http = {HELLO: hello}
    with serving(env, args.workers) as base:
        if prime:
            prime_heartbeats(base, devices)
        warm_up(base, script("heartbeat"))
        http["heartbeat"] = run_wrk(base, script("heartbeat"), args.duration, args.connections)
        warm_up(base, script("upload"))
        before = int(python(env, COUNT_RECORDINGS))
        http["upload"] = run_wrk(base, script("upload"), args.duration, args.connections)
    stored = int(python(env, COUNT_RECORDINGS)) - before
    http[HELLO_AGAIN] = hello_figures(env, args)
    with_ratios(http, hello)
    http["upload"]["stored"] = stored
    return http


def report(env: dict[str, str], work: Path, args: argparse.Namespace) -> int:
    """Seed, then for each run serve, load and check; print each run and a summary."""
    flask(env, "db", "upgrade")
    flask(
        env, "seed-demo", "--email", EMAIL, "--password", PASSWORD, "--devices", str(args.devices)
    )
    devices = json.loads(python(env, ISSUE_SECRETS))
    if len(devices) != args.devices:
        raise RuntimeError(f"{len(devices)} devices have secrets, not {args.devices}")
    from webapp.dev.fakecamera import draw_image

    image = draw_image(dt.datetime.now(dt.UTC), "BENCH")
    database = "postgresql" if args.database_url else "sqlite"
    targets = {
        "heartbeat": [
            Target("vs_hello", 0.35 if database == "postgresql" else 0.50),
            Target("p99_ms", 30),
        ],
        "upload": [Target("vs_hello", 0.30)],
    }
    figures: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": database,
        "storage": args.storage,
        "devices": len(devices),
        "heartbeat_devices": len(devices),
        "upload_devices": sum(d["records"] for d in devices),
        "image_bytes": len(image),
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "denominator": "bench/hello.py, a separate hello-world Flask app",
        "runs": [],
    }
    heading = (
        f"{database}, {args.storage} storage: heartbeats round robin over {len(devices)} devices,"
        f" uploads of a {len(image):,}-byte JPEG over {figures['upload_devices']};"
        f" gunicorn {args.workers} sync workers, wrk 2 threads {args.connections} connections"
        f" {args.duration} s; ratios against the hello app measured in the same run"
    )
    failed = ""
    for number in range(1, args.runs + 1):
        http = one_run(env, work, args, devices, image, prime=number == 1)
        figures["runs"].append(http)
        print()
        print(f"run {number} of {args.runs}: {heading}")
        print_run(http, targets)
        beats = http["heartbeat"]["rps"]
        print(f"devices one node carries at one heartbeat a minute: {beats * 60:,.0f}")
        upload = http["upload"]
        answered = upload["requests"] - upload["non_2xx"]
        print(f"uploads stored: {upload['stored']:.0f} of {answered:.0f} answered with 2xx")
        # wrk counts the requests it saw answered; one cut off at the end may still be stored.
        if upload["stored"] < answered:
            failed = f"only {upload['stored']:.0f} of {answered:.0f} answered uploads are stored"
            break
    if len(figures["runs"]) > 1:
        print()
        print_summary(figures["runs"], targets)
        carried = " / ".join(f"{run['heartbeat']['rps'] * 60:,.0f}" for run in figures["runs"])
        print(f"  devices one node carries at one heartbeat a minute: {carried}")
    if failed:
        figures["failed"] = failed
    out = save(figures, f"device-api-{database}-{args.storage}")
    print(f"saved {out.relative_to(ROOT)}")
    if failed:
        print(f"FAILED, UPLOADS LOST: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
