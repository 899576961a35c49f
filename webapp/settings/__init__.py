"""アカウント設定: every user's own login e-mail, password and language."""

from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from . import two_factor, views  # noqa: E402, F401
