"""パスワードを忘れた方: a single-use, 30-minute link by mail, read from a real SMTP server."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.mail import Mailbox
from webapp.extensions import db
from webapp.models import LoginSession, UserToken

NEW_PASSWORD = "a brand new passphrase"
SENT = "入力されたEメールアドレスが登録されている場合は"


def ask_for_reset(client: Client, email: str):
    return client.post_form("/password/forgot", {"email": email})


def test_the_login_page_links_to_the_reset(client: Client) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot">パスワードを忘れた方はこちら</a>' in html
    assert "パスワードの再設定" in client.get("/password/forgot").get_data(as_text=True)


def test_reset_from_mail_to_new_login(
    app: Flask, client: Client, contractor: Account, smtp: Mailbox
) -> None:
    other_browser = app.test_client()
    assert other_browser.login(contractor.email).status_code == 303

    response = ask_for_reset(client, contractor.email)
    assert response.status_code == 200
    assert SENT in response.get_data(as_text=True)
    [mail] = smtp.to(contractor.email)
    assert "パスワード再設定のご案内" in mail["Subject"]
    assert "30分" in mail.get_content()
    link = smtp.link(mail)
    assert link.startswith("/password/reset/")
    with app.app_context():
        stored = db.session.scalars(select(UserToken)).one()
        assert link.rsplit("/", 1)[1] not in stored.token_hash  # only a hash is kept

    form = client.get(link)
    assert form.status_code == 200
    assert '<h1 id="reset-heading">新しいパスワードの設定</h1>' in form.get_data(as_text=True)
    done = client.post_form(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303
    assert done.headers["Location"] == "/login"

    # Every session of the account has ended; the old password no longer works.
    assert other_browser.get("/").status_code == 302
    with app.app_context():
        assert db.session.scalars(select(LoginSession)).all() == []
    assert client.login(contractor.email).status_code == 401
    assert client.login(contractor.email, NEW_PASSWORD).status_code == 303

    # The link works once.
    assert client.get(link).status_code == 410


def test_unknown_addresses_get_the_same_answer_and_no_mail(
    client: Client, contractor: Account, smtp: Mailbox
) -> None:
    known = ask_for_reset(client, contractor.email).get_data(as_text=True)
    unknown = ask_for_reset(client, "nobody@example.com").get_data(as_text=True)
    # Pages differ only by their CSRF tokens (which carry a timestamp).
    token = re.compile(r'(X-CSRFToken&#34;: &#34;|X-CSRFToken": "|value=")[\w.-]{40,}')
    assert token.sub("TOKEN", known) == token.sub("TOKEN", unknown)
    assert smtp.to("nobody@example.com") == []


def test_the_link_expires_after_30_minutes(
    app: Flask, client: Client, contractor: Account, smtp: Mailbox
) -> None:
    ask_for_reset(client, contractor.email)
    link = smtp.link(smtp.to(contractor.email)[0])
    with app.app_context():
        token = db.session.scalars(select(UserToken)).one()
        assert token.expires_at - token.created_at == dt.timedelta(minutes=30)
        token.expires_at = token.created_at - dt.timedelta(seconds=1)
        db.session.commit()
    assert client.get(link).status_code == 410
    refused = client.post_form(
        link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token_from="/login"
    )
    assert refused.status_code == 410
    assert client.login(contractor.email).status_code == 303  # the old password still works


def test_only_the_newest_link_works(client: Client, contractor: Account, smtp: Mailbox) -> None:
    ask_for_reset(client, contractor.email)
    ask_for_reset(client, contractor.email)
    first, second = (smtp.link(m) for m in smtp.to(contractor.email))
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_links_are_built_from_configuration_not_the_host_header(
    app: Flask, client: Client, contractor: Account, smtp: Mailbox
) -> None:
    from webapp.services.credentials import request_password_reset

    app.config["PORTAL_BASE_URL"] = "https://portal.example.jp"
    with app.test_request_context("/password/forgot", headers={"Host": "evil.example"}):
        request_password_reset(contractor.email)
    body = smtp.to(contractor.email)[0].get_content()
    assert "https://portal.example.jp/password/reset/" in body
    assert "evil.example" not in body


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", "10文字以上"),
        ("aaaaaaaaaaaa", "aaaaaaaaaaaa", "推測されやすい"),
        ("owner-secret-1", "owner-secret-1", "Eメールアドレスを含む"),
        (NEW_PASSWORD, "something else entirely", "パスワードが一致しません。"),
        ("", "", "新しいパスワードを入力してください。"),
    ],
)
def test_weak_or_mismatched_passwords_are_refused(
    client: Client, contractor: Account, smtp: Mailbox, password: str, confirm: str, message: str
) -> None:
    ask_for_reset(client, contractor.email)
    link = smtp.link(smtp.to(contractor.email)[0])
    response = client.post_form(link, {"password": password, "confirm": confirm})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert client.get(link).status_code == 200  # still usable


def test_reset_requests_are_rate_limited(
    client: Client, contractor: Account, smtp: Mailbox
) -> None:
    for _ in range(5):
        assert ask_for_reset(client, contractor.email).status_code == 200
    blocked = ask_for_reset(client, contractor.email)
    assert blocked.status_code == 429
    assert "分後にもう一度お試しください" in blocked.get_data(as_text=True)
    assert len(smtp.to(contractor.email)) == 5


def test_bad_addresses_are_explained(client: Client) -> None:
    for value, message in (("", "入力してください"), ("not-an-address", "形式が正しくありません")):
        response = client.post_form("/password/forgot", {"email": value})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)


def test_a_forged_token_is_410(client: Client) -> None:
    for token in ("x", "a" * 43, "%00", "a" * 500):
        assert client.get(f"/password/reset/{token}").status_code in (404, 410)
