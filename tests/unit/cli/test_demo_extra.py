"""An install without the demo extra (Faker, Pillow) serves and runs its commands.

Each check runs in a fresh interpreter in which importing the extra's packages fails, as
it does where they were never installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).parents[3]

WITHOUT_DEMO_EXTRA = """
import sys

class WithoutDemoExtra:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"faker", "PIL"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, WithoutDemoExtra())
"""

FLASK = """
from flask.cli import main
sys.argv = ["flask", "--app", "webapp", *sys.argv[1:]]
main()
"""


def run(tmp_path: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SECRET_KEY": "test-secret",
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "RECORDINGS_DIR": str(tmp_path / "recordings"),
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
    }
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_DEMO_EXTRA + code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_portal_starts(tmp_path: Path) -> None:
    started = run(
        tmp_path,
        """
for name in ("faker", "PIL.Image"):
    try:
        __import__(name)
    except ModuleNotFoundError:
        pass
    else:
        raise SystemExit(f"{name} was imported")
from webapp import create_app
app = create_app()
print(app.test_client().get("/login").status_code)
""",
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["200"]


def test_flask_lists_every_command(tmp_path: Path) -> None:
    listed = run(tmp_path, FLASK, "--help")
    assert listed.returncode == 0, listed.stderr
    for command in ("seed-demo", "fake-camera", "list-licences", "db"):
        assert f"  {command} " in listed.stdout


def test_the_other_commands_run(tmp_path: Path) -> None:
    listed = run(tmp_path, FLASK, "list-licences")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("key\tplan\t")


@pytest.mark.parametrize(
    "args",
    [
        ["seed-demo", "--devices", "1"],
        ["fake-camera", "--device-id", "1", "--secret", "s", "--count", "1"],
    ],
)
def test_the_demo_commands_say_what_to_install(tmp_path: Path, args: list[str]) -> None:
    refused = run(tmp_path, FLASK, *args)
    assert refused.returncode == 1
    assert f"Error: {args[0]} needs the portal's demo extra (Faker, Pillow)" in refused.stderr
    assert "pip install -e '.[demo]'" in refused.stderr
    assert "Traceback" not in refused.stderr
