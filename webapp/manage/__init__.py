"""The rest of the management menu: ユーザー管理, 通知メール設定, 規約."""

from flask import Blueprint

bp = Blueprint("manage", __name__)

from . import views  # noqa: E402, F401
