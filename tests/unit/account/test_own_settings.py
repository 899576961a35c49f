"""アカウント設定: a general user changes their own password, e-mail and language."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import PASSWORD, UserFactory
from tests.support.mail import Mailbox
from webapp.enums import Role
from webapp.extensions import db
from webapp.models import AuditEvent, Contract, User

NEW_PASSWORD = "another fine phrase"


@pytest.fixture
def viewer(app: Flask, contractor: Account) -> Account:
    """A general user of the contractor's contract."""
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        user = UserFactory(email="viewer@example.com", contract=contract, role=Role.GENERAL)
        return Account(user.id, user.contract_id, user.email)


@pytest.fixture
def as_viewer(client: Client, viewer: Account) -> Client:
    assert client.login(viewer.email).status_code == 303
    return client


def user_row(app: Flask, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        db.session.expunge(user)
        return user


def actions(app: Flask, contract_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.contract_id == contract_id)
                .order_by(AuditEvent.id)
            )
        )


def password_change(current: str = PASSWORD, new: str = NEW_PASSWORD, confirm: str | None = None):
    return {
        "current_password": current,
        "new_password": new,
        "confirm_password": new if confirm is None else confirm,
    }


def test_the_header_of_a_general_user_leads_to_the_settings(as_viewer: Client) -> None:
    portal = as_viewer.get("/").get_data(as_text=True)
    assert 'href="/settings"' in portal and ">アカウント設定</a>" in portal
    page = as_viewer.get("/settings")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for label in ("現在のパスワード", "新しいパスワード", "新しいEメールアドレス", "表示言語"):
        assert label in html
    assert "viewer@example.com" in html


def test_the_contractor_keeps_the_management_link_and_may_open_the_settings(
    logged_in: Client,
) -> None:
    portal = logged_in.get("/").get_data(as_text=True)
    assert ">設定</a>" in portal and ">アカウント設定</a>" not in portal
    assert logged_in.get("/settings").status_code == 200


def test_guessing_the_current_password_is_limited(
    app: Flask, as_viewer: Client, viewer: Account
) -> None:
    """A stolen session must not become a way to guess the account's password."""
    before = user_row(app, viewer.user_id).password_hash
    for _ in range(5):
        wrong = as_viewer.post_form(
            "/settings/password", password_change(current="a guess"), token_from="/settings"
        )
        assert wrong.status_code == 422
    blocked = as_viewer.post_form("/settings/password", password_change(), token_from="/settings")
    assert blocked.status_code == 429
    assert user_row(app, viewer.user_id).password_hash == before
    assert "password.change" not in actions(app, viewer.contract_id)


def test_a_right_current_password_is_never_counted(as_viewer: Client) -> None:
    for number in range(6):
        new = f"{NEW_PASSWORD}-{number}"
        current = PASSWORD if number == 0 else f"{NEW_PASSWORD}-{number - 1}"
        changed = as_viewer.post_form(
            "/settings/password", password_change(current=current, new=new), token_from="/settings"
        )
        assert changed.status_code == 303, number


def test_the_settings_need_a_login(client: Client) -> None:
    assert client.get("/settings").status_code == 302
    token = client.csrf_token()
    response = client.post("/settings/password", data={"csrf_token": token, **password_change()})
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_password_change_needs_the_current_password(
    app: Flask, as_viewer: Client, viewer: Account
) -> None:
    before = user_row(app, viewer.user_id).password_hash
    missing = as_viewer.post_form(
        "/settings/password", password_change(current=""), token_from="/settings"
    )
    assert missing.status_code == 422
    html = missing.get_data(as_text=True)
    assert 'id="current_password-error"' in html
    assert "現在のパスワードを入力してください。" in html

    wrong = as_viewer.post_form(
        "/settings/password", password_change(current="not my password"), token_from="/settings"
    )
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert 'id="current_password-error"' in html
    assert "現在のパスワードが正しくありません。" in html
    assert NEW_PASSWORD not in html  # a password is never echoed
    assert user_row(app, viewer.user_id).password_hash == before
    assert "password.change" not in actions(app, viewer.contract_id)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (password_change(new="short"), "new_password", "10文字以上"),
        (password_change(new="viewer-secret-words"), "new_password", "Eメールアドレスを含む"),
        (password_change(confirm="something else entirely"), "confirm_password", "一致しません"),
        (password_change(new="", confirm=""), "new_password", "新しいパスワードを入力してください"),
    ],
)
def test_a_bad_new_password_is_refused_next_to_its_field(
    app: Flask, as_viewer: Client, viewer: Account, change: dict, field: str, message: str
) -> None:
    before = user_row(app, viewer.user_id).password_hash
    response = as_viewer.post_form("/settings/password", change, token_from="/settings")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert user_row(app, viewer.user_id).password_hash == before


def test_a_password_change_ends_the_other_logins_only(
    app: Flask, as_viewer: Client, viewer: Account
) -> None:
    other_browser = app.test_client()
    other_browser.login(viewer.email)
    assert other_browser.get("/").status_code == 200

    response = as_viewer.post_form("/settings/password", password_change(), token_from="/settings")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/settings")
    page = as_viewer.get("/settings").get_data(as_text=True)
    assert "パスワードを変更しました。ほかの端末のログインは終了しました。" in page
    assert other_browser.get("/").status_code == 302
    assert app.test_client().login(viewer.email).status_code == 401  # old password
    assert app.test_client().login(viewer.email, NEW_PASSWORD).status_code == 303
    assert "password.change" in actions(app, viewer.contract_id)


def test_a_password_change_under_htmx_redirects_without_a_swap(as_viewer: Client) -> None:
    response = as_viewer.post_form(
        "/settings/password",
        password_change(),
        token_from="/settings",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/settings"
    refused = as_viewer.post_form(
        "/settings/password",
        password_change(current="x"),
        token_from="/settings",
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422
    assert "<html" not in refused.get_data(as_text=True)


def test_the_settings_refuse_a_post_without_csrf(
    app: Flask, as_viewer: Client, viewer: Account
) -> None:
    before = user_row(app, viewer.user_id).password_hash
    assert as_viewer.post("/settings/password", data=password_change()).status_code == 400
    assert as_viewer.post("/settings/email", data={"email": "x@example.com"}).status_code == 400
    assert user_row(app, viewer.user_id).password_hash == before


def test_an_email_change_takes_effect_through_the_link_once(
    app: Flask, as_viewer: Client, viewer: Account, smtp: Mailbox
) -> None:
    response = as_viewer.post_form(
        "/settings/email", {"email": "New-Viewer@example.com "}, token_from="/settings"
    )
    assert response.status_code == 303
    page = as_viewer.get("/settings").get_data(as_text=True)
    assert "new-viewer@example.com に確認メールを送信しました。" in page
    assert user_row(app, viewer.user_id).email == "viewer@example.com"  # not before the link
    [confirm] = smtp.to("new-viewer@example.com")
    [notice] = smtp.to("viewer@example.com")
    assert "new-viewer@example.com" in notice.get_content()
    link = smtp.link(confirm)
    assert link.startswith("/account/email/")

    assert as_viewer.get(link).status_code == 200  # GET asks, changes nothing
    assert user_row(app, viewer.user_id).email == "viewer@example.com"
    assert as_viewer.post_form(link).status_code == 303
    assert user_row(app, viewer.user_id).email == "new-viewer@example.com"
    # Single use: the link is dead now, whether opened or sent again.
    assert as_viewer.get(link).status_code == 410
    token = as_viewer.csrf_token("/settings")
    assert as_viewer.post(link, data={"csrf_token": token}).status_code == 410
    assert app.test_client().login("new-viewer@example.com").status_code == 303
    assert {"email.change_requested", "email.change"} <= set(actions(app, viewer.contract_id))


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("owner@example.com", "このEメールアドレスは既に使われています。"),
        ("OWNER@example.com", "このEメールアドレスは既に使われています。"),
        ("viewer@example.com", "現在のEメールアドレスと同じです。"),
        ("not-an-address", "Eメールアドレスの形式が正しくありません。"),
        ("", "Eメールアドレスを入力してください。"),
    ],
)
def test_a_bad_or_taken_address_is_refused_next_to_the_field(
    app: Flask, as_viewer: Client, viewer: Account, smtp: Mailbox, email: str, message: str
) -> None:
    response = as_viewer.post_form("/settings/email", {"email": email}, token_from="/settings")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="email-error"' in html and message in html
    assert smtp.messages == []
    assert "email.change_requested" not in actions(app, viewer.contract_id)


def test_an_address_taken_between_the_check_and_the_change_is_refused(
    app: Flask, as_viewer: Client, viewer: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webapp.settings.forms

    monkeypatch.setattr(webapp.settings.forms, "email_in_use", lambda email: False)
    response = as_viewer.post_form(
        "/settings/email", {"email": "owner@example.com"}, token_from="/settings"
    )
    assert response.status_code == 422
    assert "このEメールアドレスは既に使われています。" in response.get_data(as_text=True)


def test_an_address_taken_before_the_link_is_followed_is_refused_there(
    app: Flask, as_viewer: Client, viewer: Account, smtp: Mailbox
) -> None:
    as_viewer.post_form("/settings/email", {"email": "wanted@example.com"}, token_from="/settings")
    link = smtp.link(smtp.to("wanted@example.com")[0])
    with app.app_context():
        UserFactory(email="wanted@example.com")
    assert as_viewer.post_form(link).status_code == 422
    assert user_row(app, viewer.user_id).email == "viewer@example.com"


def test_the_language_is_kept_on_the_account(
    app: Flask, as_viewer: Client, viewer: Account
) -> None:
    response = as_viewer.post_form("/settings/language", {"language": "en"}, token_from="/settings")
    assert response.status_code == 303
    assert "lang=en" in response.headers["Set-Cookie"]
    assert user_row(app, viewer.user_id).locale == "en"
    page = as_viewer.get("/settings").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Account settings" in page
    assert "user.language" in actions(app, viewer.contract_id)

    # Another browser without the cookie speaks the account's language too.
    other = app.test_client()
    other.login(viewer.email)
    assert '<html lang="en">' in other.get("/settings").get_data(as_text=True)


def test_an_unknown_language_is_refused(app: Flask, as_viewer: Client, viewer: Account) -> None:
    before = user_row(app, viewer.user_id).locale
    response = as_viewer.post_form("/settings/language", {"language": "xx"}, token_from="/settings")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="language-error"' in html and "一覧から選択してください。" in html
    assert user_row(app, viewer.user_id).locale == before


def test_a_general_user_changes_only_their_own_account(
    app: Flask, as_viewer: Client, viewer: Account, contractor: Account, smtp: Mailbox
) -> None:
    """No user id is taken from the request: whatever is sent, only the sender changes."""
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        colleague = UserFactory(email="colleague@example.com", contract=contract, role=Role.GENERAL)
        colleague_id, colleague_hash = colleague.id, colleague.password_hash
    owner_hash = user_row(app, contractor.user_id).password_hash
    for extra in ({"user_id": colleague_id}, {"user_id": contractor.user_id}):
        as_viewer.post_form(
            "/settings/password", {**password_change(), **extra}, token_from="/settings"
        )
        as_viewer.post_form(
            "/settings/email", {"email": "moved@example.com", **extra}, token_from="/settings"
        )
    assert user_row(app, colleague_id).password_hash == colleague_hash
    assert user_row(app, contractor.user_id).password_hash == owner_hash
    assert user_row(app, colleague_id).email == "colleague@example.com"
    assert smtp.to("colleague@example.com") == [] and smtp.to("owner@example.com") == []
    # The contractor's own screens, and the user management ones, stay closed to them.
    for path in ("/account/edit", f"/users/{colleague_id}", f"/users/{contractor.user_id}"):
        assert as_viewer.get(path).status_code == 404, path
    token = as_viewer.csrf_token("/settings")
    refused = as_viewer.post(
        f"/users/{colleague_id}/email", data={"csrf_token": token, "email": "x@example.com"}
    )
    assert refused.status_code == 404
    assert user_row(app, colleague_id).email == "colleague@example.com"
