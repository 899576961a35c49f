"""機器管理: the device list, device detail and device deletion."""

from flask import Blueprint

bp = Blueprint("devices", __name__, url_prefix="/devices")

from . import views  # noqa: E402, F401
