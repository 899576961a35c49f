"""The device API (/api/v1): cameras and recorders report to the portal in JSON."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import views  # noqa: E402,F401
