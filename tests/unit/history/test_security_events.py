"""操作履歴 of attempts on an account: failed logins, reset requests, smartphone logins."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import UserFactory
from webapp.audit import ACTION_LABELS
from webapp.enums import Role
from webapp.extensions import db
from webapp.models import AuditEvent, Contract

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
GUESSER = "203.0.113.9"
KINDS = ("login.failed", "password.reset_requested", "login.mobile_refused")


def events(app: Flask, *conditions: object) -> list[AuditEvent]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent).where(*conditions)))
        db.session.expunge_all()
        return found


def post_login(client: Client, email: str, password: str, user_agent: str = FIREFOX):
    token = client.csrf_token()
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        headers={"User-Agent": user_agent},
        environ_base={"REMOTE_ADDR": GUESSER},
    )


def ask_reset(client: Client, email: str):
    token = client.csrf_token("/password/forgot")
    return client.post(
        "/password/forgot",
        data={"email": email, "csrf_token": token},
        headers={"User-Agent": FIREFOX},
        environ_base={"REMOTE_ADDR": GUESSER},
    )


def attempt(client: Client, kind: str, email: str) -> None:
    """Make one attempt of *kind* on *email* from the guesser's address."""
    if kind == "login.failed":
        assert post_login(client, email, "not the password").status_code == 401
    elif kind == "login.mobile_refused":
        assert post_login(client, email, "whatever", IPHONE).status_code == 403
    else:
        assert ask_reset(client, email).status_code == 200


def test_the_kinds_have_japanese_labels() -> None:
    assert str(ACTION_LABELS["login.failed"]) == "ログインの失敗"
    assert str(ACTION_LABELS["login.mobile_refused"]) == "スマートフォンからのログイン (拒否)"
    assert str(ACTION_LABELS["password.reset_requested"]) == "パスワード再設定の申請"


@pytest.mark.parametrize("kind", KINDS)
def test_an_attempt_on_an_account_goes_to_its_contract_with_address_and_browser(
    app: Flask, client: Client, contractor: Account, kind: str
) -> None:
    attempt(client, kind, "OWNER@example.com ")
    [event] = events(app, AuditEvent.action == kind)
    assert event.contract_id == contractor.contract_id
    assert event.actor_email == contractor.email
    assert event.ip == GUESSER
    assert event.user_agent == (IPHONE if kind == "login.mobile_refused" else FIREFOX)
    assert event.occurred_at is not None


def test_an_attempt_on_a_general_user_goes_to_the_contract_too(
    app: Flask, client: Client, contractor: Account
) -> None:
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        UserFactory(email="viewer@example.com", contract=contract, role=Role.GENERAL)
    attempt(client, "login.failed", "viewer@example.com")
    [event] = events(app, AuditEvent.action == "login.failed")
    assert (event.contract_id, event.actor_email) == (contractor.contract_id, "viewer@example.com")


@pytest.mark.parametrize("kind", KINDS)
def test_an_attempt_on_an_unknown_address_is_in_no_contracts_history(
    app: Flask, client: Client, contractor: Account, stranger: Account, kind: str
) -> None:
    before = {e.id for e in events(app)}
    attempt(client, kind, "nobody@example.com")
    new = [e for e in events(app) if e.id not in before]
    assert all(e.contract_id is None for e in new)
    # Nothing keeps the typed address: it may be a password typed in the wrong field.
    assert not any("nobody" in f"{e.actor_email} {e.summary} {e.detail}" for e in new)


def test_a_smartphone_login_is_recorded_whether_or_not_the_password_is_right(
    app: Flask, client: Client, contractor: Account
) -> None:
    post_login(client, contractor.email, "correct horse battery", IPHONE)
    post_login(client, contractor.email, "wrong", IPHONE)
    refused = events(app, AuditEvent.action == "login.mobile_refused")
    assert len(refused) == 2
    assert events(app, AuditEvent.action == "login") == []
    # Opening the login page on a phone is no attempt on anyone.
    client.get("/login", headers={"User-Agent": IPHONE})
    assert len(events(app, AuditEvent.action == "login.mobile_refused")) == 2


def test_smartphone_attempts_count_towards_the_login_limits(
    app: Flask, client: Client, contractor: Account
) -> None:
    """Each refusal writes a row: they are limited like wrong passwords."""
    for _ in range(5):
        assert post_login(client, contractor.email, "x", IPHONE).status_code == 403
    assert post_login(client, contractor.email, "x", IPHONE).status_code == 429
    assert len(events(app, AuditEvent.action == "login.mobile_refused")) == 5


def test_a_correct_login_records_no_failure(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    assert events(app, AuditEvent.action.in_(KINDS)) == []


def test_the_history_shows_the_attempts_with_address_and_browser(
    app: Flask, client: Client, contractor: Account
) -> None:
    other = app.test_client()
    for kind in KINDS:
        attempt(other, kind, contractor.email)
    client.login(contractor.email)
    html = client.get("/history").get_data(as_text=True)
    for label in (
        "ログインの失敗",
        "パスワード再設定の申請",
        "スマートフォンからのログイン (拒否)",
    ):
        assert label in html
    assert GUESSER in html
    assert "ブラウザ: Firefox 128 / Linux" in html
    assert "ブラウザ: Mobile Safari 17 / iOS 17 / iPhone" in html


@pytest.mark.parametrize("kind", KINDS)
def test_the_history_filters_by_each_kind(
    app: Flask, client: Client, contractor: Account, kind: str
) -> None:
    other = app.test_client()
    for each in KINDS:
        attempt(other, each, contractor.email)
    client.login(contractor.email)
    page = client.get(f"/history?action={kind}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "件数: 1" in html
    assert re.search(rf'<option (selected value="{kind}"|value="{kind}" selected)', html)
    shown = {str(ACTION_LABELS[k]) for k in KINDS if f"<td>{ACTION_LABELS[k]}</td>" in html}
    assert shown == {str(ACTION_LABELS[kind])}

    rows = list(
        csv.reader(
            io.StringIO(client.get(f"/history/download.csv?action={kind}").data.decode("utf-8-sig"))
        )
    )
    assert [row[1] for row in rows[1:]] == [str(ACTION_LABELS[kind])]
    assert rows[1][5] == GUESSER


def test_an_unknown_kind_is_refused_with_a_message(
    app: Flask, client: Client, contractor: Account
) -> None:
    client.login(contractor.email)
    for query in ("action=login.unknown", "action=LOGIN.FAILED"):
        response = client.get(f"/history?{query}")
        assert response.status_code == 422, query
        assert "一覧から選択してください。" in response.get_data(as_text=True)
        assert client.get(f"/history/download.csv?{query}").status_code == 422


def test_a_contract_never_sees_attempts_on_another_contract(
    app: Flask, client: Client, contractor: Account, stranger: Account
) -> None:
    other = app.test_client()
    for kind in KINDS:
        attempt(other, kind, stranger.email)
        attempt(other, kind, "nobody@example.com")
    client.login(contractor.email)
    html = client.get("/history").get_data(as_text=True)
    assert GUESSER not in html
    assert stranger.email not in html and "nobody@example.com" not in html
    for kind in KINDS:
        assert "件数: 0" in client.get(f"/history?action={kind}").get_data(as_text=True)
