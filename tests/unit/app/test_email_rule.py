"""One e-mail rule everywhere: what the operator's commands take, the portal's forms take."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.client import Client
from webapp.extensions import db
from webapp.models import Contract
from webapp.services.contracts import create_contract
from webapp.services.refusals import InvalidEmail

# Addresses no mail reaches or no form takes: doubled @, special-use and dotless domains.
REFUSED = ["bad@@x", "someone@example.test", "nobody@example.invalid", "a@localhost", "x@y", "@"]
DETAILS = {
    "company_name": "",
    "name": "新規 契約者",
    "furigana": "シンキ ケイヤクシャ",
    "postal_code": "1000001",
    "address": "東京都千代田区千代田1-1",
    "phone_work": "03-1234-5678",
    "phone_mobile": "",
    "phone_home": "",
}


def contracts(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Contract.id))) or 0


@pytest.mark.parametrize("address", REFUSED)
def test_create_contract_refuses_what_the_forms_refuse(
    app: Flask, logged_in: Client, address: str
) -> None:
    before = contracts(app)
    result = app.test_cli_runner().invoke(
        args=["create-contract", "--email", address, "--name", "x", "--password", "pw-123456"]
    )
    assert result.exit_code == 2, result.output
    assert "not an e-mail address the portal's forms accept" in result.output
    assert contracts(app) == before

    with app.app_context(), pytest.raises(InvalidEmail):
        create_contract(email=address, password="pw-123456", name="x")
    assert contracts(app) == before

    # The same text in 契約者情報の変更 and in アカウント設定's e-mail change.
    for path, data, token_from in (
        ("/account/edit", {**DETAILS, "email": address}, "/account/edit"),
        ("/settings/email", {"email": address}, "/settings"),
    ):
        response = logged_in.post_form(path, data, token_from=token_from)
        assert response.status_code == 422, path
        assert "Eメールアドレスの形式が正しくありません。" in response.get_data(as_text=True)


def test_seed_demo_refuses_a_bad_address_before_touching_anything(app: Flask) -> None:
    before = contracts(app)
    result = app.test_cli_runner().invoke(args=["seed-demo", "--email", "bad@@x", "--devices", "1"])
    assert result.exit_code == 2
    assert contracts(app) == before


def test_an_operators_contractor_can_save_their_details(app: Flask, client: Client) -> None:
    """The address is kept as the forms keep it (trimmed, lower case), and they take it back."""
    result = app.test_cli_runner().invoke(
        args=[
            "create-contract",
            "--email",
            " New.Owner+Cams@Example.COM ",
            "--name",
            "新規 契約者",
            "--password",
            "pw-123456",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "new.owner+cams@example.com" in result.output
    assert client.login("new.owner+cams@example.com", "pw-123456").status_code == 303
    saved = client.post_form("/account/edit", {**DETAILS, "email": "new.owner+cams@example.com"})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:500]
