"""ユーザー管理: invitations, the seat limit, e-mail changes, deletion, what a viewer sees."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, UserFactory
from tests.support.mail import Mailbox
from webapp.enums import Role
from webapp.extensions import db
from webapp.models import AuditEvent, Contract, User
from webapp.services.refusals import SeatLimitReached
from webapp.services.users import invite_user

PASSWORD = "fresh passphrase 1"


def general_users(app: Flask, contract_id: int) -> list[User]:
    with app.app_context():
        users = db.session.scalars(
            select(User).where(User.contract_id == contract_id, User.role == Role.GENERAL)
        ).all()
        for user in users:
            db.session.expunge(user)
        return list(users)


def invite(client: Client, email: str):
    return client.post_form("/users/new", {"email": email})


def test_invitation_to_first_login(
    app: Flask, logged_in: Client, contractor: Account, smtp: Mailbox
) -> None:
    html = logged_in.get("/users").get_data(as_text=True)
    assert ">ユーザー登録</a>" in html
    response = invite(logged_in, "Viewer@Example.com")
    assert response.status_code == 303
    [user] = general_users(app, contractor.contract_id)
    assert user.email == "viewer@example.com"
    assert user.password_hash is None
    assert "招待中" in logged_in.get("/users").get_data(as_text=True)

    [mail] = smtp.to("viewer@example.com")
    assert "ユーザー登録のご案内" in mail["Subject"]
    link = smtp.link(mail)
    viewer = app.test_client()
    assert viewer.login("viewer@example.com", "anything at all").status_code == 401
    page = viewer.get(link).get_data(as_text=True)
    assert '<h1 id="reset-heading">パスワードの設定</h1>' in page
    assert "viewer@example.com のパスワードを設定してください" in page
    assert viewer.post_form(link, {"password": PASSWORD, "confirm": PASSWORD}).status_code == 303
    assert viewer.get(link).status_code == 410
    assert viewer.login("viewer@example.com", PASSWORD).status_code == 303
    assert viewer.get("/").status_code == 200
    assert "有効" in logged_in.get("/users").get_data(as_text=True)


def test_an_invitation_is_pending_until_a_password_is_chosen() -> None:
    assert User(password_hash=None).invitation_pending
    assert not User(password_hash="$argon2id$...").invitation_pending


def test_pending_and_active_users_are_told_apart(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        pending = UserFactory(contract=contract, role=Role.GENERAL, password_hash=None).id
        active = UserFactory(contract=contract, role=Role.GENERAL).id
    listing = logged_in.get("/users").get_data(as_text=True)
    assert listing.count('<span class="badge badge-awaiting_setup">招待中</span>') == 1
    assert listing.count('<span class="badge badge-active">有効</span>') == 1
    waiting = logged_in.get(f"/users/{pending}").get_data(as_text=True)
    assert "<td>招待中 (パスワード未設定)</td>" in waiting
    assert ">招待メールを再送信</button>" in waiting
    settled = logged_in.get(f"/users/{active}").get_data(as_text=True)
    assert "<td>有効</td>" in settled
    assert "招待メールを再送信" not in settled


def test_the_seat_limit(app: Flask, logged_in: Client, contractor: Account, smtp: Mailbox) -> None:
    with app.app_context():
        db.session.get(Contract, contractor.contract_id).seat_limit = 2
        db.session.commit()
    assert invite(logged_in, "a@example.com").status_code == 303
    assert invite(logged_in, "b@example.com").status_code == 303
    full = invite(logged_in, "c@example.com")
    assert full.status_code == 409
    assert "登録できるユーザーは2人までです。" in full.get_data(as_text=True)
    assert len(general_users(app, contractor.contract_id)) == 2
    assert smtp.to("c@example.com") == []


def test_parallel_invitations_respect_the_seat_limit(
    app: Flask, contractor: Account, smtp: Mailbox
) -> None:
    with app.app_context():
        db.session.get(Contract, contractor.contract_id).seat_limit = 3
        db.session.commit()
    outcomes: list[str] = []

    def invite_one(n: int) -> None:
        with app.test_request_context():
            contract = db.session.get(Contract, contractor.contract_id)
            try:
                invite_user(contract, f"racer{n}@example.com")
                outcomes.append("ok")
            except SeatLimitReached:
                outcomes.append("full")
            except Exception as exc:  # a database busy error would show here
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=invite_one, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full"] * 3 + ["ok"] * 3
    assert len(general_users(app, contractor.contract_id)) == 3


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Eメールアドレスを入力してください。"),
        ("nope", "形式が正しくありません"),
        ("owner@example.com", "既に使われています"),
        ("x" * 250 + "@example.com", "254文字以内"),
    ],
)
def test_bad_invitations_are_explained(
    app: Flask, logged_in: Client, contractor: Account, email: str, message: str
) -> None:
    response = invite(logged_in, email)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert general_users(app, contractor.contract_id) == []


def test_detail_change_email_and_delete(
    app: Flask, logged_in: Client, contractor: Account, smtp: Mailbox
) -> None:
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        user = UserFactory(email="old-viewer@example.com", contract=contract, role=Role.GENERAL)
        user_id = user.id
    detail = logged_in.get(f"/users/{user_id}").get_data(as_text=True)
    assert "old-viewer@example.com" in detail and ">削除</a>" in detail

    changed = logged_in.post_form(
        f"/users/{user_id}/email",
        {"email": "new-viewer@example.com"},
        token_from=f"/users/{user_id}",
    )
    assert changed.status_code == 303
    assert smtp.to("new-viewer@example.com") and smtp.to("old-viewer@example.com")
    taken = logged_in.post_form(
        f"/users/{user_id}/email", {"email": "owner@example.com"}, token_from=f"/users/{user_id}"
    )
    assert taken.status_code == 422

    confirm = logged_in.get(f"/users/{user_id}/delete").get_data(as_text=True)
    assert "new-viewer@example.com" in confirm
    assert ">キャンセル</a>" in confirm and ">削除</button>" in confirm
    token = logged_in.csrf_token(f"/users/{user_id}/delete")
    first = logged_in.post(f"/users/{user_id}/delete", data={"csrf_token": token})
    assert first.status_code == 303
    second = logged_in.post(f"/users/{user_id}/delete", data={"csrf_token": token})
    assert second.status_code == 410
    assert "既に削除されています" in second.get_data(as_text=True)
    assert logged_in.get(f"/users/{user_id}").status_code == 410
    assert general_users(app, contractor.contract_id) == []
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "user.delete")
            )
            == 1
        )


def test_a_deleted_user_is_logged_out(app: Flask, logged_in: Client, contractor: Account) -> None:
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        user_id = UserFactory(email="gone@example.com", contract=contract, role=Role.GENERAL).id
    viewer = app.test_client()
    viewer.login("gone@example.com")
    assert viewer.get("/").status_code == 200
    logged_in.post_form(f"/users/{user_id}/delete")
    assert viewer.get("/").status_code == 302


def test_other_contracts_users_are_404(app: Flask, logged_in: Client, stranger: Account) -> None:
    with app.app_context():
        contract = db.session.get(Contract, stranger.contract_id)
        foreign = UserFactory(email="theirs@example.com", contract=contract, role=Role.GENERAL).id
    for path in (f"/users/{foreign}", f"/users/{foreign}/delete", f"/users/{stranger.user_id}"):
        assert logged_in.get(path).status_code == 404
    assert logged_in.post_form(f"/users/{foreign}/delete", token_from="/users").status_code == 404
    assert general_users(app, stranger.contract_id)


def test_a_viewer_sees_only_the_devices_allowed(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        user_id = UserFactory(email="v@example.com", contract=contract, role=Role.GENERAL).id
        lobby = DeviceFactory(contract_id=contractor.contract_id, name="ロビー").id
        DeviceFactory(contract_id=contractor.contract_id, name="金庫室")
    viewer = app.test_client()
    viewer.login("v@example.com")
    everything = viewer.get("/").get_data(as_text=True)
    assert "ロビー" in everything and "金庫室" in everything

    page = logged_in.get(f"/users/{user_id}").get_data(as_text=True)
    assert "すべての機器" in page and "選択した機器のみ" in page
    token = logged_in.csrf_token(f"/users/{user_id}")
    response = logged_in.post(
        f"/users/{user_id}/devices",
        data={
            "csrf_token": token,
            "scope": "selected",
            "shown": [str(lobby), str(lobby + 1)],
            "device": [str(lobby)],
        },
    )
    assert response.status_code == 303
    limited = viewer.get("/").get_data(as_text=True)
    assert "ロビー" in limited and "金庫室" not in limited
    assert "登録機器: 1台" in limited


def test_an_invitation_that_cannot_be_mailed_keeps_the_user_and_says_so(
    app: Flask,
    logged_in: Client,
    contractor: Account,
    smtp: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import webapp.mail

    deliver = webapp.mail.deliver

    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(webapp.mail, "deliver", refuse)
    response = invite(logged_in, "unlucky@example.com")
    assert response.status_code == 303  # never an error page for a saved invitation
    [user] = general_users(app, contractor.contract_id)
    page = logged_in.get(f"/users/{user.id}").get_data(as_text=True)
    assert "招待メールを送信できませんでした" in page

    monkeypatch.setattr(webapp.mail, "deliver", deliver)
    resent = logged_in.post_form(f"/users/{user.id}/resend", token_from=f"/users/{user.id}")
    assert resent.status_code == 303
    assert len(smtp.to("unlucky@example.com")) == 1


def test_a_deleted_users_screens_answer_410_and_htmx_goes_back_to_the_list(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        user_id = UserFactory(email="leaving@example.com", contract=contract, role=Role.GENERAL).id
    token = logged_in.csrf_token(f"/users/{user_id}/delete")
    assert logged_in.post(f"/users/{user_id}/delete", data={"csrf_token": token}).status_code == 303
    gone = logged_in.get(f"/users/{user_id}")
    assert gone.status_code == 410
    assert "ユーザー leaving@example.com は削除済みです。" in gone.get_data(as_text=True)
    swapped = logged_in.get(f"/users/{user_id}", headers={"HX-Request": "true"})
    assert swapped.headers["HX-Redirect"] == "/users"
    assert "このユーザーは既に削除されています。" in logged_in.get("/users").get_data(as_text=True)
