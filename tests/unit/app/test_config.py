"""Configuration from the environment: safe defaults, refusals in production."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from webapp import create_app
from webapp.config import ConfigError, load_config

ROOT = Path(__file__).parents[3]


def test_development_generates_and_keeps_its_secrets(tmp_path: Path) -> None:
    first = load_config(tmp_path)
    second = load_config(tmp_path)
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert len(str(first["SECRET_KEY"])) >= 64
    assert first["ENCRYPTION_KEYS"] == second["ENCRYPTION_KEYS"]
    for name in ("secret_key", "encryption_key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_defaults_live_in_the_instance_folder(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert config["RECORDINGS_DIR"] == (tmp_path / "recordings").resolve()
    assert config["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ENCRYPTION_KEYS", "PORTAL_BASE_URL"])
def test_production_refuses_to_start_without_its_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 64)
    monkeypatch.setenv("ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.example.jp")
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=missing):
        load_config(tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_production_takes_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 64)
    monkeypatch.setenv("ENCRYPTION_KEYS", f"{new}, {old}")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@127.0.0.1/portal")
    monkeypatch.setenv("RECORDINGS_DIR", str(tmp_path / "rec"))
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.example.jp")
    config = load_config(tmp_path)
    assert config["SECRET_KEY"] == "k" * 64
    assert config["ENCRYPTION_KEYS"] == [new, old]
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@127.0.0.1/portal"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["RECORDINGS_DIR"] == (tmp_path / "rec").resolve()


def test_a_malformed_number_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVICES_PER_PAGE", "fifty")
    with pytest.raises(ConfigError, match="DEVICES_PER_PAGE"):
        load_config(tmp_path)


def test_a_malformed_encryption_key_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENCRYPTION_KEYS", "not-a-key")
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS"):
        create_app(instance_path=tmp_path)


def test_old_encryption_keys_still_decrypt(tmp_path: Path) -> None:
    from webapp.crypto import FieldCipher

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = FieldCipher([old]).encrypt("camera-pass")
    assert FieldCipher([new, old]).decrypt(token) == "camera-pass"


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, "http://127.0.0.1:5000"),
        (None, "5077", "http://127.0.0.1:5077"),
        ("192.0.2.5", "8080", "http://192.0.2.5:8080"),
        ("0.0.0.0", "5077", "http://127.0.0.1:5077"),
        ("::1", "5077", "http://[::1]:5077"),
    ],
)
def test_links_name_the_address_the_portal_is_run_on(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    host: str | None,
    port: str | None,
    expected: str,
) -> None:
    """Without PORTAL_BASE_URL, links (mails, 接続先URL) follow `flask run`'s host and port."""
    for name, value in (("FLASK_RUN_HOST", host), ("FLASK_RUN_PORT", port)):
        if value is not None:
            monkeypatch.setenv(name, value)
    assert load_config(tmp_path)["PORTAL_BASE_URL"] == expected


def test_a_set_base_url_wins_over_the_address_run_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_RUN_PORT", "5077")
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.example.jp")
    assert load_config(tmp_path)["PORTAL_BASE_URL"] == "https://portal.example.jp"


def test_make_run_hands_its_host_and_port_to_the_run_script() -> None:
    """What `make run PORT=5077` would run (-n), every command of the portal made `true`."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    planned = subprocess.run(
        ["make", "-n", "--no-print-directory", "run", "PORT=5077", "FLASK=true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert planned[-1] == "scripts/run-demo 127.0.0.1 5077 demo@example.com"


# Stands in for .venv/bin/flask: notes its arguments and, for `run`, the base URL that the
# portal it would serve derives from its environment. `run` notes itself once the helpers
# started before it have, as the script stops them when `run` ends.
FAKE_FLASK = textwrap.dedent(
    """\
    #!{python}
    import json, sys, time
    from pathlib import Path
    args = sys.argv[1:]
    note = {{"args": args}}
    calls = Path("calls.jsonl")
    if "run" in args:
        from webapp.config import load_config
        note["base_url"] = load_config(Path("instance"))["PORTAL_BASE_URL"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if calls.exists() and len(calls.read_text().splitlines()) >= 2:
                break
            time.sleep(0.05)
    with calls.open("a") as out:
        out.write(json.dumps(note) + "\\n")
    """
)


@pytest.mark.parametrize(
    ("set_base_url", "expected"),
    [(None, "http://127.0.0.1:5077"), ("https://portal.example.jp", "https://portal.example.jp")],
)
def test_the_run_script_serves_and_links_on_the_port_it_is_given(
    tmp_path: Path, set_base_url: str | None, expected: str
) -> None:
    """scripts/run-demo HOST PORT: the server and the camera use the port, and so do links."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run-demo", tmp_path / "scripts" / "run-demo")
    fake = tmp_path / ".venv" / "bin" / "flask"
    fake.parent.mkdir(parents=True)
    fake.write_text(FAKE_FLASK.format(python=sys.executable))
    fake.chmod(0o755)
    (tmp_path / "instance").mkdir()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PORTAL_BASE_URL", "FLASK_RUN_HOST", "FLASK_RUN_PORT"}
    }
    env["PYTHONPATH"] = str(ROOT)
    if set_base_url:
        env["PORTAL_BASE_URL"] = set_base_url

    subprocess.run(
        ["bash", "scripts/run-demo", "127.0.0.1", "5077", "demo@example.com"],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=60,
    )

    calls = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    served = next(call for call in calls if "run" in call["args"])
    assert served["args"][-4:] == ["--host", "127.0.0.1", "--port", "5077"]
    assert served["base_url"] == expected
    camera = next(call for call in calls if "fake-camera" in call["args"])
    assert "http://127.0.0.1:5077" in camera["args"]
