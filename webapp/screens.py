"""Render a screen as a whole page, or only the part that htmx swaps."""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template
from flask_wtf import FlaskForm
from jinja2_fragments.flask import render_blocks
from werkzeug.wrappers import Response

from .htmx import vary_on_htmx, wants_fragment
from .services.refusals import Refused


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


def form_status(form: FlaskForm) -> int:
    """The status of a screen with *form*: 200 to fill it in, 422 once its input is refused."""
    return 422 if form.errors else 200


def show_refusal(form: FlaskForm, refusal: Refused) -> None:
    """Put a rule's refusal next to the field it names, or above the form."""
    field = form._fields.get(refusal.field) if refusal.field else None
    if field is not None:
        field.errors = [*field.errors, refusal.message]
    else:
        form.form_errors.append(refusal.message)


def render_form(
    template: str,
    form: FlaskForm,
    *,
    refusal: Refused | None = None,
    blocks: tuple[str, ...] = ("content",),
    **context: Any,
) -> Response:
    """Render a screen whose *form* is to be filled in, was refused, or met a rule's refusal.

    The status follows one rule: 200 to fill it in, 422 when its input was refused, and
    a rule's refusal answers with its own status (see services.refusals).
    """
    status = form_status(form)
    if refusal is not None:
        show_refusal(form, refusal)
        status = refusal.status
    return render_screen(template, blocks=blocks, status=status, form=form, **context)
