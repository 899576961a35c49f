"""Configuration from the environment: safe defaults, refusals in production."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from webapp import create_app
from webapp.config import ConfigError, load_config


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
