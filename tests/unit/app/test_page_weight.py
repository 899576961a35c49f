"""Page weight: fingerprinted static files cached for a year, compressed responses."""

from __future__ import annotations

import gzip
import re

from flask import Flask

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory
from tests.support.statements import statements_for


def test_pages_link_fingerprinted_assets_cached_for_a_year(client: Client) -> None:
    html = client.get("/login").get_data(as_text=True)
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert links, html[:500]
    assert all(re.search(r"-[0-9a-f]{32}\.", link) for link in links), links
    for link in links:
        with client.get(link) as response:
            assert response.status_code == 200, link
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_only_the_stylesheet_and_htmx_could_block_rendering(client: Client) -> None:
    html = client.get("/login").get_data(as_text=True)
    head = html.split("</head>")[0]
    scripts = re.findall(r"<script[^>]*>", head)
    assert scripts and all(" defer" in tag for tag in scripts)
    assert len(re.findall(r'<link rel="stylesheet"', head)) == 1


def test_responses_are_compressed_when_the_browser_accepts_it(logged_in: Client) -> None:
    response = logged_in.get("/devices", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert "機器一覧" in gzip.decompress(response.data).decode()
    plain = logged_in.get("/devices")
    assert "Content-Encoding" not in plain.headers


def test_static_files_are_compressed_too(client: Client) -> None:
    html = client.get("/login").get_data(as_text=True)
    css = re.search(r'href="(/static/css/[^"]+)"', html).group(1)
    with client.get(css, headers={"Accept-Encoding": "gzip, deflate"}) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.mimetype == "text/css"
        assert len(response.data) < 0.4 * len(gzip.decompress(response.data))
    with client.get(css) as plain:
        assert "Content-Encoding" not in plain.headers


def test_each_page_runs_a_few_statements_whatever_the_device_count(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    """≤ 4 statements a page, the same for a handful of devices and for more than a page."""
    with app.app_context():
        first = DeviceFactory(contract_id=contractor.contract_id, name="Camera0001").id
        for _ in range(2):
            DeviceFactory(contract_id=contractor.contract_id)
    search = {"HX-Request": "true", "HX-Target": "device-rows"}
    tab = {"HX-Request": "true", "HX-Target": "device-panel"}
    pages = [
        ("/", {}),
        ("/devices", {}),
        ("/devices?name=0001", search),
        (f"/devices/{first}/licence", tab),
        (f"/devices/{first}", {}),
    ]
    logged_in.get("/")  # the first request of a login settles it; count the usual ones
    few = [statements_for(app, logged_in, path, **headers) for path, headers in pages]
    with app.app_context():
        for _ in range(120):
            DeviceFactory(contract_id=contractor.contract_id)
    many = [statements_for(app, logged_in, path, **headers) for path, headers in pages]
    assert few == many, (few, many)
    assert max(many) <= 4, many
