"""Generated hostile input (hypothesis) in every form field and query parameter.

Whatever arrives, the portal answers below 500, and a refused request changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, LicenceFactory
from webapp.enums import LicenceState
from webapp.extensions import db
from webapp.models import AuditEvent, Contract, Device, Licence, NotificationRecipient, User
from webapp.services.account import PROFILE_FIELDS

# Any text a browser could send: control characters, NUL, odd Unicode, very long runs.
hostile = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=400),
    st.sampled_from(["\x00", "\u202e", "' OR 1=1 --", "<script>", "%", "_", "\\", "😀" * 200]),
    st.text(st.sampled_from("0123456789-:.aAfF"), max_size=30),
)


def form(*names: str) -> st.SearchStrategy[dict[str, str]]:
    """A hostile value for each of the named fields, each of which may also be missing."""
    return st.fixed_dictionaries({}, optional={name: hostile for name in names})


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def snapshot(app: Flask) -> tuple[int, ...]:
    with app.app_context():
        counts = [
            db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Contract, User, Device, Licence, NotificationRecipient)
        ]
        # Logins, and the attempts that failed (a wrong password asked again included), are
        # records of who came, not changes.
        attempts = ("login", "login.failed", "login.mobile_refused", "reauth.failed")
        changes = (
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.not_in(attempts))
        )
        return (*counts, db.session.scalar(changes) or 0)


@pytest.fixture
def device_id(app: Flask, contractor: Account) -> int:
    with app.app_context():
        LicenceFactory(contract_id=contractor.contract_id, state=LicenceState.UNUSED)
        return DeviceFactory(contract_id=contractor.contract_id).id


def check(app: Flask, client: Client, path: str, data: dict[str, Any], token_from: str) -> None:
    before = snapshot(app)
    response = client.post_form(path, data, token_from=token_from)
    assert response.status_code < 500, (path, data)
    if response.status_code >= 400:
        assert snapshot(app) == before, (path, data)


@FUZZ
@given(
    fields=form(
        "name",
        "model",
        "mac",
        "domain",
        "service_status",
        "plan",
        "view",
        "page",
        "back",
    )
)
def test_device_list_parameters(logged_in: Client, device_id: int, fields: dict[str, str]) -> None:
    for headers in ({}, {"HX-Request": "true"}):
        assert logged_in.get("/devices", query_string=fields, headers=headers).status_code < 500


@FUZZ
@given(fields=form("action", "date_from", "date_to", "page"))
def test_history_parameters(logged_in: Client, fields: dict[str, str]) -> None:
    assert logged_in.get("/history", query_string=fields).status_code < 500
    assert logged_in.get("/history/download.csv", query_string=fields).status_code < 500


@FUZZ
@given(fields=form("licence_key", "name", "model", "mac", "kind"))
def test_registration_form(app: Flask, logged_in: Client, fields: dict[str, str]) -> None:
    check(app, logged_in, "/devices/new", fields, "/devices/new")


@FUZZ
@given(
    fields=form(
        "name",
        "domain",
        "camera_admin_user",
        "camera_admin_password",
        "camera_list_user",
        "camera_list_password",
    )
)
def test_device_edit_form(
    app: Flask, logged_in: Client, device_id: int, fields: dict[str, str]
) -> None:
    check(app, logged_in, f"/devices/{device_id}/edit", fields, f"/devices/{device_id}/edit")


@FUZZ
@given(fields=form("model", "mac"))
def test_exchange_form(
    app: Flask, logged_in: Client, device_id: int, fields: dict[str, str]
) -> None:
    check(app, logged_in, f"/devices/{device_id}/exchange", fields, f"/devices/{device_id}")


@FUZZ
@given(fields=form("ack_licence", "ack_data", "reason"))
def test_delete_form(app: Flask, logged_in: Client, device_id: int, fields: dict[str, str]) -> None:
    check(app, logged_in, f"/devices/{device_id}/delete", fields, f"/devices/{device_id}")


@FUZZ
@given(
    fields=form(*PROFILE_FIELDS, "email", "current_password", "new_password", "confirm_password")
)
def test_contractor_form(app: Flask, logged_in: Client, fields: dict[str, str]) -> None:
    check(app, logged_in, "/account/edit", fields, "/account/edit")


@FUZZ
@given(fields=form("ack_irreversible", "ack_new_contract"))
def test_withdraw_form(app: Flask, logged_in: Client, fields: dict[str, str]) -> None:
    check(app, logged_in, "/account/withdraw", fields, "/account")


@FUZZ
@given(email=hostile)
def test_invitation_form(app: Flask, logged_in: Client, email: str) -> None:
    check(app, logged_in, "/users/new", {"email": email}, "/users")


@FUZZ
@given(fields=st.fixed_dictionaries({f"recipients-{n}": hostile for n in range(5)}))
def test_recipients_form(app: Flask, logged_in: Client, fields: dict[str, str]) -> None:
    check(app, logged_in, "/notifications/recipients", fields, "/notifications")


@settings(FUZZ, max_examples=20)
@given(fields=form("email", "password", "remember_email"))
def test_login_form(
    app: Flask, client: Client, contractor: Account, fields: dict[str, str]
) -> None:
    before = snapshot(app)
    response = client.post_form("/login", fields, token_from="/login")
    assert response.status_code < 500
    assert snapshot(app) == before


@FUZZ
@given(email=hostile, lang=hostile, next_url=hostile)
def test_reset_and_language_forms(client: Client, email: str, lang: str, next_url: str) -> None:
    assert (
        client.post_form("/password/forgot", {"email": email}, token_from="/login").status_code
        < 500
    )
    response = client.post_form("/language", {"lang": lang, "next": next_url}, token_from="/login")
    assert response.status_code < 500
    assert response.headers.get("Location", "/").startswith("/")


# --- The device API: whatever a device (or anyone) sends, a JSON 4xx, never a 5xx ----------

header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80
)  # HTTP header values are Latin-1 printable text


@pytest.fixture
def api_device(app: Flask, contractor: Account) -> tuple[int, str]:
    from webapp.enums import CommStatus
    from webapp.services.device_reports import issue_api_secret

    with app.app_context():
        device = DeviceFactory(
            contract_id=contractor.contract_id, comm_status=CommStatus.NEVER_CONNECTED
        )
        secret = issue_api_secret(device)
        db.session.commit()
        return device.id, secret


@FUZZ
@given(
    body=st.one_of(st.binary(max_size=300), hostile.map(str.encode)),
    content_type=st.one_of(
        st.sampled_from(["application/json", "image/png", "image/jpeg", "video/mp4", ""]),
        header_text,
    ),
    key=header_text,
    captured_at=header_text,
    wrong_secret=st.booleans(),
)
def test_the_device_api_answers_any_input_with_json(
    app: Flask,
    api_device: tuple[int, str],
    body: bytes,
    content_type: str,
    key: str,
    captured_at: str,
    wrong_secret: bool,
) -> None:
    from webapp.models import Recording

    device_id, secret = api_device
    client = app.test_client()
    headers = {
        "Authorization": f"Bearer {secret}{'x' if wrong_secret else ''}",
        "Content-Type": content_type,
        "Idempotency-Key": key,
        "X-Captured-At": captured_at,
    }
    for path in ("heartbeat", "recordings"):
        response = client.post(f"/api/v1/devices/{device_id}/{path}", data=body, headers=headers)
        assert response.status_code < 500, response.get_data(as_text=True)
        assert response.mimetype == "application/json"
        if response.status_code >= 400:
            assert set(response.get_json()) == {"error", "message"}
    with app.app_context():
        stored = db.session.scalars(select(Recording)).all()
    # Anything stored is exactly a valid upload of these bytes.
    assert all(recording.size_bytes == len(body) for recording in stored)
