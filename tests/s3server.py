"""The S3 test server under its old name, for bench/device_api.py; see tests/support/s3server.py."""

from tests.support.s3server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, running_s3_server

__all__ = ["ACCESS_KEY", "REGION", "SECRET_KEY", "S3Server", "running_s3_server"]
