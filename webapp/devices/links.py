"""Links to a device's screens that carry the state of 機器一覧 (so 戻る returns to it)."""

from __future__ import annotations

from collections.abc import Callable

from flask import url_for


def detail_links(back: str) -> Callable[[int], str]:
    """Return a maker of 詳細 links that carry the list's state (one url_for per page)."""
    sentinel = 2**31 - 1  # the largest id: the one number url_for is asked to place
    prefix, _, suffix = url_for("devices.detail", device_id=sentinel, back=back or None).partition(
        f"/{sentinel}"
    )
    return lambda device_id: f"{prefix}/{device_id}{suffix}"
