"""操作履歴: the contract's audit history, on screen and as CSV."""

from flask import Blueprint

bp = Blueprint("history", __name__, url_prefix="/history")

from . import views  # noqa: E402, F401
