"""Hostile input anywhere: a message or a 404, never a 500, and nothing changes."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory
from webapp.extensions import db
from webapp.models import AuditEvent, Contract, Device, Licence, User

NASTY = [
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\u202e\u0645",
    "\ufffd",
    "\uffff",
    "x" * 10_000,
    "' OR '1'='1' --",
    "'; DROP TABLE device; --",
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "%",
    "_",
    "\\",
    "😀" * 50,
    "../../etc/passwd",
    "-1",
    "99999999999999999999999999999",
    "²",  # a digit to str.isdigit(), not to int()
]
SEARCH_FIELDS = ["name", "model", "mac", "domain", "service_status", "plan", "view", "page", "back"]


def snapshot(app: Flask) -> tuple[int, ...]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Contract, User, Device, Licence)
        )


@pytest.fixture
def device_id(app: Flask, contractor: Account) -> int:
    with app.app_context():
        return DeviceFactory(contract_id=contractor.contract_id).id


@pytest.mark.parametrize("value", NASTY)
def test_search_parameters(logged_in: Client, device_id: int, value: str) -> None:
    for field in SEARCH_FIELDS:
        for headers in ({}, {"HX-Request": "true"}):
            response = logged_in.get("/devices", query_string={field: value}, headers=headers)
            assert response.status_code in (200, 422), (field, value, response.status_code)
            assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_invalid_utf8_in_the_query_string(logged_in: Client, device_id: int) -> None:
    for query in ("name=%ff%fe", "mac=%ed%a0%80", "back=%c0%af", "page=%00"):
        response = logged_in.get(f"/devices?{query}")
        assert response.status_code in (200, 422), query


@pytest.mark.parametrize("value", NASTY)
def test_detail_and_portal_parameters(logged_in: Client, device_id: int, value: str) -> None:
    for path in (f"/devices/{device_id}", f"/devices/{device_id}/licence", "/"):
        response = logged_in.get(path, query_string={"back": value, "page": value})
        assert response.status_code == 200, (path, value)


@pytest.mark.parametrize("value", NASTY)
def test_selection_and_licence_list_parameters(
    logged_in: Client, device_id: int, value: str
) -> None:
    response = logged_in.get("/devices/bulk-delete", query_string={"id": value})
    assert response.status_code == 400, value
    response = logged_in.get("/licences", query_string={"page": value})
    assert response.status_code == 200, value


@pytest.mark.parametrize("value", NASTY)
def test_login_form(app: Flask, client: Client, contractor: Account, value: str) -> None:
    before = snapshot(app)
    token = client.csrf_token()
    for data in (
        {"email": value, "password": "x"},
        {"email": contractor.email, "password": value},
        {"email": contractor.email, "password": "x", "remember_email": value},
    ):
        response = client.post("/login", data={**data, "csrf_token": token})
        assert response.status_code in (401, 422), (data, response.status_code)
    response = client.post(f"/login?next={value}", data={"email": "a", "csrf_token": token})
    assert response.status_code == 422
    assert snapshot(app) == before


@pytest.mark.parametrize("value", NASTY)
def test_delete_form(app: Flask, logged_in: Client, device_id: int, value: str) -> None:
    before = snapshot(app)
    token = logged_in.csrf_token(f"/devices/{device_id}/delete")
    for data in (
        {"ack_licence": value, "ack_data": value},
        {"ack_licence": "y", "ack_data": value},
        {"ack_licence": value, "ack_data": "y", "reason": value},
    ):
        response = logged_in.post(
            f"/devices/{device_id}/delete", data={**data, "csrf_token": token}
        )
        assert response.status_code == 422, (data, response.status_code)
    assert snapshot(app) == before


@pytest.mark.parametrize("value", NASTY)
def test_withdraw_form(app: Flask, logged_in: Client, value: str) -> None:
    before = snapshot(app)
    token = logged_in.csrf_token("/account/withdraw")
    response = logged_in.post(
        "/account/withdraw",
        data={"ack_irreversible": value, "ack_new_contract": value, "csrf_token": token},
    )
    assert response.status_code == 422
    assert snapshot(app) == before


@pytest.mark.parametrize("value", ["\x00", "x" * 5000, "' OR 1=1 --"])
def test_a_forged_csrf_token_is_refused(logged_in: Client, device_id: int, value: str) -> None:
    response = logged_in.post(
        f"/devices/{device_id}/delete",
        data={"ack_licence": "y", "ack_data": "y", "csrf_token": value},
    )
    assert response.status_code == 400


def test_an_oversized_body_is_refused(logged_in: Client, device_id: int, app: Flask) -> None:
    token = logged_in.csrf_token(f"/devices/{device_id}/delete")
    response = logged_in.post(
        f"/devices/{device_id}/delete",
        data={"reason": "x" * (2 * 1024 * 1024), "csrf_token": token},
    )
    assert response.status_code == 413
    with app.app_context():
        assert db.session.get(Device, device_id) is not None
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "device.delete")
            )
            == 0
        )


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_405(logged_in: Client, device_id: int, method: str) -> None:
    response = getattr(logged_in, method)(f"/devices/{device_id}")
    assert response.status_code == 405
