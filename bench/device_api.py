"""Benchmark of the device API over loopback: heartbeats/s and uploads/s beside a bare endpoint.

    .venv/bin/python -m bench.device_api                  # 200 devices, SQLite
    .venv/bin/python -m bench.device_api --storage s3     # uploads into a local S3 server
    scripts/with-postgres .venv/bin/python -m bench.device_api --database-url "$TEST_DATABASE_URL"

gunicorn serves the portal; wrk sends heartbeats (each request from the next device, round
robin, with its own secret) and uploads of a 640x360 JPEG (each with a fresh Idempotency-Key),
then the database is checked: every upload wrk counted as answered 201 is a stored recording.
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
from pathlib import Path
from typing import Any

from bench.run import ROOT, environment, flask, free_port, run_wrk, start_server

EMAIL = "api-bench@example.com"
PASSWORD = "bench passphrase 2026"

# The devices whose plan records: a ライブ映像 device keeps only its newest image, so its
# uploads replace each other and could not all be found stored afterwards.
ISSUE_SECRETS = """
import json
from webapp import create_app
from webapp.enums import Plan
from webapp.extensions import db
from webapp.models import Device, Licence
from webapp.services.device_reports import issue_api_secret
app = create_app()
with app.app_context():
    devices = (
        db.session.query(Device)
        .join(Licence, Device.licence_id == Licence.id)
        .where(Licence.plan != Plan.LIVE)
        .order_by(Device.id)
        .all()
    )
    secrets = [{"id": d.id, "secret": issue_api_secret(d)} for d in devices]
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
-- Each wrk thread has its own Lua state: a global thread_id keeps their keys apart.
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
function request()
  counter = counter + 1
  local device = devices[(counter %% #devices) + 1]
  local headers = {["Authorization"] = "Bearer " .. device[2]}
  if body then
    headers["Content-Type"] = "image/jpeg"
    headers["Idempotency-Key"] = "bench-" .. thread_id .. "-" .. counter
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
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
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


def report(env: dict[str, str], work: Path, args: argparse.Namespace) -> int:
    """Seed, serve, load, check, and print the figures as JSON."""
    flask(env, "db", "upgrade")
    flask(
        env, "seed-demo", "--email", EMAIL, "--password", PASSWORD, "--devices", str(args.devices)
    )
    devices = json.loads(python(env, ISSUE_SECRETS))
    table = ", ".join(f'{{{d["id"]}, "{d["secret"]}"}}' for d in devices)
    from webapp.dev.fakecamera import draw_image

    image = draw_image(dt.datetime.now(dt.UTC), "BENCH")
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    scripts = {}
    for name, body in (("heartbeat", "nil"), ("upload", lua_string(image))):
        path = work / f"{name}.lua"
        path.write_text(WRK_SCRIPT % {"devices": table, "body": body, "now": now})
        scripts[name] = path

    port = free_port()
    server = start_server(env, port, args.workers)
    try:
        base = f"http://127.0.0.1:{port}"
        results = {
            "bare endpoint": run_wrk(f"{base}/_bench/bare", [], args.duration, args.connections),
            "heartbeat": run_wrk(
                base, ["-s", str(scripts["heartbeat"])], args.duration, args.connections
            ),
            "upload": run_wrk(
                base, ["-s", str(scripts["upload"])], args.duration, args.connections
            ),
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    stored = int(python(env, COUNT_RECORDINGS))

    bare = results["bare endpoint"]["rps"]
    figures: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": "postgresql" if args.database_url else "sqlite",
        "storage": args.storage,
        "devices": len(devices),
        "image_bytes": len(image),
        "http": {
            name: {**figures, "vs_bare": round(figures["rps"] / bare, 3)}
            for name, figures in results.items()
        },
        "uploads_stored": stored,
    }
    print(json.dumps(figures, indent=2))
    answered = results["upload"]["requests"] - results["upload"]["non_2xx"]
    # wrk counts requests it saw answered; a request cut off at the end may still be stored.
    if stored < answered:
        print(f"only {stored} of {answered:.0f} answered uploads are stored", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
