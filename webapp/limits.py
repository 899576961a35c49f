"""Rate limits that count failures only: whoever gets it right is never slowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from .extensions import limiter


def failures_limited(
    limit: str, *, failed: Callable[[Response], bool], key: Callable[[], str] | None = None
) -> Callable[[Any], Any]:
    """Limit the POSTs to a view to *limit*, counting only those that *failed* says failed.

    *key* names what is counted (an account, a contract); the client's address by default.
    """
    return limiter.limit(
        limit, key_func=key or get_remote_address, methods=["POST"], deduct_when=failed
    )
