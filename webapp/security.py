"""Response headers every page carries."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from flask import Flask, Response, request, send_from_directory

# Names written by `flask digest compile`: portal-<md5 of the content>.css
FINGERPRINTED = re.compile(r"-[0-9a-f]{32}\.[a-z]+$")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    serve_precompressed_static(app)

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static":
            # Pages show contract data: never keep them in a shared or back-button cache.
            headers["Cache-Control"] = "no-store"
        elif FINGERPRINTED.search(request.path):
            # The name changes with the content: the browser may keep it for a year.
            headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def serve_precompressed_static(app: Flask) -> None:
    """Send the gzip copy that `flask digest compile` wrote beside a fingerprinted file."""

    def static(filename: str) -> Response:
        wants_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
        folder = Path(app.static_folder or "")
        packed = folder / f"{filename}.gz"
        if wants_gzip and FINGERPRINTED.search(filename) and packed.is_file():
            mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            response = send_from_directory(folder, f"{filename}.gz", mimetype=mimetype)
            response.headers["Content-Encoding"] = "gzip"
            response.vary.add("Accept-Encoding")
            return response
        response = app.send_static_file(filename)
        response.vary.add("Accept-Encoding")
        return response

    app.view_functions["static"] = static
