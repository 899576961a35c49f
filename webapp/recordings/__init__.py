"""録画一覧: what a device has uploaded, for everyone who may see the device."""

from flask import Blueprint

bp = Blueprint("recordings", __name__, url_prefix="/devices")

from . import views  # noqa: E402, F401
