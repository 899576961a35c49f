"""契約者情報確認 and withdrawal: blocked while devices remain, then everything goes."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.client import Account, Client
from tests.support.databases import sqlite_only
from tests.support.factories import (
    DeviceFactory,
    LicenceFactory,
    UserFactory,
    add_recipient,
    add_recordings,
)
from webapp import storage
from webapp.enums import LicenceState, Role
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Contract,
    Device,
    Licence,
    LoginSession,
    NotificationRecipient,
    User,
)
from webapp.services.account import withdraw_contract
from webapp.services.refusals import DevicesRemain

ACKS = {"ack_irreversible": "y", "ack_new_contract": "y"}
NOTE_1 = "退会処理を実行後、削除されたデータを元に戻すことはできません。"
NOTE_2 = "再度「みえますねっと」をご利用いただく場合は新規のご契約となります。"


@pytest.fixture
def household(app: Flask, contractor: Account) -> dict[str, object]:
    """A contract with a general user, notification addresses and an unused licence."""
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        contract.name = "山田 太郎"
        contract.address = "東京都千代田区秘密町1-2-3"
        db.session.commit()
        UserFactory(email="viewer-of-owner@example.com", contract=contract, role=Role.GENERAL)
        add_recipient(contract, "alerts-of-owner@example.com")
        spare = LicenceFactory(contract_id=contract.id, state=LicenceState.UNUSED)
        return {"spare_licence": spare.id}


def test_contractor_info_shows_the_manual_fields(logged_in: Client, household: dict) -> None:
    html = logged_in.get("/account").get_data(as_text=True)
    for label in (
        "契約者情報確認",
        "Eメールアドレス",
        "パスワード",
        "法人名・屋号",
        "お名前",
        "フリガナ",
        "郵便番号",
        "住所",
        "電話番号",
        "勤務先",
        "携帯電話",
        "自宅",
        "お知らせメール",
        "退会手続き",
    ):
        assert label in html, label
    assert "owner@example.com" in html
    assert "山田 太郎" in html
    assert "********" in html
    assert "〒100-0001" in html


def test_withdrawal_is_blocked_while_devices_remain(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        DeviceFactory(contract_id=contractor.contract_id)
    page = logged_in.get("/account/withdraw")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "登録している機器が残っているため、退会できません。" in html
    assert 'href="/devices">機器一覧へ</a>' in html
    assert "退会最終確認" not in html

    refused = logged_in.post_form("/account/withdraw", ACKS, token_from="/account")
    assert refused.status_code == 409
    assert "退会できません" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Contract, contractor.contract_id) is not None
    assert logged_in.get("/").status_code == 200


def test_the_service_refuses_too(app: Flask, contractor: Account) -> None:
    with app.app_context():
        DeviceFactory(contract_id=contractor.contract_id)
        DeviceFactory(contract_id=contractor.contract_id)
        with pytest.raises(DevicesRemain) as refused:
            withdraw_contract(db.session.get(Contract, contractor.contract_id))
        assert refused.value.count == 2


def test_final_confirmation_shows_both_notes(logged_in: Client) -> None:
    html = logged_in.get("/account/withdraw").get_data(as_text=True)
    assert "退会最終確認" in html
    assert NOTE_1 in html
    assert NOTE_2 in html
    assert "各種情報は引き継がれませんのでご注意ください。" in html
    assert ">戻る</a>" in html
    assert ">退会</button>" in html


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"ack_irreversible": "y"},
        {"ack_new_contract": "y"},
        {"ack_irreversible": "on", "ack_new_contract": "on"},
    ],
)
def test_withdrawal_needs_every_acknowledgement(
    app: Flask, logged_in: Client, contractor: Account, data: dict
) -> None:
    response = logged_in.post_form("/account/withdraw", data)
    assert response.status_code == 422
    assert "退会処理は行われていません" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Contract, contractor.contract_id) is not None


def test_withdrawal_removes_everything_of_the_contract(
    app: Flask,
    logged_in: Client,
    contractor: Account,
    stranger: Account,
    household: dict,
    tmp_path: Path,
) -> None:
    # A device that was deleted earlier left history and a revoked licence behind.
    with app.app_context():
        camera = DeviceFactory(contract_id=contractor.contract_id, name="旧カメラ")
        add_recordings(camera)
        camera_id = camera.id
        stranger_device = DeviceFactory(contract_id=stranger.contract_id).id
    logged_in.post_form(f"/devices/{camera_id}/delete", {"ack_licence": "y", "ack_data": "y"})
    leftover = (
        tmp_path / "recordings" / storage.contract_prefix(contractor.contract_id) / "stray.bin"
    )
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"owner's old clip")

    response = logged_in.post_form("/account/withdraw", ACKS)
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/withdrawn"
    done = logged_in.get("/account/withdrawn").get_data(as_text=True)
    assert "退会処理完了" in done
    assert "退会処理が完了しました。" in done
    assert "ありがとうございました" in done
    assert 'href="/login">「みえますねっと」へ</a>' in done

    with app.app_context():
        contract_id = contractor.contract_id
        assert db.session.get(Contract, contract_id) is None
        assert db.session.scalars(select(User).where(User.contract_id == contract_id)).all() == []
        assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0
        assert (
            db.session.scalars(
                select(NotificationRecipient).where(
                    NotificationRecipient.contract_id == contract_id
                )
            ).all()
            == []
        )
        assert (
            db.session.scalars(select(Device).where(Device.contract_id == contract_id)).all() == []
        )
        # Licences stay revoked for good, with no owner.
        spare = db.session.get(Licence, household["spare_licence"])
        assert spare.contract_id is None
        assert spare.state is LicenceState.REVOKED
        # Only the anonymised record of the withdrawal remains of its history.
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action != "login", AuditEvent.contract_id.is_(None))
        ).all()
        assert [e.action for e in events] == ["contract.withdraw"]
        assert events[0].actor_email == "" and events[0].ip == "" and events[0].user_agent == ""
        assert (
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.contract_id == contract_id)
            ).all()
            == []
        )
        # The stranger is untouched.
        assert db.session.get(Device, stranger_device) is not None
        assert db.session.get(Contract, stranger.contract_id) is not None

    assert not leftover.exists()
    assert not leftover.parent.exists()


@sqlite_only
def test_nothing_of_the_contractor_stays_readable_in_the_database_file(
    app: Flask, logged_in: Client, household: dict, tmp_path: Path
) -> None:
    logged_in.get("/devices?name=秘密の検索")
    assert logged_in.post_form("/account/withdraw", ACKS).status_code == 303
    # Read while the pool's connections are still open: closing them would fold the
    # write-ahead log into the file by itself and hide a missing checkpoint.
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("test.sqlite3*") if path.is_file())
    for secret in (
        "owner@example.com",
        "viewer-of-owner",
        "alerts-of-owner",
        "秘密町",
        "山田 太郎",
    ):
        assert secret.encode() not in raw, secret


def test_the_credentials_and_the_session_no_longer_work(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    copied = logged_in.get_cookie("portal_session")
    logged_in.post_form("/account/withdraw", ACKS)
    assert logged_in.get("/").status_code == 302
    thief = app.test_client()
    thief.set_cookie("portal_session", copied.value)
    assert thief.get("/").status_code == 302
    failed = logged_in.login(contractor.email)
    assert failed.status_code == 401


def test_withdrawal_under_htmx_redirects_the_whole_page(logged_in: Client) -> None:
    token = logged_in.csrf_token("/account/withdraw")
    response = logged_in.post(
        "/account/withdraw", data=ACKS, headers={"HX-Request": "true", "X-CSRFToken": token}
    )
    assert response.headers["HX-Redirect"] == "/account/withdrawn"


def test_the_completion_page_is_only_for_who_just_withdrew(client: Client) -> None:
    assert client.get("/account/withdrawn").status_code == 404


def test_a_second_withdrawal_submit_does_not_crash(app: Flask, logged_in: Client) -> None:
    token = logged_in.csrf_token("/account/withdraw")
    session_cookie = logged_in.get_cookie("portal_session").value
    assert (
        logged_in.post("/account/withdraw", data={**ACKS, "csrf_token": token}).status_code == 303
    )
    # The same request again, as a double click would send it with the old cookie.
    again = app.test_client()
    again.set_cookie("portal_session", session_cookie)
    response = again.post("/account/withdraw", data={**ACKS, "csrf_token": token})
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]
