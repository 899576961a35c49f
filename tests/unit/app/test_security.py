"""Headers every response carries, and CSRF on every state change."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.client import Client


@pytest.mark.parametrize("path", ["/login", "/", "/devices", "/account", "/devices/999"])
def test_security_headers(logged_in: Client, path: str) -> None:
    response = logged_in.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_carry_no_inline_script(logged_in: Client) -> None:
    for path in ("/login", "/", "/devices", "/account", "/account/withdraw"):
        html = logged_in.get(path).get_data(as_text=True)
        assert "<script>" not in html
        assert " on" + "click=" not in html
        for tag in html.split("<script")[1:]:
            assert 'src="/static/' in tag.split(">")[0], path


def test_static_files_may_be_cached(client: Client) -> None:
    with client.get("/static/css/portal.css") as response:
        assert response.status_code == 200
        assert response.headers.get("Cache-Control") != "no-store"


def test_hsts_only_under_https(client: Client) -> None:
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://portal.example")
    assert "max-age=" in secure.headers["Strict-Transport-Security"]


def test_session_cookie_flags(client: Client, contractor) -> None:
    client.login(contractor.email)
    cookie = client.get_cookie("portal_session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


@pytest.mark.parametrize("path", ["/logout", "/devices/1/delete", "/account/withdraw", "/login"])
def test_every_post_needs_the_csrf_token(logged_in: Client, path: str) -> None:
    response = logged_in.post(path, data={"ack_licence": "y", "ack_data": "y"})
    assert response.status_code == 400
    assert "画面の有効期限が切れました。" in response.get_data(as_text=True)


def test_htmx_sends_the_token_in_a_header(logged_in: Client) -> None:
    html = logged_in.get("/").get_data(as_text=True)
    assert "hx-headers='{&#34;X-CSRFToken&#34;" in html or 'hx-headers=\'{"X-CSRFToken"' in html


def test_the_htmx_version_is_2(logged_in: Client) -> None:
    from pathlib import Path

    import webapp

    script = Path(webapp.__file__).parent / "static" / "vendor" / "htmx.min.js"
    assert script.exists(), "run make setup: htmx is installed from npm"
    assert 'version:"2.' in script.read_text()


def htmx_response_rule(html: str, status: int) -> dict[str, object]:
    """The rule of the page's htmx-config that htmx applies to *status* (the first that fits)."""
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html)
    assert meta, "no htmx-config on the page"
    rules = json.loads(meta.group(1))["responseHandling"]
    return next(rule for rule in rules if re.fullmatch(rule["code"], str(status)))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 413, 422, 429])
def test_htmx_shows_a_refusal_without_logging_an_error(logged_in: Client, status: int) -> None:
    """A 4xx is the portal's answer, swapped in; htmx logs "error" rules in the console."""
    rule = htmx_response_rule(logged_in.get("/").get_data(as_text=True), status)
    assert rule["swap"] is True
    assert not rule.get("error")


def test_htmx_treats_a_server_error_as_one(logged_in: Client) -> None:
    rule = htmx_response_rule(logged_in.get("/").get_data(as_text=True), 500)
    assert rule["swap"] is True
    assert rule["error"] is True


def test_htmx_keeps_no_snapshot_of_a_page_in_the_browser(logged_in: Client) -> None:
    """htmx's history cache would keep 契約者情報 in session storage past 「ログアウト」."""
    meta = re.search(
        r"<meta name=\"htmx-config\" content='([^']+)'>", logged_in.get("/account").get_data(True)
    )
    assert meta
    assert json.loads(meta.group(1))["historyCacheSize"] == 0
