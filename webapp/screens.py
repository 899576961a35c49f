"""Render a screen as a whole page, or only the part that htmx swaps."""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template
from jinja2_fragments.flask import render_blocks
from werkzeug.wrappers import Response

from .htmx import vary_on_htmx, wants_fragment


def render_screen(
    template: str, *, blocks: tuple[str, ...] = ("content",), status: int = 200, **context: Any
) -> Response:
    """Render *template*; for an htmx swap, only its *blocks* (the page's main content).

    The same URL serves both, so the response varies on HX-Request.
    """
    if wants_fragment():
        body = render_blocks(template, list(blocks), fragment=True, **context)
        if "content" in blocks:
            # A new screen: the messages of the previous one must not stay above it.
            body += render_template("_messages.html", oob=True)
    else:
        body = render_template(template, **context)
    return vary_on_htmx(make_response(body, status))
