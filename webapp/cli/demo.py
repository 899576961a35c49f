"""Commands for demos and development: demo data, and a fake camera.

They use webapp/dev/, whose dependencies come with the ``demo`` extra: a production
install without it serves and runs every other command, and these say what is missing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..database import refresh_planner_statistics
from ..extensions import db
from ..services.device_reports import replace_api_secret
from .base import EMAIL, ensure_schema, portal_command

# The packages of the demo extra, by the name they are imported as.
DEMO_EXTRA = {"faker": "Faker", "PIL": "Pillow"}


@contextmanager
def demo_extra(command: str) -> Iterator[None]:
    """Turn a missing package of the demo extra into a message that says what to install."""
    try:
        yield
    except ModuleNotFoundError as error:
        package = DEMO_EXTRA.get((error.name or "").partition(".")[0])
        if package is None:
            raise
        raise click.ClickException(
            f"{command} needs the portal's demo extra ({', '.join(DEMO_EXTRA.values())}), "
            f"and {package} is missing: install it with pip install -e '.[demo]' (make setup does)"
        ) from error


@portal_command("seed-demo")
@click.option("--email", type=EMAIL, default="demo@example.com", show_default=True)
@click.option("--password", default="demo-pass-2026", show_default=True)
@click.option("--devices", default=12, show_default=True, type=click.IntRange(0, 1_000_000))
@click.option("--seed", type=int, help="Random seed, for repeatable data.")
def seed_demo_command(email: str, password: str, devices: int, seed: int | None) -> None:
    """Create (or replace) a demo contract with DEVICES devices."""
    with demo_extra("seed-demo"):
        from ..dev.demo import seed_demo
    started = time.perf_counter()
    result = seed_demo(email, password, devices, seed=seed)
    refresh_planner_statistics(db.engine)
    click.echo(
        f"Demo contract {result.contract_id}: {result.devices} devices, "
        f"{result.recordings} recordings in {time.perf_counter() - started:.1f} s. "
        f"Log in as {email} / {password}"
    )


# Not a portal command: with --device-id and --secret the camera speaks only HTTP, to a
# portal that may be elsewhere, and leaves the local database alone.
@click.command("fake-camera")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True)
@click.option("--device-id", type=int, help="The device to act as (with --secret).")
@click.option("--secret", help="Its API secret, as shown at 機器登録 or 機器設定.")
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the secret from this file, again before every round: put a new secret "
    "there to set the camera up with it. With --demo-email, the secret issued is written there.",
)
@click.option(
    "--demo-email",
    help="Instead: act as the first camera of this contractor's contract, with a new "
    "secret issued here (demos).",
)
@click.option("--interval", default=10.0, show_default=True, type=click.FloatRange(0.1))
@click.option("--count", type=click.IntRange(1), help="Stop after this many rounds.")
@with_appcontext
def fake_camera_command(
    base_url: str,
    device_id: int | None,
    secret: str | None,
    secret_file: Path | None,
    demo_email: str | None,
    interval: float,
    count: int | None,
) -> None:
    """Pretend to be a camera: a heartbeat and a generated image every INTERVAL seconds."""
    with demo_extra("fake-camera"):
        from ..dev.demo import demo_camera
        from ..dev.fakecamera import ApiError, FakeCamera
    if demo_email:
        ensure_schema()
        device = demo_camera(demo_email)
        if device is None:
            raise click.ClickException(f"no camera in the contract of {demo_email}")
        device_id, secret = device.id, replace_api_secret(device)
        db.session.remove()
        if secret_file is not None:
            _write_secret(secret_file, secret)
    elif secret is None and secret_file is not None:
        secret = _read_secret(secret_file)
    if device_id is None or not secret:
        raise click.ClickException(
            "give --device-id and --secret (or --secret-file), or --demo-email"
        )
    camera = FakeCamera(base_url, device_id, secret, secret_file=secret_file)
    click.echo(f"fake camera {device_id} reporting to {base_url} every {interval:g} s")
    try:
        camera.run(interval=interval, count=count, log=click.echo)
    except ApiError as error:
        raise click.ClickException(f"the portal refused camera {device_id}: {error}") from error
    except KeyboardInterrupt:
        pass
    click.echo(f"{camera.sent['heartbeats']} heartbeat(s), {camera.sent['uploads']} upload(s)")


def _write_secret(path: Path, secret: str) -> None:
    """Keep the camera's secret in *path*, readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secret + "\n")


def _read_secret(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise click.ClickException(f"cannot read the secret file: {error}") from error


COMMANDS = (seed_demo_command, fake_camera_command)
