"""English as a second language: every screen and mail, chosen by account, cookie or browser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory
from tests.support.mail import Mailbox
from webapp.extensions import db
from webapp.models import User

ROOT = Path(__file__).parents[3]
CATALOG = ROOT / "webapp" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
TEMPLATE = ROOT / "webapp" / "translations" / "messages.pot"
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


def test_every_text_has_an_english_translation() -> None:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    missing = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert missing == []
    assert fuzzy == []


def test_the_catalog_template_is_up_to_date(tmp_path: Path) -> None:
    """Every marked text in the code is in messages.pot (run `make messages` otherwise)."""
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "N_",
            "--no-location",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with fresh.open("rb") as new, TEMPLATE.open("rb") as old:
        assert {m.id for m in read_po(new)} == {m.id for m in read_po(old)}


def test_the_browser_language_chooses_english(client: Client) -> None:
    html = client.get("/login", headers=ENGLISH).get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Log in" in html
    assert "ログイン" not in html.split("</header>")[1]


def test_japanese_is_the_default(client: Client) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="ja">' in html and "ログイン" in html
    assert (
        client.get("/login", headers={"Accept-Language": "fr"})
        .get_data(as_text=True)
        .count("ログイン")
        > 1
    )


def test_the_switch_remembers_the_choice(app: Flask, client: Client, contractor: Account) -> None:
    token = client.csrf_token()
    response = client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "Log in" in client.get("/login").get_data(as_text=True)
    # Logged in, the account keeps the choice, whatever the browser says.
    client.login(contractor.email)
    token = client.csrf_token("/")
    client.post("/language", data={"lang": "ja", "next": "/", "csrf_token": token})
    with app.app_context():
        assert db.session.get(User, contractor.user_id).locale == "ja"
    client.delete_cookie("lang")
    assert "ポータル" in client.get("/", headers=ENGLISH).get_data(as_text=True)


def test_the_switch_refuses_other_languages_and_open_redirects(client: Client) -> None:
    token = client.csrf_token()
    response = client.post(
        "/language", data={"lang": "xx", "next": "https://evil.example/", "csrf_token": token}
    )
    assert response.headers["Location"] == "/"
    assert client.get_cookie("lang") is None


def test_screens_statuses_and_messages_in_english(
    app: Flask, client: Client, contractor: Account
) -> None:
    with app.app_context():
        db.session.get(User, contractor.user_id).locale = "en"
        db.session.commit()
        device_id = DeviceFactory(contract_id=contractor.contract_id, name="Lobby").id
    client.login(contractor.email)
    listing = client.get("/devices").get_data(as_text=True)
    assert "Device list" in listing and "機器一覧" not in listing
    detail = client.get(f"/devices/{device_id}").get_data(as_text=True)
    assert "Online" in detail and "通信中" not in detail
    refused = client.post_form(f"/devices/{device_id}/delete", {})
    assert refused.status_code == 422
    assert "確認事項" not in refused.get_data(as_text=True)


def test_mails_follow_the_readers_language(
    app: Flask, client: Client, contractor: Account, smtp: Mailbox
) -> None:
    with app.app_context():
        db.session.get(User, contractor.user_id).locale = "en"
        db.session.commit()
    client.post_form("/password/forgot", {"email": contractor.email})
    [mail] = smtp.to(contractor.email)
    assert mail["Subject"].isascii() or "パスワード" not in mail["Subject"]
    assert "パスワード" not in mail.get_content()


@pytest.mark.parametrize("path", ["/login", "/password/forgot"])
def test_public_screens_have_no_japanese_left_in_english(client: Client, path: str) -> None:
    import re

    html = client.get(path, headers=ENGLISH).get_data(as_text=True)
    body = re.sub(r"<form class=\"language-switch\".*?</form>", "", html, flags=re.S)
    body = body.replace("みえますねっと", "")
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", body)
