"""Who may reach what: the contractor holds the management functions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

F = TypeVar("F", bound=Callable[..., Any])


def contractor_required(view: F) -> F:
    """Require a logged-in contractor; anyone else sees a 404, as if the page did not exist."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_contractor:
            abort(404)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
