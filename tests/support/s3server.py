"""A real S3-compatible server for the tests: moto in server mode, on loopback only."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# Dummy credentials: moto accepts any, and nothing here may reach a real account.
ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    """An S3 endpoint on 127.0.0.1, with a client that makes buckets on it."""

    endpoint_url: str

    def client(self) -> Any:
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        """Create an empty bucket with a fresh name and return the name."""
        name = f"recordings-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object name in *bucket* under *prefix*, as the server lists them."""
        paginator = self.client().get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]


@contextmanager
def running_s3_server() -> Iterator[S3Server]:
    """Run moto's S3 server in a thread on a free loopback port, for as long as the block."""
    from moto.server import ThreadedMotoServer

    # Werkzeug logs every request at INFO: thousands of lines for one bulk test.
    requests_log = logging.getLogger("werkzeug")
    level = requests_log.level
    requests_log.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()
        requests_log.setLevel(level)
