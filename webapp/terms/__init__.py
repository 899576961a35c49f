"""規約: reading the terms, and accepting a new version before going on.

The bundled text of the first version (1.0.txt) lives beside the views.
"""

from flask import Blueprint

bp = Blueprint("terms", __name__, url_prefix="/terms")

from . import views  # noqa: E402, F401
