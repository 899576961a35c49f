"""After a deletion, a mail tells the contractor what was deleted and when.

It leaves only after the commit, in the contractor's language, and a mail server that
fails neither blocks nor undoes the deletion.
"""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, add_recordings
from tests.support.mail import Mailbox
from webapp import clock
from webapp.extensions import db
from webapp.models import Device, User, utcnow
from webapp.services.devices import delete_device
from webapp.services.refusals import DeviceGone

BOTH = {"ack_licence": "y", "ack_data": "y"}


@pytest.fixture
def camera(app: Flask, contractor: Account) -> dict[str, object]:
    with app.app_context():
        device = DeviceFactory(
            contract_id=contractor.contract_id,
            name="倉庫カメラ",
            domain="warehouse.miemasu.test",
            mac="008045ABCDEF",
            model="WV-S1131",
        )
        add_recordings(device, count=3)
        return {"id": device.id, "key": device.licence.key}


def moments_around(action: object) -> tuple[dt.datetime, dt.datetime]:
    before = utcnow().replace(second=0, microsecond=0)
    assert callable(action)
    action()
    return before, utcnow()


def shown(moment: dt.datetime) -> str:
    return clock.local(moment).strftime("%Y/%m/%d %H:%M")


def test_the_contractor_is_told_what_was_deleted_and_when(
    logged_in: Client, camera: dict[str, object], contractor: Account, smtp: Mailbox
) -> None:
    responses = []
    before, after = moments_around(
        lambda: responses.append(logged_in.post_form(f"/devices/{camera['id']}/delete", BOTH))
    )
    assert responses[0].status_code == 303
    mail = smtp.wait_for(contractor.email, "機器を削除しました")
    assert mail.subject == "【みえますねっと】機器を削除しました: 倉庫カメラ"
    body = mail.body
    for text in (
        "機器名: 倉庫カメラ",
        "品番: WV-S1131",
        "MACアドレス: 00:80:45:AB:CD:EF",
        "ドメイン名: warehouse.miemasu.test",
        "録画データ 3件",
        "有効期間が残っていても再利用はできません",
    ):
        assert text in body, text
    # The key masked, as the portal prints it; never whole in a mail.
    key = str(camera["key"])
    assert f"****-{key[-4:]}" in body and key not in body
    assert any(f"削除日時: {shown(moment)} (Asia/Tokyo)" in body for moment in (before, after))
    assert len(smtp.to(contractor.email)) == 1


def test_the_mail_is_in_the_contractors_language(
    app: Flask, logged_in: Client, camera: dict[str, object], contractor: Account, smtp: Mailbox
) -> None:
    with app.app_context():
        db.session.get(User, contractor.user_id).locale = "en"
        db.session.commit()
    logged_in.post_form(f"/devices/{camera['id']}/delete", BOTH)
    mail = smtp.wait_for(contractor.email, "Device deleted")
    assert mail.subject == "[みえますねっと] Device deleted: 倉庫カメラ"
    assert "Domain name: warehouse.miemasu.test" in mail.body
    assert "3 recordings" in mail.body


def test_the_mail_leaves_after_the_commit(
    app: Flask,
    logged_in: Client,
    camera: dict[str, object],
    contractor: Account,
    smtp: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import webapp.mail

    deliver = webapp.mail.deliver
    seen: list[bool] = []

    def deliver_and_look(message: object) -> None:
        # Another connection sees only what is committed: the device must be gone.
        with db.engine.connect() as connection:
            seen.append(
                connection.scalar(select(Device.id).where(Device.id == camera["id"])) is None
            )
        deliver(message)  # type: ignore[arg-type]

    monkeypatch.setattr(webapp.mail, "deliver", deliver_and_look)
    logged_in.post_form(f"/devices/{camera['id']}/delete", BOTH)
    assert seen == [True]
    smtp.wait_for(contractor.email, "機器を削除しました")


def test_a_deletion_that_does_not_happen_sends_nothing(
    app: Flask, camera: dict[str, object], contractor: Account, smtp: Mailbox
) -> None:
    """Another request deleted the device meanwhile: this one is refused, and mails nothing."""
    with app.app_context():
        device = db.session.get(Device, camera["id"])
        assert device is not None and device.licence.key
        with app.app_context():  # the other request, with a session of its own
            db.session.execute(Device.__table__.delete().where(Device.id == camera["id"]))  # type: ignore[attr-defined]
            db.session.commit()
        with pytest.raises(DeviceGone):
            delete_device(device)
    # Mails leave during the call that commits: had one been sent, it would be here.
    assert smtp.to(contractor.email) == []


def test_a_mail_server_down_never_blocks_nor_undoes_the_deletion(
    app: Flask,
    logged_in: Client,
    camera: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import webapp.mail

    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(webapp.mail, "deliver", refuse)
    response = logged_in.post_form(f"/devices/{camera['id']}/delete", BOTH)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Device, camera["id"]) is None
    listing = logged_in.get("/devices").get_data(as_text=True)
    assert "機器「倉庫カメラ」を削除しました。" in listing
    assert "owner@example.com に削除のお知らせメールを送信できませんでした。" in listing
