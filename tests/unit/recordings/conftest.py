"""Fixtures of the recording tests: the app on each storage backend (a local folder, S3).

The S3 server is moto in server mode on loopback (tests/support/s3server.py), so requests go
over HTTP as they would against MinIO, Ceph or AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.support.s3server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, running_s3_server
from webapp import storage


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with running_s3_server() as server:
        yield server


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials, and none of the developer's own AWS settings."""
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def s3_app(app: Flask, s3_server: S3Server, aws_environment: None) -> Flask:
    """The app, with its recordings in a fresh bucket of the test S3 server."""
    app.config.update(
        STORAGE_BACKEND="s3",
        S3_BUCKET=s3_server.new_bucket(),
        S3_ENDPOINT_URL=s3_server.endpoint_url,
        S3_REGION=REGION,
    )
    storage.init_app(app)
    return app


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, app: Flask) -> Flask:
    """The app on each backend in turn."""
    if request.param == "s3":
        return request.getfixturevalue("s3_app")  # type: ignore[no-any-return]
    storage.init_app(app)
    return app
