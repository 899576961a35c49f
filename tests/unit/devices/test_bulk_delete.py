"""「選択した機器を削除」: a selection of devices deleted in one transaction, all or nothing."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, add_recordings
from tests.support.mail import Mailbox
from webapp import storage
from webapp.enums import LicenceState
from webapp.extensions import db
from webapp.models import AuditEvent, Device, Licence, NotificationSetting, Recording

BOTH = {"ack_licence": "y", "ack_data": "y"}
ACK_LICENCE = "ライセンスの有効期限が残っている場合でもライセンスキーを再利用することができません。"
ACK_DATA = "機器の設定や通知情報、録画データ等が削除されます。"


@pytest.fixture
def cameras(app: Flask, contractor: Account) -> list[dict[str, Any]]:
    """Four cameras (two of them 倉庫), each with two recordings on disk."""
    made = []
    with app.app_context():
        for name in ("倉庫カメラ1", "倉庫カメラ2", "正門カメラ", "駐車場カメラ"):
            camera = DeviceFactory(contract_id=contractor.contract_id, name=name)
            recordings = add_recordings(camera, count=2)
            made.append(
                {
                    "id": camera.id,
                    "name": name,
                    "licence_id": camera.licence_id,
                    "files": [storage.path_for(r.storage_key) for r in recordings],
                }
            )
    return made


def url(**args: Any) -> str:
    return "/devices/bulk-delete?" + urlencode(args, doseq=True)


def remaining(app: Flask, contract_id: int) -> dict[str, int]:
    with app.app_context():
        owned = select(Device.id).where(Device.contract_id == contract_id)
        return {
            "devices": db.session.scalar(
                select(func.count()).where(Device.contract_id == contract_id)
            ),
            "recordings": db.session.scalar(
                select(func.count()).where(Recording.device_id.in_(owned))
            ),
            "settings": db.session.scalar(
                select(func.count()).where(NotificationSetting.device_id.in_(owned))
            ),
        }


def licence_states(app: Flask, devices: list[dict[str, Any]]) -> list[LicenceState]:
    with app.app_context():
        return [db.session.get(Licence, d["licence_id"]).state for d in devices]


def submit(client: Client, fields: dict[str, Any], **query: Any) -> Any:
    """Post the confirmation as the browser would: its selection fields and the ticks."""
    confirmation = url(**fields)
    token = client.csrf_token(confirmation)
    action = url(**query) if query else "/devices/bulk-delete"
    data = {**fields, "csrf_token": token, **BOTH}
    if "all" in fields:
        html = client.get(confirmation).get_data(as_text=True)
        data["expected"] = mark_in(html)
    return client.post(action, data=data)


def test_the_list_offers_a_checkbox_per_row_and_both_selections(
    logged_in: Client, cameras: list[dict[str, Any]]
) -> None:
    html = logged_in.get("/devices?name=倉庫").get_data(as_text=True)
    for camera in cameras[:2]:
        assert f'name="id" value="{camera["id"]}" form="device-selection"' in html
    assert f'value="{cameras[2]["id"]}" form="device-selection"' not in html
    assert "検索条件に合う全2台を選択" in html
    assert '<input type="hidden" name="name" value="倉庫">' in html
    assert "選択した機器を削除</button>" in html
    assert "このページの機器をすべて選択" in html
    assert " checked" not in html.split('id="device-rows"')[1]


def test_selecting_the_whole_page_ticks_every_row_without_javascript(
    logged_in: Client, cameras: list[dict[str, Any]]
) -> None:
    html = logged_in.get("/devices?select=page").get_data(as_text=True)
    rows = html.split('id="device-rows"')[1]
    assert rows.count(" checked") == len(cameras)


def test_confirmation_lists_the_devices_with_the_single_deletions_notices(
    logged_in: Client, cameras: list[dict[str, Any]]
) -> None:
    response = logged_in.get(url(id=[cameras[0]["id"], cameras[2]["id"]]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in (
        "選択した2台の機器情報を削除します。",
        "倉庫カメラ1",
        "正門カメラ",
        ACK_LICENCE,
        ACK_DATA,
        "払い戻しは行いません",
        ">機器の交換</a>」",
        f'href="/devices/{cameras[0]["id"]}/exchange"',
        "録画データ (4件)",
        "選択した機器の録画データをダウンロード",
        ">削除</button>",
    ):
        assert text in html, text
    assert "倉庫カメラ2" not in html
    assert f'<input type="hidden" name="id" value="{cameras[0]["id"]}">' in html


def test_confirmation_lists_fifty_and_counts_the_rest(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        for n in range(53):
            DeviceFactory(contract_id=contractor.contract_id, name=f"Cam{n:03d}")
    html = logged_in.get(url(all=1)).get_data(as_text=True)
    assert "選択した53台の機器情報を削除します。" in html
    assert "Cam049" in html
    assert "Cam050" not in html
    assert "ほか 3台" in html
    assert "これらの機器に録画データはありません。" in html


def test_an_empty_selection_goes_back_to_the_list(logged_in: Client, cameras: list) -> None:
    response = logged_in.get("/devices/bulk-delete?back=name%3D倉庫")
    assert response.status_code == 303
    assert response.headers["Location"] == "/devices?name=%E5%80%89%E5%BA%AB"
    assert "削除する機器を選択してください。" in logged_in.get("/devices").get_data(as_text=True)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"ack_licence": "y"},
        {"ack_data": "y"},
        {"ack_licence": "on", "ack_data": "on"},
        {"ack_licence": ["y", "y"], "ack_data": "y"},
    ],
)
def test_deletion_is_refused_without_both_acknowledgements(
    app: Flask,
    logged_in: Client,
    contractor: Account,
    cameras: list[dict[str, Any]],
    data: dict[str, Any],
) -> None:
    ids = [c["id"] for c in cameras]
    token = logged_in.csrf_token(url(id=ids))
    response = logged_in.post("/devices/bulk-delete", data={"id": ids, "csrf_token": token, **data})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "確認事項を読み、チェックボックスにチェックしてください。" in html
    assert "機器は削除されていません" in html
    assert remaining(app, contractor.contract_id) == {"devices": 4, "recordings": 8, "settings": 4}
    assert all(Path(f).exists() for c in cameras for f in c["files"])


def test_the_selection_is_deleted_with_licences_revoked_and_audited(
    app: Flask, logged_in: Client, contractor: Account, cameras: list[dict[str, Any]]
) -> None:
    chosen, kept = cameras[:3], cameras[3:]
    ids = [c["id"] for c in chosen]
    response = submit(logged_in, {"id": ids, "reason": "閉店のため"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/devices"
    assert remaining(app, contractor.contract_id) == {"devices": 1, "recordings": 2, "settings": 1}
    assert licence_states(app, chosen) == [LicenceState.REVOKED] * 3
    assert licence_states(app, kept) == [LicenceState.IN_USE]
    storage.wait_for_removals()  # the folders go beside the request, not within it
    assert not any(Path(f).exists() for c in chosen for f in c["files"])
    assert all(Path(f).exists() for c in kept for f in c["files"])
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "device.delete")
        ).all()
        assert sorted(e.target_id for e in events) == sorted(ids)
        assert {e.actor_email for e in events} == {contractor.email}
        assert {e.contract_id for e in events} == {contractor.contract_id}
        assert {e.detail["reason"] for e in events} == {"閉店のため"}
        assert {e.detail["recordings"] for e in events} == {2}
        assert sorted(e.summary for e in events) == sorted(c["name"] for c in chosen)
    listing = logged_in.get("/devices").get_data(as_text=True)
    assert "3台の機器を削除しました。" in listing
    assert "表示件数: 1 / 1" in listing
    # Each deleted device's own pages now say it is gone.
    assert logged_in.get(f"/devices/{ids[0]}").status_code == 410


def test_a_second_submit_says_what_was_already_deleted(
    app: Flask, logged_in: Client, contractor: Account, cameras: list[dict[str, Any]]
) -> None:
    ids = [cameras[0]["id"], cameras[1]["id"]]
    token = logged_in.csrf_token(url(id=ids))
    data = {"id": ids, "csrf_token": token, **BOTH}
    assert logged_in.post("/devices/bulk-delete", data=data).status_code == 303
    logged_in.get("/devices")  # the first answer's message is read
    second = logged_in.post("/devices/bulk-delete", data=data)
    assert second.status_code == 303
    listing = logged_in.get(second.headers["Location"]).get_data(as_text=True)
    assert "次の機器は既に削除されています: 倉庫カメラ1、倉庫カメラ2" in listing
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).where(AuditEvent.action == "device.delete")) == 2
        )


def test_a_selection_partly_deleted_meanwhile_deletes_the_rest(
    app: Flask, logged_in: Client, contractor: Account, cameras: list[dict[str, Any]]
) -> None:
    assert submit(logged_in, {"id": [cameras[0]["id"]]}).status_code == 303
    logged_in.get("/devices")
    response = submit(logged_in, {"id": [cameras[0]["id"], cameras[1]["id"]]})
    assert response.status_code == 303
    listing = logged_in.get("/devices").get_data(as_text=True)
    assert "次の機器は既に削除されています: 倉庫カメラ1" in listing
    assert "1台の機器を削除しました。" in listing
    assert remaining(app, contractor.contract_id)["devices"] == 2


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_contracts_id_deletes_nothing_and_is_a_404(
    app: Flask,
    logged_in: Client,
    contractor: Account,
    stranger: Account,
    cameras: list[dict[str, Any]],
    method: str,
) -> None:
    with app.app_context():
        foreign = DeviceFactory(contract_id=stranger.contract_id)
        foreign_id, foreign_licence = foreign.id, foreign.licence_id
    ids = [cameras[0]["id"], foreign_id]
    if method == "get":
        response = logged_in.get(url(id=ids))
    else:
        token = logged_in.csrf_token(url(id=[cameras[0]["id"]]))
        response = logged_in.post(
            "/devices/bulk-delete", data={"id": ids, "csrf_token": token, **BOTH}
        )
    assert response.status_code == 404
    assert "倉庫カメラ1" not in response.get_data(as_text=True)
    assert remaining(app, contractor.contract_id)["devices"] == 4
    with app.app_context():
        assert db.session.get(Device, foreign_id) is not None
        assert db.session.get(Licence, foreign_licence).state is LicenceState.IN_USE
    assert logged_in.get(f"/devices/bulk-delete/recordings.zip?id={foreign_id}").status_code == 404


def test_an_id_that_never_existed_is_a_404(logged_in: Client, cameras: list) -> None:
    assert logged_in.get(url(id=[cameras[0]["id"], 999999])).status_code == 404


@pytest.mark.parametrize("query", ["id=abc", "id=1x", "all=1&mac=zz!"])
def test_malformed_selections_are_refused(logged_in: Client, cameras: list, query: str) -> None:
    assert logged_in.get(f"/devices/bulk-delete?{query}").status_code == 400


def test_all_matching_honours_the_search_across_pages(
    app: Flask, logged_in: Client, contractor: Account, cameras: list[dict[str, Any]]
) -> None:
    app.config["DEVICES_PER_PAGE"] = 1  # the two 倉庫 cameras span two pages
    listing = logged_in.get("/devices?name=倉庫").get_data(as_text=True)
    assert "検索条件に合う全2台を選択" in listing
    html = logged_in.get(url(all=1, name="倉庫")).get_data(as_text=True)
    assert "選択した2台の機器情報を削除します。" in html
    assert '<input type="hidden" name="all" value="1">' in html
    assert '<input type="hidden" name="name" value="倉庫">' in html
    response = submit(logged_in, {"all": 1, "name": "倉庫"})
    assert response.status_code == 303
    assert licence_states(app, cameras) == [LicenceState.REVOKED] * 2 + [LicenceState.IN_USE] * 2
    # Again: nothing matches any more, and that is said rather than an error.
    again = submit_without_confirmation(logged_in, {"all": 1, "name": "倉庫"})
    assert again.status_code == 303
    listing = logged_in.get("/devices").get_data(as_text=True)
    assert "条件に合う機器はありません。既に削除されている可能性があります。" in listing


def submit_without_confirmation(client: Client, fields: dict[str, Any]) -> Any:
    token = client.csrf_token("/account")
    return client.post(
        "/devices/bulk-delete", data={**fields, "csrf_token": token, "expected": 2, **BOTH}
    )


def test_all_matching_refuses_devices_registered_after_the_confirmation(
    app: Flask, logged_in: Client, contractor: Account, cameras: list[dict[str, Any]]
) -> None:
    token = logged_in.csrf_token(url(all=1, name="倉庫"))
    with app.app_context():
        DeviceFactory(contract_id=contractor.contract_id, name="倉庫カメラ3")
    response = logged_in.post(
        "/devices/bulk-delete",
        data={"all": 1, "name": "倉庫", "expected": 2, "csrf_token": token, **BOTH},
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "確認の後に条件に合う機器が変わりました。" in html
    assert "倉庫カメラ3" in html
    assert remaining(app, contractor.contract_id)["devices"] == 5
    # The confirmation shown again is ready: 削除 now deletes the three it shows.
    again = logged_in.post(
        "/devices/bulk-delete",
        data={"all": 1, "name": "倉庫", "expected": mark_in(html), "csrf_token": token, **BOTH},
    )
    assert again.status_code == 303
    assert remaining(app, contractor.contract_id)["devices"] == 2


def mark_in(html: str) -> str:
    return html.split('name="expected" type="hidden" value="')[1].split('"')[0]


def test_all_matching_refuses_as_many_devices_but_others(
    app: Flask, logged_in: Client, contractor: Account, cameras: list[dict[str, Any]]
) -> None:
    """One shown device deleted in another tab, one new registered: the count is the same."""
    confirmation = logged_in.get(url(all=1, name="倉庫")).get_data(as_text=True)
    token = logged_in.csrf_token(url(all=1, name="倉庫"))
    assert submit(logged_in, {"id": [cameras[0]["id"]]}).status_code == 303
    with app.app_context():
        DeviceFactory(contract_id=contractor.contract_id, name="倉庫カメラ3")
    response = logged_in.post(
        "/devices/bulk-delete",
        data={
            "all": 1,
            "name": "倉庫",
            "expected": mark_in(confirmation),
            "csrf_token": token,
            **BOTH,
        },
    )
    assert response.status_code == 409
    assert "倉庫カメラ3" in response.get_data(as_text=True)
    assert remaining(app, contractor.contract_id)["devices"] == 4


def test_a_failure_inside_the_transaction_deletes_nothing(
    app: Flask,
    logged_in: Client,
    contractor: Account,
    cameras: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from webapp.services import devices as service

    def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(service, "record_events", broken_audit)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = submit(logged_in, {"id": [c["id"] for c in cameras]})
    assert response.status_code == 500
    assert remaining(app, contractor.contract_id) == {"devices": 4, "recordings": 8, "settings": 4}
    assert licence_states(app, cameras) == [LicenceState.IN_USE] * 4
    assert all(Path(f).exists() for c in cameras for f in c["files"])


def test_files_are_removed_only_after_the_commit(
    app: Flask, contractor: Account, cameras: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from webapp.services import devices as service

    seen: list[int] = []

    def removing(contract_id: int, device_ids: list[int]) -> None:
        # Runs once the rows are gone for good: another session no longer finds them.
        with app.app_context():
            seen.append(
                db.session.scalar(select(func.count()).where(Device.id.in_(device_ids))) or 0
            )
        storage.remove_trees([storage.device_prefix(contract_id, i) for i in device_ids])

    monkeypatch.setattr(service, "remove_device_folders", removing)
    with app.test_request_context():
        deletion = service.delete_devices(contractor.contract_id, [c["id"] for c in cameras])
    assert len(deletion.deleted) == 4
    assert seen == [0]
    storage.wait_for_removals()
    assert not any(Path(f).exists() for c in cameras for f in c["files"])


def test_a_submit_that_lost_the_race_to_another_says_already_deleted(
    app: Flask,
    logged_in: Client,
    contractor: Account,
    cameras: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two submits at once: both read the selection before either deleted it."""
    from webapp.devices import views
    from webapp.devices.queries import DeviceSelection, select_devices

    ids = [c["id"] for c in cameras[:2]]
    with app.test_request_context():
        read_before = select_devices(contractor.contract_id, DeviceSelection(ids=tuple(ids)))
    assert submit(logged_in, {"id": ids}).status_code == 303
    monkeypatch.setattr(views, "select_devices", lambda *args: read_before)
    response = submit(logged_in, {"id": ids})
    assert response.status_code == 303
    listing = logged_in.get("/devices").get_data(as_text=True)
    assert "選択した機器は既に削除されています。" in listing
    assert "0台の機器を削除しました" not in listing


def test_the_answer_does_not_wait_for_the_folders_to_go(
    app: Flask, logged_in: Client, cameras: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unlinking a large selection's files can outlast a request: the answer comes first."""
    with app.app_context():
        backend = storage.current()
    disk_is_slow = threading.Event()
    removing = backend.remove_trees

    def slow_removal(prefixes: list[str]) -> None:
        disk_is_slow.wait(timeout=60)  # a removal within the request would wait here
        removing(prefixes)

    monkeypatch.setattr(backend, "remove_trees", slow_removal)
    response = submit(logged_in, {"id": [c["id"] for c in cameras]})
    assert response.status_code == 303
    assert all(Path(f).exists() for c in cameras for f in c["files"])  # still on the disk
    disk_is_slow.set()
    storage.wait_for_removals()
    assert not any(Path(f).exists() for c in cameras for f in c["files"])


def test_one_mail_names_every_deleted_device(
    logged_in: Client, contractor: Account, cameras: list[dict[str, Any]], smtp: Mailbox
) -> None:
    assert submit(logged_in, {"id": [c["id"] for c in cameras]}).status_code == 303
    mail = smtp.wait_for(contractor.email, "機器を削除しました: 4台")
    for camera in cameras:
        assert camera["name"] in mail.body
    assert "録画データ 8件" in mail.body
    assert len(smtp.messages) == 1


def test_htmx_posts_redirect_and_refusals_swap(
    app: Flask, logged_in: Client, contractor: Account, cameras: list[dict[str, Any]]
) -> None:
    ids = [cameras[0]["id"]]
    token = logged_in.csrf_token(url(id=ids))
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    refused = logged_in.post(
        "/devices/bulk-delete", data={"id": ids, "ack_licence": "y"}, headers=headers
    )
    assert refused.status_code == 422
    assert "<html" not in refused.get_data(as_text=True)
    assert 'aria-describedby="ack_data-error"' in refused.get_data(as_text=True)
    done = logged_in.post("/devices/bulk-delete", data={"id": ids, **BOTH}, headers=headers)
    assert done.status_code == 200
    assert done.headers["HX-Redirect"] == "/devices"
    assert remaining(app, contractor.contract_id)["devices"] == 3


def test_the_whole_page_selection_under_htmx_swaps_the_list(
    logged_in: Client, cameras: list[dict[str, Any]]
) -> None:
    response = logged_in.get(
        "/devices?select=page", headers={"HX-Request": "true", "HX-Target": "device-list"}
    )
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert html.split('id="device-rows"')[1].count(" checked") == 4


def test_without_csrf_nothing_is_deleted(
    app: Flask, logged_in: Client, contractor: Account, cameras: list[dict[str, Any]]
) -> None:
    response = logged_in.post("/devices/bulk-delete", data={"id": [cameras[0]["id"]], **BOTH})
    assert response.status_code == 400
    assert remaining(app, contractor.contract_id)["devices"] == 4


def test_the_selections_recordings_download_as_one_zip(
    app: Flask, logged_in: Client, cameras: list[dict[str, Any]]
) -> None:
    import io
    import zipfile

    response = logged_in.get(
        f"/devices/bulk-delete/recordings.zip?id={cameras[0]['id']}&id={cameras[2]['id']}"
    )
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    folders = {name.split("/")[0] for name in archive.namelist()}
    assert folders == {"倉庫カメラ1", "正門カメラ"}
    assert len(archive.namelist()) == 4
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "recordings.download")
        )
        assert event.detail == {"recordings": 4, "devices": 2}


def test_withdrawal_blocked_page_counts_devices_and_selects_them_all(
    app: Flask, logged_in: Client, contractor: Account, cameras: list[dict[str, Any]]
) -> None:
    html = logged_in.get("/account/withdraw").get_data(as_text=True)
    assert "残っている機器: 4台" in html
    link = "/devices/bulk-delete?all=1&amp;then=withdraw"
    assert f'href="{link}"' in html
    confirmation = logged_in.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "選択した4台の機器情報を削除します。" in confirmation
    assert 'action="/devices/bulk-delete?then=withdraw"' in confirmation
    response = submit(logged_in, {"all": 1}, then="withdraw")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/withdraw"
    final = logged_in.get("/account/withdraw").get_data(as_text=True)
    assert "退会最終確認" in final
    assert "4台の機器を削除しました。" in final
