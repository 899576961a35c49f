"""ユーザー管理: the general users of a contract."""

from flask import Blueprint

bp = Blueprint("users", __name__, url_prefix="/users")

from . import two_factor, views  # noqa: E402, F401
