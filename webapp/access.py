"""Who may reach what: the contractor holds the management functions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

from .audit import deletion_event
from .models import User
from .services.refusals import AlreadyDeleted

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


def signed_in_user() -> User:
    """The account of this request's login (the object itself, not Flask-Login's proxy)."""
    user: User = current_user._get_current_object()
    return user


def contractor_required(view: F) -> F:
    """Require a logged-in contractor; anyone else sees a 404, as if the page did not exist."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_contractor:
            abort(404)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def found_or_gone(
    found: R | None, *, contract_id: int, deletion: str, target_id: int, gone: type[AlreadyDeleted]
) -> R:
    """What an owner-scoped loader answers: the object, else 410 or 404.

    *found* is what the contract's own query found. When it found nothing, an object this
    contract deleted (its *deletion* is in the audit log) raises *gone* (410 "already
    deleted"); anything else, another contract's object included, is a 404.
    """
    if found is not None:
        return found
    deleted = deletion_event(contract_id, deletion, target_id)
    if deleted is not None:
        raise gone(deleted.summary)
    abort(404)
