"""Configuration read from the environment, with safe development defaults."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from exc


def _instance_secret(instance_path: Path, filename: str, make: Callable[[], str]) -> str:
    """Return a secret kept in the instance folder, creating it (mode 0600) on first use.

    Development only: a production deployment sets the variable, so every process
    behind the load balancer shares it.
    """
    path = instance_path / filename
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    instance_path.mkdir(parents=True, exist_ok=True)
    value = make()
    # O_EXCL: two processes starting together must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


STORAGE_BACKENDS = ("local", "s3")


def check_storage(config: Mapping[str, Any]) -> None:
    """Refuse a recording storage configuration that cannot work."""
    backend = config.get("STORAGE_BACKEND", "local")
    if backend not in STORAGE_BACKENDS:
        raise ConfigError(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}")
    if backend == "s3" and not config.get("S3_BUCKET"):
        raise ConfigError("STORAGE_BACKEND=s3 requires S3_BUCKET (the bucket for recordings)")


def _text(name: str) -> str | None:
    """Return a variable's value, or None when it is unset or blank."""
    return (os.environ.get(name) or "").strip() or None


def _time_zone(name: str) -> str:
    """The IANA name of a time zone, refused at start when it names none."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = (os.environ.get(name) or "").strip() or "Asia/Tokyo"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"{name} must name a time zone such as Asia/Tokyo, not {value!r}"
        ) from exc
    return value


# Addresses that mean "every interface of this machine": links name one that reaches it.
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::"})


def _served_url() -> str:
    """The address `flask run` serves on (FLASK_RUN_HOST, FLASK_RUN_PORT), as a base URL.

    `make run HOST=… PORT=…` passes its address that way, so a portal run on another port
    mails links to that port without PORTAL_BASE_URL being set as well.
    """
    host = (os.environ.get("FLASK_RUN_HOST") or "").strip() or "127.0.0.1"
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{_int('FLASK_RUN_PORT', 5000)}"


def load_config(instance_path: Path) -> dict[str, object]:
    """Build the Flask configuration mapping from environment variables."""
    production = os.environ.get("PORTAL_ENV", "development").strip().lower() == "production"

    secret_key = os.environ.get("SECRET_KEY")
    encryption_keys = os.environ.get("ENCRYPTION_KEYS")
    if production and not secret_key:
        raise ConfigError("PORTAL_ENV=production requires SECRET_KEY")
    if production and not encryption_keys:
        raise ConfigError("PORTAL_ENV=production requires ENCRYPTION_KEYS")
    base_url = os.environ.get("PORTAL_BASE_URL", "").strip()
    if production and not base_url.startswith("https://"):
        raise ConfigError("PORTAL_ENV=production requires PORTAL_BASE_URL (https://…)")
    if not secret_key:
        secret_key = _instance_secret(instance_path, "secret_key", lambda: secrets.token_hex(32))
    if not encryption_keys:
        encryption_keys = _instance_secret(
            instance_path, "encryption_key", lambda: Fernet.generate_key().decode()
        )

    database_url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{instance_path / 'portal.sqlite3'}"
    )
    # Heroku-style URLs name the scheme "postgres"; SQLAlchemy wants the driver spelled out.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]

    recordings_dir = Path(os.environ.get("RECORDINGS_DIR") or instance_path / "recordings")
    storage = {
        "STORAGE_BACKEND": (_text("STORAGE_BACKEND") or "local").lower(),
        "S3_BUCKET": _text("S3_BUCKET"),
        # Any S3-compatible server (MinIO, Ceph, …); unset: AWS itself.
        "S3_ENDPOINT_URL": _text("S3_ENDPOINT_URL"),
        "S3_REGION": _text("S3_REGION"),
        # Lets several portals share one bucket, each under its own prefix.
        "S3_PREFIX": _text("S3_PREFIX") or "",
    }
    check_storage(storage)

    return {
        "PORTAL_ENV": "production" if production else "development",
        "SECRET_KEY": secret_key,
        "ENCRYPTION_KEYS": [k.strip() for k in encryption_keys.split(",") if k.strip()],
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A server may drop an idle connection; a SQLite file cannot, and pinging it would only
        # add a statement to every request.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": not database_url.startswith("sqlite")},
        "RECORDINGS_DIR": recordings_dir.resolve(),
        **storage,
        "SERVICE_NAME": os.environ.get("SERVICE_NAME", "みえますねっと"),
        # Every date shown, filtered, exported, mailed and counted is a day of this zone.
        "SERVICE_TIME_ZONE": _time_zone("SERVICE_TIME_ZONE"),
        # Links in mails are built from this, never from the Host header of a request.
        "PORTAL_BASE_URL": base_url or _served_url(),
        "SERVICE_INFO_URL": os.environ.get("SERVICE_INFO_URL", "https://www.example.com/service"),
        "SUPPORT_URL": os.environ.get("SUPPORT_URL", "https://www.example.com/support"),
        "DEVICE_DOMAIN_SUFFIX": os.environ.get("DEVICE_DOMAIN_SUFFIX", "miemasu.net"),
        "DEVICES_PER_PAGE": _int("DEVICES_PER_PAGE", 50),
        # Device API: a device silent this long is 通信断 (it is told to report every third).
        "DEVICE_SILENCE_SECONDS": _int("DEVICE_SILENCE_SECONDS", 180),
        "DEVICE_API_RATE_LIMIT": os.environ.get("DEVICE_API_RATE_LIMIT", "120 per minute"),
        "RECORDING_MAX_BYTES": _int("RECORDING_MAX_BYTES", 10 * 1024 * 1024),
        "SESSION_IDLE_MINUTES": _int("SESSION_IDLE_MINUTES", 30),
        "SESSION_MAX_HOURS": _int("SESSION_MAX_HOURS", 12),
        "REAUTH_MINUTES": _int("REAUTH_MINUTES", 5),
        "PROXY_FIX_HOPS": _int("PROXY_FIX_HOPS", 0),
        # Cookies are Secure whenever the portal is served over HTTPS (always in production).
        "SESSION_COOKIE_SECURE": _flag("COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "portal_session",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "COMPRESS_ALGORITHM": ["gzip", "deflate"],
        # Streams (files) are not compressed on the fly: static files come gzipped from disk.
        "COMPRESS_STREAMS": False,
        "COMPRESS_MIMETYPES": [
            "text/html",
            "text/css",
            "text/csv",
            "text/plain",
            "application/javascript",
            "application/json",
            "image/svg+xml",
        ],
        "COMPRESS_MIN_SIZE": 500,
        "FLASK_STATIC_DIGEST_COMPRESSION": ["gzip"],
        # A shared store (redis://…, memcached://…) when several processes serve.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Mail: SMTP when MAIL_SERVER is set; otherwise mails land in MAIL_OUTBOX_DIR.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _flag("MAIL_USE_SSL"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "portal@localhost"),
        "MAIL_OUTBOX_DIR": Path(os.environ.get("MAIL_OUTBOX_DIR") or instance_path / "outbox"),
    }
