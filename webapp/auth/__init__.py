"""Login and logout."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import enrolment, views  # noqa: E402, F401
