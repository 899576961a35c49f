"""契約者情報設定 「変更画面へ」: details, e-mail change by link, password change."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.support.client import Account, Client
from tests.support.factories import UserFactory
from tests.support.mail import Mailbox
from webapp.enums import TokenPurpose
from webapp.extensions import db
from webapp.models import Contract, User, UserToken

VALID = {
    "company_name": "株式会社テスト",
    "name": "山田 太郎",
    "furigana": "やまだ たろう",
    "postal_code": "１００－０００１",
    "address": "東京都千代田区千代田1-1",
    "phone_work": "",
    "phone_mobile": "090-1234-5678",
    "phone_home": "",
    "wants_news": "y",
    "email": "owner@example.com",
}


def contract_of(app: Flask, account: Account) -> Contract:
    with app.app_context():
        contract = db.session.get(Contract, account.contract_id)
        db.session.expunge(contract)
        return contract


def test_the_info_screen_offers_the_edit(logged_in: Client) -> None:
    html = logged_in.get("/account").get_data(as_text=True)
    assert 'href="/account/edit"' in html and ">変更画面へ</a>" in html
    edit = logged_in.get("/account/edit").get_data(as_text=True)
    for label in (
        "法人名・屋号",
        "お名前",
        "フリガナ",
        "郵便番号",
        "住所",
        "勤務先",
        "携帯電話",
        "自宅",
    ):
        assert label in edit
    assert ">変更</button>" in edit and ">戻る</a>" in edit


def test_details_are_saved_normalised(app: Flask, logged_in: Client, contractor: Account) -> None:
    response = logged_in.post_form("/account/edit", VALID)
    assert response.status_code == 303
    contract = contract_of(app, contractor)
    assert contract.furigana == "ヤマダ タロウ"  # hiragana became katakana
    assert contract.postal_code == "1000001"
    assert contract.phone_mobile == "090-1234-5678"
    assert contract.wants_news is True
    info = logged_in.get("/account").get_data(as_text=True)
    assert "契約者情報を変更しました。" in info
    assert "〒100-0001" in info and "希望する" in info


def test_half_width_katakana_is_converted(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    logged_in.post_form("/account/edit", {**VALID, "furigana": "ﾔﾏﾀﾞ ﾀﾛｳ"})
    assert contract_of(app, contractor).furigana == "ヤマダ タロウ"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "お名前を入力してください。"),
        ({"furigana": "山田"}, "furigana", "フリガナはカタカナで入力してください。"),
        ({"postal_code": "12345"}, "postal_code", "郵便番号は7桁の数字"),
        ({"phone_mobile": ""}, "phone_work", "いずれか1つ以上"),
        ({"phone_home": "03-12"}, "phone_home", "電話番号は数字と「-」で"),
        ({"address": "あ" * 201}, "address", "200文字以内"),
        ({"email": "not-an-address"}, "email", "形式が正しくありません"),
        ({"email": "taken@example.com"}, "email", "既に使われています"),
    ],
)
def test_bad_details_are_refused_and_nothing_changes(
    app: Flask, logged_in: Client, contractor: Account, changes: dict, field: str, message: str
) -> None:
    with app.app_context():
        UserFactory(email="taken@example.com")
    before = contract_of(app, contractor)
    response = logged_in.post_form("/account/edit", {**VALID, **changes})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert message in html
    after = contract_of(app, contractor)
    assert (after.name, after.furigana, after.postal_code) == (
        before.name,
        before.furigana,
        before.postal_code,
    )


def test_an_email_change_takes_effect_only_through_the_link(
    app: Flask, logged_in: Client, contractor: Account, smtp: Mailbox
) -> None:
    response = logged_in.post_form("/account/edit", {**VALID, "email": "new-owner@example.com"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(User, contractor.user_id).email == "owner@example.com"
    [confirm] = smtp.to("new-owner@example.com")
    [notice] = smtp.to("owner@example.com")
    assert "new-owner@example.com" in notice.get_content()
    link = smtp.link(confirm)
    assert link.startswith("/account/email/")

    page = logged_in.get(link)  # GET changes nothing
    assert "変更を確定する" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, contractor.user_id).email == "owner@example.com"
    assert logged_in.post_form(link).status_code == 303
    with app.app_context():
        assert db.session.get(User, contractor.user_id).email == "new-owner@example.com"
    assert logged_in.get(link).status_code == 410


def test_an_address_taken_meanwhile_is_refused_at_the_link(
    app: Flask, logged_in: Client, contractor: Account, smtp: Mailbox
) -> None:
    logged_in.post_form("/account/edit", {**VALID, "email": "wanted@example.com"})
    link = smtp.link(smtp.to("wanted@example.com")[0])
    with app.app_context():
        UserFactory(email="wanted@example.com")
    assert logged_in.post_form(link).status_code == 422
    with app.app_context():
        assert db.session.get(User, contractor.user_id).email == "owner@example.com"


def test_a_password_change_needs_the_current_password(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    new = {"new_password": "another fine phrase", "confirm_password": "another fine phrase"}
    refused = logged_in.post_form("/account/edit", {**VALID, **new})
    assert refused.status_code == 422
    assert "現在のパスワードを入力してください" in refused.get_data(as_text=True)
    wrong = logged_in.post_form("/account/edit", {**VALID, **new, "current_password": "nope"})
    assert "現在のパスワードが正しくありません。" in wrong.get_data(as_text=True)

    other_browser = app.test_client()
    other_browser.login(contractor.email)
    ok = logged_in.post_form(
        "/account/edit", {**VALID, **new, "current_password": "correct horse battery"}
    )
    assert ok.status_code == 303
    assert logged_in.get("/").status_code == 200  # this browser stays logged in
    assert other_browser.get("/").status_code == 302  # the others are logged out
    fresh = app.test_client()
    assert fresh.login(contractor.email, "another fine phrase").status_code == 303


def test_guessing_the_current_password_on_the_edit_is_limited(logged_in: Client) -> None:
    new = {"new_password": "another fine phrase", "confirm_password": "another fine phrase"}
    for _ in range(5):
        wrong = logged_in.post_form("/account/edit", {**VALID, **new, "current_password": "no"})
        assert wrong.status_code == 422
    # Details without a password change are not guesses, yet the screen is closed for now.
    blocked = logged_in.post_form(
        "/account/edit", {**VALID, **new, "current_password": "correct horse battery"}
    )
    assert blocked.status_code == 429


def test_fields_the_browser_leaves_out_read_as_empty(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    sparse = {
        k: v for k, v in VALID.items() if k not in {"company_name", "phone_home", "wants_news"}
    }
    response = logged_in.post_form("/account/edit", sparse)
    assert response.status_code == 303
    contract = contract_of(app, contractor)
    assert (contract.company_name, contract.phone_home, contract.wants_news) == ("", "", False)


def test_a_mail_server_down_never_turns_a_saved_change_into_an_error_page(
    app: Flask, logged_in: Client, contractor: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webapp.mail

    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(webapp.mail, "deliver", refuse)
    response = logged_in.post_form(
        "/account/edit", {**VALID, "address": "大阪府大阪市北区1-1", "email": "new@example.com"}
    )
    assert response.status_code == 303
    page = logged_in.get("/account").get_data(as_text=True)
    assert "確認メールを送信できませんでした" in page
    assert "大阪府大阪市北区1-1" in page  # the details are saved
    with app.app_context():
        assert db.session.get(User, contractor.user_id).email == "owner@example.com"
        assert (
            db.session.query(UserToken)
            .filter_by(user_id=contractor.user_id, purpose=TokenPurpose.EMAIL_CHANGE)
            .count()
            == 1
        )


def test_details_and_an_email_change_succeed_or_fail_together(
    app: Flask, logged_in: Client, contractor: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An address taken between the form's check and the change: nothing is saved."""
    import webapp.account.forms

    with app.app_context():
        UserFactory(email="taken@example.com")
    monkeypatch.setattr(webapp.account.forms, "email_in_use", lambda email: False)
    before = contract_of(app, contractor)
    response = logged_in.post_form(
        "/account/edit", {**VALID, "address": "大阪府大阪市北区1-1", "email": "taken@example.com"}
    )
    assert response.status_code == 422
    assert "このEメールアドレスは既に使われています。" in response.get_data(as_text=True)
    assert contract_of(app, contractor).address == before.address
    with app.app_context():
        assert db.session.query(UserToken).filter_by(user_id=contractor.user_id).count() == 0
