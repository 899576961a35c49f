"""規約: versions of the terms, and who has accepted the current one."""

from __future__ import annotations

import time
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..audit import record_event
from ..database import after_commit, unit_of_work
from ..extensions import db
from ..models import TermsAcceptance, TermsVersion, User, utcnow
from .refusals import VersionExists

BUNDLED_VERSION = "1.0"
BUNDLED_TERMS = Path(__file__).parent.parent / "terms" / f"{BUNDLED_VERSION}.txt"
# The current version is read at most this often per process, not on every request.
_CACHE_SECONDS = 30.0
_cache: dict[str, tuple[float, str | None]] = {}


def current_terms() -> TermsVersion | None:
    return db.session.scalar(
        select(TermsVersion).order_by(TermsVersion.published_at.desc(), TermsVersion.id.desc())
    )


def current_version() -> str | None:
    """Return the version users must have accepted (cached briefly), or None if none is out."""
    key = current_app.config["SQLALCHEMY_DATABASE_URI"]
    now = time.monotonic()
    cached = _cache.get(key)
    if cached and now - cached[0] < _CACHE_SECONDS:
        return cached[1]
    terms = current_terms()
    version = terms.version if terms else None
    _cache[key] = (now, version)
    return version


def forget_cached_version() -> None:
    _cache.clear()


def publish_terms(version: str, body: str) -> TermsVersion:
    """Publish a new version: every user accepts it at their next login."""
    with unit_of_work():
        if db.session.scalar(select(TermsVersion.id).where(TermsVersion.version == version)):
            raise VersionExists(version)
        terms = TermsVersion(version=version, body=body, published_at=utcnow())
        db.session.add(terms)
        after_commit(forget_cached_version)
    return terms


def publish_bundled_terms() -> TermsVersion:
    """Publish the terms shipped with the portal if no version is out yet."""
    terms = current_terms()
    if terms is not None:
        return terms
    return publish_terms(BUNDLED_VERSION, bundled_terms_text())


def bundled_terms_text() -> str:
    """The text of the terms shipped with the portal, naming this service."""
    body = BUNDLED_TERMS.read_text(encoding="utf-8")
    return body.replace("{service}", current_app.config["SERVICE_NAME"])


def needs_acceptance(user: User) -> bool:
    version = current_version()
    return version is not None and user.terms_version != version


def accept_terms(user: User, version: str) -> None:
    """Record that *user* accepted *version* (twice is harmless)."""
    if user.terms_version == version:
        return
    try:
        with unit_of_work():
            user.terms_version = version
            db.session.add(TermsAcceptance(user_id=user.id, version=version))
            record_event("terms.accept", contract_id=user.contract_id, detail={"version": version})
    except IntegrityError:
        pass  # the same acceptance from another tab got there first
