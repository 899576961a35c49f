"""機器一覧 benchmark: the portal's pages against a truly bare hello-world Flask app, SQL
statements per request, partial against page bytes, and a large deletion.

    make bench RUNS=3                                   # both benchmarks, SQLite, 3 runs each
    .venv/bin/python -m bench.run                       # 5,000 devices, SQLite, one run
    .venv/bin/python -m bench.run --runs 3              # three runs, then a summary per row
    .venv/bin/python -m bench.run --scale 1000000       # the same, in a table of a million
    scripts/with-postgres sh -c '.venv/bin/python -m bench.run --database-url "$TEST_DATABASE_URL"'

Denominator: every ratio ("vs hello") and every target is against `bench/hello.py`, a separate
hello-world Flask app (not the portal), served in the same run just before the portal by the
same gunicorn binary with the same options (2 sync workers on 127.0.0.1, a free port) and loaded
by wrk with the same settings (2 threads, 8 connections, --duration seconds, default 8). It is
measured again at the end of each run, only to show how much the machine's load moved.
`/_bench/bare` (bench/app.py, an endpoint of the portal that loads the login session) is a
second reference row, never a denominator. Targets (issue 17): 機器一覧 page 1 of the
5,000-device contract ≥ 0.20 of the hello app, its search partial ≥ 0.30; a row with any
non-2xx answer, timeout or socket error fails its targets.

Figures vary with the machine's load: compare ratios measured in the same run, and take
several runs. Each run's figures are printed, and saved as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
EMAIL = "bench@example.com"
PASSWORD = "bench passphrase 2026"
SMALL_EMAIL = "small@example.com"
HELLO_APP = "bench.hello:app"
PORTAL_APP = "bench.app:create_bench_app()"
HELLO = "hello app (bare Flask)"
# The hello app once more at the end of a run: not a denominator, a measure of the noise
# (how much the machine's load moved while the portal was measured).
HELLO_AGAIN = "hello app again (noise)"
PC = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"


def environment(work: Path, database_url: str) -> dict[str, str]:
    """The portal's settings for a benchmark in *work* (SQLite there unless a URL is given)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url or f"sqlite:///{work / 'bench.sqlite3'}",
        "SECRET_KEY": "bench-secret",
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "RECORDINGS_DIR": str(work / "recordings"),
        "PORTAL_BASE_URL": "http://127.0.0.1",
        "MAIL_OUTBOX_DIR": str(work / "outbox"),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def flask(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "webapp", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def seed_scale(env: dict[str, str], total_devices: int, per_contract: int) -> float:
    """Fill the device table to *total_devices* with other contracts (rows only, no files)."""
    script = f"""
import datetime as dt, sys, time
from sqlalchemy import insert, select, func
from webapp import create_app
from webapp.database import refresh_planner_statistics
from webapp.extensions import db
from webapp.models import Contract, Device, Licence
from webapp.services.licences import new_licence_key
from webapp.enums import DeviceKind, LicenceState, Plan, CommStatus, RecordingStatus, ServiceStatus
app = create_app()
started = time.perf_counter()
with app.app_context():
    have = db.session.scalar(select(func.count(Device.id)))
    missing = {total_devices} - have
    today = dt.date.today()
    serial = 0
    while missing > 0:
        batch = min({per_contract}, missing)
        contract = Contract(name="scale")
        db.session.add(contract)
        db.session.flush()
        licences = [dict(key=new_licence_key(), contract_id=contract.id, plan=Plan.LIVE,
                         starts_on=today, ends_on=today + dt.timedelta(days=364),
                         state=LicenceState.IN_USE) for _ in range(batch)]
        ids = list(db.session.scalars(
            insert(Licence).returning(Licence.id, sort_by_parameter_order=True), licences))
        rows = []
        for licence_id in ids:
            serial += 1
            rows.append(dict(contract_id=contract.id, licence_id=licence_id, kind=DeviceKind.CAMERA,
                             name=f"scale {{serial:07d}}", model="WV-S1131",
                             mac=f"02{{serial:010X}}", domain=f"s{{serial:07d}}.scale.invalid",
                             comm_status=CommStatus.ONLINE,
                             recording_status=RecordingStatus.CONTINUOUS,
                             service_status=ServiceStatus.ACTIVE))
        db.session.execute(insert(Device), rows)
        db.session.commit()
        missing -= batch
    refresh_planner_statistics(db.engine)
print(round(time.perf_counter() - started, 1))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def start_server(
    env: dict[str, str], port: int, workers: int, app: str = PORTAL_APP
) -> subprocess.Popen[bytes]:
    """Serve *app* (the portal, or the hello app) with gunicorn: the same binary and options."""
    server = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if server.poll() is not None:
                raise RuntimeError("gunicorn exited") from None
            time.sleep(0.2)
    else:
        raise RuntimeError("gunicorn did not start")
    # The socket accepts as soon as the arbiter has bound it, while the workers may still be
    # importing the app (seconds under load): wait for a first answer, whatever its status,
    # so that no worker's start falls into a warm-up or a measurement.
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60):
            pass
    except urllib.error.HTTPError:
        pass
    return server


def login(base: str) -> str:
    """Log in like a browser and return the session cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", PC)]
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    data = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    opener.open(f"{base}/login", data=data.encode()).read()
    cookie = next(c for c in jar if c.name == "portal_session")
    return f"portal_session={cookie.value}"


def htmx_headers(target: str | None) -> dict[str, str]:
    """What htmx sends for a swap into the element *target* (no htmx at all for None)."""
    return {"HX-Request": "true", "HX-Target": target} if target else {}


def wrk(
    url: str, cookie: str, duration: int, connections: int, target: str | None
) -> dict[str, float]:
    headers = ["-H", f"Cookie: {cookie}"]
    for header, value in htmx_headers(target).items():
        headers += ["-H", f"{header}: {value}"]
    return run_wrk(url, headers, duration, connections)


def run_wrk(url: str, options: list[str], duration: int, connections: int) -> dict[str, float]:
    """Load *url* with wrk (plus *options*: headers, a script) and read its figures."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", *options, url]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\b", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    # Requests that timed out (wrk waits 2 s) or whose connection failed: not counted above.
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": rps,
        "requests": float(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": float(sum(map(int, sockets.groups()))) if sockets else 0.0,
        "timeouts": float(sockets.group(4)) if sockets else 0.0,
    }


@contextlib.contextmanager
def serving(env: dict[str, str], workers: int, app: str = PORTAL_APP) -> Iterator[str]:
    """Serve *app* with gunicorn on a free loopback port for the time of the block."""
    port = free_port()
    server = start_server(env, port, workers, app)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def expect_ok(url: str, headers: dict[str, str]) -> None:
    """Fail unless *url* answers 200 itself: wrk does not count a 3xx (a login redirect)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers)) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != 200:
        raise RuntimeError(f"{url} answered {status}, not 200")


def warm_up(url: str, options: list[str]) -> None:
    """Two seconds of light load that are not measured: every worker has done its first
    requests (lazy imports, compiled templates, connections) before the measurement.

    Two connections, not the measurement's: gunicorn still answers the requests wrk leaves
    queued when it stops, and a long queue of slow first requests would spill over into the
    measured run (as timeouts) instead of being absorbed here.
    """
    run_wrk(url, options, 2, 2)


def hello_figures(env: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    """Serve and load the bare hello-world app (bench/hello.py): the denominator."""
    with serving(env, args.workers, HELLO_APP) as base:
        expect_ok(base + "/", {})
        warm_up(base + "/", [])
        return run_wrk(base + "/", [], args.duration, args.connections)


@dataclass(frozen=True)
class Target:
    """A goal of one row: *figure* (vs_hello or p99_ms) at least or under *bound*."""

    figure: str
    bound: float

    def met(self, figures: dict[str, float]) -> bool:
        if figures.get("non_2xx") or figures.get("socket_errors") or not figures["requests"]:
            return False
        value = figures[self.figure]
        return value < self.bound if self.figure.endswith("_ms") else value >= self.bound

    def __str__(self) -> str:
        if self.figure.endswith("_ms"):
            return f"{self.figure.removesuffix('_ms')} < {self.bound:g} ms"
        return f"≥ {self.bound:.2f} of hello"


def with_ratios(http: dict[str, dict[str, float]], hello: dict[str, float]) -> None:
    for figures in http.values():
        figures["vs_hello"] = round(figures["rps"] / hello["rps"], 3)


def print_run(http: dict[str, dict[str, float]], targets: dict[str, list[Target]]) -> None:
    """One run's rows: req/s, ratio to the hello app, latency, and each target met or not."""
    print(f"{'':24} {'req/s':>8} {'vs hello':>9} {'p50 ms':>8} {'p99 ms':>8}  target")
    for name, f in http.items():
        verdicts = [f"{t}: {'met' if t.met(f) else 'NOT MET'}" for t in targets.get(name, [])]
        print(
            f"{name:24} {f['rps']:8.0f} {f['vs_hello']:9.3f} {f['p50_ms']:8.2f} {f['p99_ms']:8.2f}"
            + ("  " + "; ".join(verdicts) if verdicts else "")
            + (f"  ({int(f['non_2xx'])} non-2xx answers)" if f["non_2xx"] else "")
            + (f"  ({int(f['socket_errors'])} failed, > 2 s or cut)" if f["socket_errors"] else "")
        )


def print_summary(
    runs: list[dict[str, dict[str, float]]], targets: dict[str, list[Target]]
) -> None:
    """A line per row with every run's values, their median, and in how many runs a target held."""
    print(f"summary of {len(runs)} runs (each run's value, then the median):")
    for name in runs[0]:
        rows = [run[name] for run in runs]

        def values(figure: str, form: str, rows: list[dict[str, float]] = rows) -> str:
            each = [row[figure] for row in rows]
            return (
                " / ".join(format(v, form) for v in each)
                + f" (median {statistics.median(each):{form}})"
            )

        line = f"  {name:24} req/s {values('rps', '.0f')}; vs hello {values('vs_hello', '.3f')}"
        line += f"; p99 ms {values('p99_ms', '.1f')}"
        for target in targets.get(name, []):
            held = sum(target.met(row) for row in rows)
            line += f"; {target}: met in {held}/{len(rows)} runs"
        errors = sum(int(row["non_2xx"]) for row in rows)
        if errors:
            line += f"; {errors} non-2xx answers"
        failures = sum(int(row["socket_errors"]) for row in rows)
        if failures:
            line += f"; {failures} failed requests"
        print(line)


def save(report: dict[str, Any], name: str) -> Path:
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    stamp = report["when"].replace(":", "")
    out = results / f"{stamp}-{name}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return out


def in_process(env: dict[str, str]) -> dict[str, Any]:
    """SQL statements per request, bytes of partials, and a 10,000-recording deletion."""
    script = r"""
import json, os, re, time
from sqlalchemy import event, select, insert
from webapp import create_app, storage
from webapp.extensions import db
from webapp.models import Device, Recording, User
from webapp.enums import RecordingKind
from webapp.models import utcnow
from webapp.services.devices import delete_device

app = create_app({"WTF_CSRF_ENABLED": False})
PC = os.environ["BENCH_UA"]
counts = {"n": 0}
results = {"sql": {}, "bytes": {}}

def htmx_headers(target):
    return {"HX-Request": "true", "HX-Target": target} if target else {}

def login(email):
    client = app.test_client()
    client.post("/login", data={"email": email, "password": os.environ["BENCH_PASSWORD"]},
                headers={"User-Agent": PC})
    return client

with app.app_context():
    @event.listens_for(db.engine, "before_cursor_execute")
    def count(*args, **kwargs):
        counts["n"] += 1
    def device_of(email):
        user = db.session.scalar(select(User).where(User.email == email))
        return db.session.scalar(select(Device.id).where(Device.contract_id == user.contract_id))
    targets = {}
    for label, email in (
        ("small", os.environ["BENCH_SMALL"]), ("large", os.environ["BENCH_EMAIL"])
    ):
        device_id = device_of(email)
        targets[label] = (email, device_id)

for label, (email, device_id) in targets.items():
    client = login(email)
    client.get("/")  # warm: the session's last_seen and the terms version are cached
    for name, path, target in (
        ("portal", "/", None),
        ("list page 1", "/devices", None),
        ("search partial", "/devices?name=0001", "device-rows"),
        ("detail tab partial", f"/devices/{device_id}/licence", "device-panel"),
    ):
        counts["n"] = 0
        response = client.get(path, headers=htmx_headers(target))
        assert response.status_code == 200, (path, response.status_code)
        results["sql"].setdefault(name, {})[label] = counts["n"]

client = login(os.environ["BENCH_EMAIL"])
_, device_id = targets["large"]
for name, path, target in (
    ("search partial", "/devices?name=0001", "device-rows"),
    ("list partial", "/devices?page=2", "device-rows"),
    ("detail tab partial", f"/devices/{device_id}/licence", "device-panel"),
):
    full = len(client.get(path).data)
    part = len(client.get(path, headers=htmx_headers(target)).data)
    results["bytes"][name] = {"partial": part, "page": full, "ratio": round(part / full, 3)}

with app.app_context():
    device = db.session.get(Device, device_id)
    prefix = storage.device_prefix(device.contract_id, device.id)
    now = utcnow()
    rows = []
    for n in range(10_000):
        key = f"{prefix}/bulk-{n:05d}.bin"
        storage.write(key, b"x" * 64)
        rows.append(dict(device_id=device.id, kind=RecordingKind.IMAGE, captured_at=now,
                         content_type="image/png", size_bytes=64, storage_key=key))
    db.session.execute(insert(Recording), rows)
    db.session.commit()
    device = db.session.get(Device, device_id)
    started = time.perf_counter()
    delete_device(device)
    results["delete_10000_recordings_s"] = round(time.perf_counter() - started, 3)
print(json.dumps(results))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **env,
            "BENCH_UA": PC,
            "BENCH_PASSWORD": PASSWORD,
            "BENCH_EMAIL": EMAIL,
            "BENCH_SMALL": SMALL_EMAIL,
        },
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


TARGETS = {
    "list page 1": [Target("vs_hello", 0.20)],
    "search partial": [Target("vs_hello", 0.30)],
}


def serve_and_load(env: dict[str, str], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """One run: the hello app first, then the seeded portal's pages, each loaded with wrk."""
    hello = hello_figures(env, args)
    http = {HELLO: hello}
    with serving(env, args.workers) as base:
        cookie = login(base)
        detail_id = re.search(  # a device of the measured contract
            r'href="/devices/(\d+)',
            urllib.request.urlopen(
                urllib.request.Request(f"{base}/devices", headers={"Cookie": cookie})
            )
            .read()
            .decode(),
        ).group(1)  # type: ignore[union-attr]
        targets = [
            # An endpoint of the portal that loads the session: a reference, not a denominator.
            ("portal /_bench/bare", "/_bench/bare", None),
            ("portal", "/", None),
            ("list page 1", "/devices", None),
            # The htmx targets of the search form and the pager, and of 機器情報's tabs.
            ("search partial", "/devices?name=0001", "device-rows"),
            ("detail tab partial", f"/devices/{detail_id}/licence", "device-panel"),
        ]
        for name, path, target in targets:
            expect_ok(base + path, {"Cookie": cookie, **htmx_headers(target)})
            headers = [f"{key}: {value}" for key, value in htmx_headers(target).items()]
            options = [o for h in [f"Cookie: {cookie}", *headers] for o in ("-H", h)]
            warm_up(base + path, options)
            http[name] = wrk(base + path, cookie, args.duration, args.connections, target)
    http[HELLO_AGAIN] = hello_figures(env, args)
    with_ratios(http, hello)
    return http


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--devices", type=int, default=5000, help="devices of the measured contract"
    )
    parser.add_argument("--scale", type=int, default=0, help="fill the table to this many devices")
    parser.add_argument("--per-contract", type=int, default=100, help="devices per scale contract")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--runs", type=int, default=1, help="measurements of the same database")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp folder")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()

    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    env = environment(work, args.database_url)
    report: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": env["DATABASE_URL"].split(":", 1)[0].split("+")[0],
        "devices": args.devices,
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "denominator": "bench/hello.py, a separate hello-world Flask app",
    }
    started = time.perf_counter()
    print(
        flask(
            env,
            "seed-demo",
            "--email",
            EMAIL,
            "--password",
            PASSWORD,
            "--devices",
            str(args.devices),
            "--seed",
            "1",
        )
    )
    report["seed_s"] = round(time.perf_counter() - started, 1)
    flask(env, "seed-demo", "--email", SMALL_EMAIL, "--password", PASSWORD, "--devices", "10")
    if args.scale:
        # The same figures before the table grows, so that the growth is measured in one run.
        report["before_scale"] = serve_and_load(env, args)
        report["scale_devices"] = args.scale
        report["scale_seed_s"] = seed_scale(env, args.scale, args.per_contract)
        print(f"table filled to {args.scale} devices in {report['scale_seed_s']} s")
    heading = (
        f"{report['database']}, 機器一覧 of {args.devices} devices"
        + (f" in a table of {args.scale}" if args.scale else "")
        + f", gunicorn {args.workers} sync workers, wrk 2 threads {args.connections} connections"
        f" {args.duration} s; ratios against the hello app measured in the same run"
    )
    report["runs"] = []
    for number in range(1, args.runs + 1):
        http = serve_and_load(env, args)
        report["runs"].append(http)
        print()
        print(f"run {number} of {args.runs}: {heading}")
        print_run(http, TARGETS)
    report.update(in_process(env))

    print()
    if args.runs > 1:
        print_summary(report["runs"], TARGETS)
    if args.scale:
        last = report["runs"][-1]
        print(f"p50 latency in a table of {args.scale} against {args.devices + 10} devices:")
        for name, f in last.items():
            before = report["before_scale"][name]
            print(
                f"  {name:24} {f['p50_ms']:.2f} / {before['p50_ms']:.2f} ms"
                f" = {f['p50_ms'] / before['p50_ms']:.2f}x"
            )
    print("SQL statements per request (10 devices / this contract):")
    for name, by in report["sql"].items():
        print(f"  {name:22} {by['small']} / {by['large']}")
    print("partial bytes against the whole page:")
    for name, b in report["bytes"].items():
        print(f"  {name:22} {b['partial']} / {b['page']} = {b['ratio']:.0%}")
    print(f"deleting a device with 10,000 recordings: {report['delete_10000_recordings_s']} s")

    out = save(report, f"list-{report['database']}-{args.scale or args.devices}")
    print(f"saved {out.relative_to(ROOT)}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
