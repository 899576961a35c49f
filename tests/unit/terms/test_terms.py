"""規約: versions, acceptance at the next login, the record of who accepted what."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from webapp.extensions import db
from webapp.models import TermsAcceptance, User
from webapp.services.terms import publish_bundled_terms, publish_terms


def test_terms_page_shows_the_current_version(app: Flask, logged_in: Client) -> None:
    html = logged_in.get("/terms").get_data(as_text=True)
    assert "第1.0版" in html and "第1条 (適用)" in html
    with app.app_context():
        publish_terms("2.0", "第1条 (新しい条文)\n改定しました。")
        db.session.get(User, 1).terms_version = "2.0"
        db.session.commit()
    assert "改定しました。" in logged_in.get("/terms").get_data(as_text=True)


def test_a_new_version_must_be_accepted_at_the_next_request(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        publish_bundled_terms()
    blocked = logged_in.get("/devices?page=2")
    assert blocked.status_code == 302
    assert blocked.headers["Location"].startswith("/terms/accept")
    htmx = logged_in.get("/devices", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].startswith("/terms/accept")
    page = logged_in.get(blocked.headers["Location"]).get_data(as_text=True)
    # This user never accepted any version: they are asked to agree, not told of an update.
    assert "規約への同意" in page and ">同意する</button>" in page

    refused = logged_in.post_form(blocked.headers["Location"], {})
    assert refused.status_code == 422
    assert "チェックボックスにチェックしてください" in refused.get_data(as_text=True)
    accepted = logged_in.post_form(blocked.headers["Location"], {"agree": "y"})
    assert accepted.status_code == 303
    assert accepted.headers["Location"] == "/devices?page=2"
    assert logged_in.get("/devices").status_code == 200
    with app.app_context():
        record = db.session.scalars(select(TermsAcceptance)).one()
        assert (record.user_id, record.version) == (contractor.user_id, "1.0")


def test_logout_stays_possible_without_accepting(app: Flask, logged_in: Client) -> None:
    with app.app_context():
        publish_bundled_terms()
    assert logged_in.post_form("/logout", token_from="/terms/accept").status_code == 303


def test_publish_terms_command(app: Flask, tmp_path, logged_in: Client) -> None:
    text = tmp_path / "terms.txt"
    text.write_text("第1条 (改定)\n新しい規約です。", encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["publish-terms", "--version", "2.0", "--file", str(text)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["publish-terms", "--version", "2.0", "--file", str(text)])
    assert "already published" in again.output
    assert logged_in.get("/").headers["Location"].startswith("/terms/accept")


def test_a_user_who_accepted_before_is_told_of_the_update(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        publish_bundled_terms()
        db.session.get(User, contractor.user_id).terms_version = "0.9"
        db.session.commit()
    page = logged_in.get("/terms/accept").get_data(as_text=True)
    assert "規約が更新されました" in page
