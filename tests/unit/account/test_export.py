"""Export before 退会: everything of the contract, as JSON and as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

from flask import Flask

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory
from webapp.extensions import db


def test_export_links_on_the_withdrawal_screens(logged_in: Client) -> None:
    html = logged_in.get("/account/withdraw").get_data(as_text=True)
    assert "データのダウンロード (JSON)" in html and "データのダウンロード (CSV)" in html


def test_json_export_holds_the_contract_but_no_secrets(
    app: Flask, logged_in: Client, contractor: Account, stranger: Account
) -> None:
    with app.app_context():
        DeviceFactory(
            contract_id=contractor.contract_id, name="玄関", camera_admin_password="cam-secret"
        )
        DeviceFactory(contract_id=stranger.contract_id, name="よそ")
    response = logged_in.get("/account/export.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["users"][0]["email"] == "owner@example.com"
    assert [d["name"] for d in data["devices"]] == ["玄関"]
    assert data["licences"] and data["history"]
    raw = response.get_data(as_text=True)
    assert "cam-secret" not in raw and "argon2" not in raw and "よそ" not in raw


def test_csv_export_is_a_zip_of_spreadsheet_friendly_files(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        DeviceFactory(contract_id=contractor.contract_id, name="=cmd|' /C calc'!A0")
    response = logged_in.get("/account/export.zip")
    assert response.mimetype == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(response.data))
    assert {"contract.csv", "devices.csv", "licences.csv", "users.csv", "history.csv"} <= set(
        bundle.namelist()
    )
    devices = bundle.read("devices.csv")
    assert devices.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(devices.decode("utf-8-sig"))))
    assert rows[0]["name"].startswith("'=")


def test_export_writes_moments_in_the_service_zone_with_their_offset(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id, name="玄関")
        device.setup_completed_at = dt.datetime(
            2026, 5, 1, 15, 30
        )  # UTC: 00:30 on the 2nd in Tokyo
        db.session.commit()
    data = json.loads(logged_in.get("/account/export.json").data)
    (exported,) = data["devices"]
    assert exported["setup_completed_at"] == "2026-05-02T00:30:00+09:00"
    assert all(e["occurred_at"].endswith("+09:00") for e in data["history"])


def test_export_is_for_the_contractor_only(client: Client) -> None:
    assert client.get("/account/export.json").status_code == 302
    assert client.get("/account/export.exe").status_code in (302, 404)
