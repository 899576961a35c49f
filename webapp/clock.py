"""The service's time: one time zone (SERVICE_TIME_ZONE, Asia/Tokyo by default) for every date.

Moments are stored as naive UTC. Days are the service's days: a device registered at 00:23
in Tokyo started its service that day, a licence's last day ends at midnight in Tokyo, and
a recording kept 7 days is kept for 7 of those days. Every date shown, filtered, exported,
mailed or compared comes from here.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Tokyo"


@cache
def zone_named(name: str) -> ZoneInfo:
    """The time zone called *name* (an IANA name such as Asia/Tokyo); ValueError if none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def service_zone() -> ZoneInfo:
    """The service's time zone (the configured one; the default outside an app)."""
    name = current_app.config["SERVICE_TIME_ZONE"] if has_app_context() else DEFAULT_ZONE
    return zone_named(name)


def utcnow() -> dt.datetime:
    """The current moment in UTC, naive, as stored."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def today() -> dt.date:
    """The service's today."""
    return dt.datetime.now(service_zone()).date()


def local(moment: dt.datetime) -> dt.datetime:
    """A stored (naive UTC) moment in the service's time zone."""
    return moment.replace(tzinfo=dt.UTC).astimezone(service_zone())


def day_of(moment: dt.datetime) -> dt.date:
    """The service's day of a stored (naive UTC) moment."""
    return local(moment).date()


def start_of(day: dt.date) -> dt.datetime:
    """The moment (naive UTC, as stored) at which the service's *day* begins."""
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=service_zone())
    return midnight.astimezone(dt.UTC).replace(tzinfo=None)
