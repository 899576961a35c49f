"""After withdrawal, a mail tells the contractor what was deleted and when.

The account goes with everything else, so the address and the language are read first;
the mail leaves after the commit, and a mail server that fails never undoes withdrawal.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, LicenceFactory, UserFactory, add_recipient
from tests.support.mail import Mailbox
from webapp import clock
from webapp.enums import LicenceState, Role
from webapp.extensions import db
from webapp.models import Contract, User, utcnow
from webapp.services.account import withdraw_contract
from webapp.services.refusals import DevicesRemain

ACKS = {"ack_irreversible": "y", "ack_new_contract": "y"}


@pytest.fixture
def household(app: Flask, contractor: Account) -> None:
    """The contractor 山田 太郎, a general user, two notification addresses, two licences."""
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        contract.name = "山田 太郎"
        db.session.commit()
        UserFactory(email="viewer@example.com", contract=contract, role=Role.GENERAL)
        add_recipient(contract, "alerts@example.com")
        add_recipient(contract, "night@example.com")
        LicenceFactory(contract_id=contract.id, state=LicenceState.UNUSED)
        LicenceFactory(contract_id=contract.id, state=LicenceState.REVOKED)


def test_the_contractor_is_told_what_was_deleted_and_when(
    logged_in: Client, contractor: Account, household: None, smtp: Mailbox
) -> None:
    before = utcnow()
    assert logged_in.post_form("/account/withdraw", ACKS).status_code == 303
    after = utcnow()
    mail = smtp.wait_for(contractor.email, "退会処理が完了しました")
    assert mail.subject == "【みえますねっと】退会処理が完了しました"
    body = mail.body
    for text in (
        "山田 太郎 様",
        "ユーザー 2人、ご契約者を含む",
        "通知先 2件",
        "ライセンスキー 2件は失効しました",
        "操作履歴",
    ):
        assert text in body, text
    stamps = {clock.local(moment).strftime("%Y/%m/%d %H:%M") for moment in (before, after)}
    assert any(f"退会日時: {stamp} (Asia/Tokyo)" in body for stamp in stamps)
    # Only the contractor is written to; the other addresses go unmailed.
    assert [m.envelope_to for m in smtp.messages] == [(contractor.email,)]


def test_the_mail_is_in_the_language_the_contractor_chose(
    app: Flask, logged_in: Client, contractor: Account, household: None, smtp: Mailbox
) -> None:
    with app.app_context():
        db.session.get(User, contractor.user_id).locale = "en"
        db.session.commit()
    logged_in.post_form("/account/withdraw", ACKS)
    mail = smtp.wait_for(contractor.email, "withdrawal is complete")
    assert mail.subject == "[みえますねっと] Your withdrawal is complete"
    assert "Dear 山田 太郎," in mail.body
    assert "2 users, the contractor included" in mail.body
    assert "2 licence keys, now revoked" in mail.body


def test_the_mail_leaves_after_the_commit(
    app: Flask,
    logged_in: Client,
    contractor: Account,
    smtp: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import webapp.mail

    deliver = webapp.mail.deliver
    seen: list[bool] = []

    def deliver_and_look(message: object) -> None:
        # Another connection sees only what is committed: the account must be gone.
        with db.engine.connect() as connection:
            found = connection.scalar(select(User.id).where(User.email == contractor.email))
            seen.append(found is None)
        deliver(message)  # type: ignore[arg-type]

    monkeypatch.setattr(webapp.mail, "deliver", deliver_and_look)
    logged_in.post_form("/account/withdraw", ACKS)
    assert seen == [True]
    smtp.wait_for(contractor.email, "退会処理が完了しました")


def test_a_refused_withdrawal_mails_nothing(app: Flask, contractor: Account, smtp: Mailbox) -> None:
    with app.app_context():
        DeviceFactory(contract_id=contractor.contract_id)
        with pytest.raises(DevicesRemain):
            withdraw_contract(db.session.get(Contract, contractor.contract_id))
    assert smtp.messages == []


def test_a_mail_server_down_never_blocks_nor_undoes_withdrawal(
    app: Flask,
    logged_in: Client,
    contractor: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import webapp.mail

    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(webapp.mail, "deliver", refuse)
    response = logged_in.post_form("/account/withdraw", ACKS)
    assert response.status_code == 303
    done = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "退会処理が完了しました。" in done
    assert "owner@example.com にお知らせメールを送信できませんでした。" in done
    with app.app_context():
        assert db.session.get(Contract, contractor.contract_id) is None
