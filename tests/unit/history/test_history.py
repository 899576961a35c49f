"""操作履歴: the contract's own history, filtered, paged and downloadable as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory
from webapp.audit import describe
from webapp.extensions import db
from webapp.i18n import speaking
from webapp.models import AuditEvent, Contract
from webapp.services.account import update_profile
from webapp.services.devices import update_device


def add_event(
    app: Flask, contract_id: int, action: str, when: dt.datetime, summary: str = ""
) -> None:
    with app.app_context():
        db.session.add(
            AuditEvent(
                contract_id=contract_id,
                action=action,
                occurred_at=when,
                summary=summary,
                actor_email="owner@example.com",
                ip="192.0.2.1",
            )
        )
        db.session.commit()


def test_history_lists_this_contract_only(
    app: Flask, logged_in: Client, contractor: Account, stranger: Account
) -> None:
    add_event(
        app, contractor.contract_id, "device.delete", dt.datetime(2026, 5, 1, 3), "玄関カメラ"
    )
    add_event(app, stranger.contract_id, "device.delete", dt.datetime(2026, 5, 1, 3), "よその機器")
    html = logged_in.get("/history").get_data(as_text=True)
    assert "操作履歴" in html
    assert "玄関カメラ" in html
    assert "機器の削除 (解約)" in html
    assert "よその機器" not in html
    assert "2026/05/01 12:00" in html  # shown in Japan time
    assert "ログイン" in html  # the login of this very session


def test_history_filters_by_kind_and_japan_dates(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    # 2026-05-01 23:30 JST is 14:30 UTC the same day; 2026-05-02 00:30 JST is 15:30 UTC on the 1st.
    add_event(app, contractor.contract_id, "device.setup", dt.datetime(2026, 5, 1, 14, 30), "A")
    add_event(app, contractor.contract_id, "device.setup", dt.datetime(2026, 5, 1, 15, 30), "B")
    add_event(app, contractor.contract_id, "device.exchange", dt.datetime(2026, 5, 1, 15, 30), "C")
    html = logged_in.get(
        "/history?action=device.setup&date_from=2026-05-02&date_to=2026-05-02"
    ).get_data(as_text=True)
    assert ">B<" in html
    assert ">A<" not in html and ">C<" not in html
    assert "件数: 1" in html


def test_history_refuses_bad_filters_with_messages(logged_in: Client) -> None:
    for query, message in (
        ("date_from=2026-13-01", "日付は YYYY-MM-DD の形式で入力してください。"),
        ("date_from=2026-05-02&date_to=2026-05-01", "終了日は開始日以降"),
        ("action=rm -rf", "一覧から選択してください。"),
        # Days the service's zone cannot reckon are refused next to the field, not in a query.
        ("date_from=0001-01-01", "日付は 1970-01-01 から 9999-12-30 までの間で入力してください。"),
        ("date_to=9999-12-31", "日付は 1970-01-01 から 9999-12-30 までの間で入力してください。"),
    ):
        response = logged_in.get(f"/history?{query}")
        assert response.status_code == 422, query
        assert message in response.get_data(as_text=True)


def test_history_tells_a_device_rename_from_a_change_of_the_contractors_name(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    """Both changes touch a field called "name": one is 機器名, the other お名前."""
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id, name="玄関カメラ")
        update_device(
            device,
            name="裏口カメラ",
            domain=device.domain,
            camera_admin_user=device.camera_admin_user,
        )
        contract = db.session.get(Contract, contractor.contract_id)
        assert contract is not None
        update_profile(contract, {"name": "山田 花子"})

    html = logged_in.get("/history").get_data(as_text=True)
    assert "変更: 機器名<" in html
    assert "変更: お名前<" in html
    assert "機器名・お名前" not in html

    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("%.update")))
        with speaking("en"):
            described = {event.action: describe(event) for event in events}
    assert described == {
        "device.update": "Changed: Device name",
        "contract.update": "Changed: Name",
    }


def test_history_pages(app: Flask, logged_in: Client, contractor: Account) -> None:
    start = dt.datetime(2026, 1, 1)
    for n in range(60):
        add_event(
            app, contractor.contract_id, "device.setup", start + dt.timedelta(hours=n), f"E{n:02d}"
        )
    first = logged_in.get("/history?action=device.setup").get_data(as_text=True)
    assert "E59" in first and "E09" not in first
    second = logged_in.get("/history?action=device.setup&page=2").get_data(as_text=True)
    assert "E09" in second and "2 / 2 ページ" in second
    partial = logged_in.get("/history?page=2", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert partial.lstrip().startswith('<section id="history-list"')


def test_history_downloads_as_csv_that_spreadsheets_open(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    add_event(app, contractor.contract_id, "device.register", dt.datetime(2026, 5, 1), "正面玄関")
    add_event(
        app, contractor.contract_id, "device.update", dt.datetime(2026, 5, 2), "=HYPERLINK(1)"
    )
    response = logged_in.get("/history/download.csv?action=")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.data
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["日時", "操作", "対象", "内容", "実行者", "IPアドレス"]
    summaries = [row[2] for row in rows[1:]]
    assert "正面玄関" in summaries
    assert "'=HYPERLINK(1)" in summaries  # never a formula
    assert any(row[1] == "機器登録" for row in rows[1:])


def test_history_is_for_the_contractor_only(client: Client) -> None:
    assert client.get("/history").status_code == 302
