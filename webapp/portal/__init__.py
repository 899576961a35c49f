"""The portal: the contract's devices as tiles."""

from flask import Blueprint

bp = Blueprint("portal", __name__)

from . import views  # noqa: E402, F401
