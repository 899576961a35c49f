"""ライセンス一覧: the contract's licences, reserved keys included, filtered and exported."""

from flask import Blueprint

bp = Blueprint("licences", __name__, url_prefix="/licences")

from . import views  # noqa: E402, F401
