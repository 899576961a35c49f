"""契約者情報設定 and withdrawal from the service (退会)."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from . import views  # noqa: E402, F401
