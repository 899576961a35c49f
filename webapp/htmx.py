"""The server side of htmx: when to answer with a fragment, and how to redirect."""

from __future__ import annotations

import json
from typing import Any

from flask import has_request_context, make_response, redirect, request
from werkzeug.wrappers import Response


def is_htmx() -> bool:
    """Return True for any request that htmx made."""
    return request.headers.get("HX-Request") == "true"


# A part that reloads itself on a timer (the portal's tiles) asks with this argument. Such a
# request is not the person's activity: it must not keep an unattended login alive past
# SESSION_IDLE_MINUTES.
SELF_REFRESH_ARG = "self_refresh"


def is_self_refresh() -> bool:
    """Return True for a part's timed reload of itself (see SELF_REFRESH_ARG)."""
    return has_request_context() and is_htmx() and request.args.get(SELF_REFRESH_ARG) == "1"


def wants_fragment() -> bool:
    """Return True when htmx will swap the answer into part of the page.

    Boosted links and history restores want the whole page.
    """
    return (
        is_htmx()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def swaps_into(element_id: str) -> bool:
    """Return True when htmx will swap the answer in place of the element *element_id*.

    htmx names its target (HX-Target), so a page can ask for less than a whole part.
    """
    return wants_fragment() and request.headers.get("HX-Target") == element_id


def retarget(response: Response, selector: str, swap: str = "outerHTML") -> Response:
    """Have htmx swap *response* into *selector* instead of the element it asked for."""
    response.headers["HX-Retarget"] = selector
    response.headers["HX-Reswap"] = swap
    return response


def vary_on_htmx(response: Response) -> Response:
    """Mark a response whose body depends on HX-Request, so caches keep both."""
    response.vary.add("HX-Request")
    return response


def hx_redirect(location: str, status: int = 200) -> Response:
    """Send the browser to *location* as a full page load (never a swap of a 302)."""
    response = make_response("", status)
    response.headers["HX-Redirect"] = location
    return response


def trigger(response: Response, event: str, detail: Any = None) -> Response:
    """Ask htmx to fire *event* on the page once the response is handled."""
    existing = response.headers.get("HX-Trigger")
    events: dict[str, Any] = json.loads(existing) if existing else {}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def see_other(location: str) -> Response:
    """Answer a state-changing POST: 303 for a browser, HX-Redirect for htmx."""
    if is_htmx():
        return hx_redirect(location)
    return redirect(location, 303)
