"""通知メール設定 over many devices: all on / all off, a narrowing search, paging that saves."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory
from tests.support.many_devices import add_many_devices
from tests.support.statements import counted_statements
from webapp.extensions import db
from webapp.models import AuditEvent, Device, NotificationSetting
from webapp.services.devices import delete_device
from webapp.services.notifications import EVENTS, set_event_for_all_devices

HTMX = {"HX-Request": "true", "HX-Target": "device-settings"}


def settings_of(app: Flask, device_ids: list[int]) -> dict[int, tuple[bool, bool, bool]]:
    """Each device's events as stored; a device without a row has the defaults (all on)."""
    with app.app_context():
        rows = {
            row.device_id: (row.on_comm_change, row.on_recording_stop, row.on_licence_expiry)
            for row in db.session.scalars(
                select(NotificationSetting).where(NotificationSetting.device_id.in_(device_ids))
            )
        }
    return {device_id: rows.get(device_id, (True, True, True)) for device_id in device_ids}


def audit_actions(app: Flask, contract_id: int) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.contract_id == contract_id)
                .where(AuditEvent.action.like("notifications.%"))
                .order_by(AuditEvent.id)
            )
        )


def switch(client: Client, value: str, query: str = "", **headers: str):
    token = client.csrf_token("/notifications")
    return client.post(
        f"/notifications/devices/all{query}",
        data={"csrf_token": token, "switch": value},
        headers=headers,
    )


def test_all_off_and_on_reach_every_page_and_devices_without_a_row(
    app: Flask, logged_in: Client, contractor: Account, stranger: Account
) -> None:
    ids = add_many_devices(app, contractor.contract_id, 120)
    theirs = add_many_devices(app, stranger.contract_id, 3, prefix="Theirs")
    with app.app_context():
        # A device without a setting row (the defaults) is switched too.
        db.session.execute(
            delete(NotificationSetting).where(NotificationSetting.device_id == ids[-1])
        )
        db.session.commit()
    page = logged_in.get("/notifications").get_data(as_text=True)
    assert page.count('name="shown"') == 50  # a page shows a bounded number of rows
    assert "全120台でオン" in page and "全120台でオフ" in page
    assert "表示件数: 120 / 120" in page

    off = switch(logged_in, "on_recording_stop:off")
    assert off.status_code == 303
    assert off.headers["Location"] == "/notifications"
    assert set(settings_of(app, ids).values()) == {(True, False, True)}
    assert set(settings_of(app, theirs).values()) == {(True, True, True)}
    shown = logged_in.get("/notifications").get_data(as_text=True)
    assert "全120台で「録画停止」をオフにしました。" in shown

    assert switch(logged_in, "on_comm_change:off").status_code == 303
    assert switch(logged_in, "on_recording_stop:on").status_code == 303
    assert set(settings_of(app, ids).values()) == {(False, True, True)}
    # Twice is the same as once.
    assert switch(logged_in, "on_recording_stop:on").status_code == 303
    assert set(settings_of(app, ids).values()) == {(False, True, True)}

    events = audit_actions(app, contractor.contract_id)
    assert [event.action for event in events] == ["notifications.all_devices"] * 4
    assert events[0].detail == {"event": "on_recording_stop", "on": False, "devices": 120}
    history = logged_in.get("/history").get_data(as_text=True)
    assert "全機器の通知設定の一括変更" in history


@pytest.mark.parametrize("value", ["on_recording_stop", "bogus:on", "on_comm_change:maybe", ""])
def test_an_unknown_switch_changes_nothing(
    app: Flask, logged_in: Client, contractor: Account, value: str
) -> None:
    ids = add_many_devices(app, contractor.contract_id, 2)
    assert switch(logged_in, value).status_code == 400
    assert set(settings_of(app, ids).values()) == {(True, True, True)}
    assert audit_actions(app, contractor.contract_id) == []


def test_the_switches_refuse_a_post_without_csrf(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    ids = add_many_devices(app, contractor.contract_id, 2)
    response = logged_in.post("/notifications/devices/all", data={"switch": "on_comm_change:off"})
    assert response.status_code == 400
    assert set(settings_of(app, ids).values()) == {(True, True, True)}


def test_a_search_narrows_the_list_and_stays_through_saving_and_paging(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    add_many_devices(app, contractor.contract_id, 70, prefix="Lobby")
    vaults = add_many_devices(app, contractor.contract_id, 60, prefix="Vault")
    page = logged_in.get("/notifications?name=vault").get_data(as_text=True)
    assert "表示件数: 60 / 130" in page
    assert "Lobby" not in page and "Vault0001" in page and "Vault0051" not in page
    assert 'action="/notifications/devices?name=vault"' in page
    assert "絞り込みを解除" in page
    # The bulk switches still say (and reach) every device of the contract.
    assert "全130台でオフ" in page

    by_domain = logged_in.get("/notifications?domain=vault").get_data(as_text=True)
    assert "表示件数: 60 / 130" in by_domain
    none = logged_in.get("/notifications?name=nothing").get_data(as_text=True)
    assert "条件に合う機器はありません。" in none

    # 「次へ」 saves page 1's ticks, then shows page 2 of the same search.
    first_page = vaults[:50]
    token = logged_in.csrf_token("/notifications?name=vault")
    response = logged_in.post(
        "/notifications/devices?name=vault",
        data={
            "csrf_token": token,
            "shown": [str(i) for i in first_page],
            "on_comm_change": [str(i) for i in first_page[1:]],
            "on_recording_stop": [str(i) for i in first_page],
            "on_licence_expiry": [str(i) for i in first_page],
            "goto": "2",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/notifications?name=vault&page=2"
    saved = settings_of(app, vaults)
    assert saved[first_page[0]] == (False, True, True)
    assert all(saved[i] == (True, True, True) for i in vaults[1:])
    second = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Vault0051" in second and "2 / 2 ページ" in second
    assert 'name="goto" value="1"' in second


def test_a_bad_search_is_explained_and_the_list_shows_everything(
    logged_in: Client, contractor: Account, app: Flask
) -> None:
    add_many_devices(app, contractor.contract_id, 3)
    response = logged_in.get("/notifications?mac=zz")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="mac-error"' in page
    assert "表示件数: 3 / 3" in page


def test_saving_a_page_leaves_other_pages_alone(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    ids = add_many_devices(app, contractor.contract_id, 120)
    assert switch(logged_in, "on_licence_expiry:off").status_code == 303
    page_two = ids[50:100]
    token = logged_in.csrf_token("/notifications?page=2")
    response = logged_in.post(
        "/notifications/devices?page=2",
        data={
            "csrf_token": token,
            "shown": [str(i) for i in page_two],
            "on_licence_expiry": [str(i) for i in page_two],
            "on_comm_change": [str(i) for i in page_two],
            "on_recording_stop": [str(i) for i in page_two],
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/notifications?page=2"
    saved = settings_of(app, ids)
    assert all(saved[i] == (True, True, True) for i in page_two)
    assert all(saved[i] == (True, True, False) for i in ids[:50] + ids[100:])
    assert "機器ごとの通知設定を保存しました (50台を変更)。" in logged_in.get(
        "/notifications?page=2"
    ).get_data(as_text=True)


def test_another_contracts_device_in_a_post_is_404_and_nothing_is_saved(
    app: Flask, logged_in: Client, contractor: Account, stranger: Account
) -> None:
    mine = add_many_devices(app, contractor.contract_id, 2)
    with app.app_context():
        theirs = DeviceFactory(contract_id=stranger.contract_id).id
    token = logged_in.csrf_token("/notifications")
    for shown in ([mine[0], theirs], [mine[0], 99_999_999]):
        response = logged_in.post(
            "/notifications/devices",
            data={
                "csrf_token": token,
                "shown": [str(i) for i in shown],
                "on_comm_change": [str(theirs)],
            },
        )
        assert response.status_code == 404
    assert set(settings_of(app, [*mine, theirs]).values()) == {(True, True, True)}
    assert audit_actions(app, contractor.contract_id) == []


def test_htmx_swaps_the_list_and_its_saves(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    ids = add_many_devices(app, contractor.contract_id, 60)
    part = logged_in.get("/notifications?name=Bulk&page=2", headers=HTMX)
    assert part.status_code == 200
    body = part.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="device-settings"')
    assert "<html" not in body and "通知先Eメールアドレス" not in body
    assert "Bulk0051" in body

    token = logged_in.csrf_token("/notifications")
    switched = logged_in.post(
        "/notifications/devices/all?name=Bulk&page=2",
        data={"csrf_token": token, "switch": "on_comm_change:off"},
        headers=HTMX,
    )
    assert switched.status_code == 200
    body = switched.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="device-settings"')
    assert 'id="messages"' in body and 'hx-swap-oob="true"' in body
    assert "全60台で「通信状態の変化」をオフにしました。" in body
    assert switched.headers["HX-Push-Url"] == "/notifications?name=Bulk&page=2"
    assert set(settings_of(app, ids).values()) == {(False, True, True)}

    saved = logged_in.post(
        "/notifications/devices?name=Bulk&page=2",
        data={"csrf_token": token, "shown": [str(ids[50])], "goto": "1"},
        headers=HTMX,
    )
    assert saved.status_code == 200
    assert saved.headers["HX-Push-Url"] == "/notifications?name=Bulk"
    assert "Bulk0001" in saved.get_data(as_text=True)
    assert settings_of(app, [ids[50]])[ids[50]] == (False, False, False)

    # htmx without a target of the list (a boosted link, say) gets the redirect instead.
    plain = logged_in.post(
        "/notifications/devices/all",
        data={"csrf_token": token, "switch": "on_comm_change:on"},
        headers={"HX-Request": "true"},
    )
    assert plain.headers["HX-Redirect"] == "/notifications"


def count_statements(app: Flask, contract_id: int, event: str, on: bool) -> int:
    with counted_statements(app) as seen, app.test_request_context():
        assert set_event_for_all_devices(contract_id, event, on) >= 0
    return len(seen)


def test_a_thousand_devices_cost_the_same_statements_as_ten(
    app: Flask, logged_in: Client, contractor: Account, stranger: Account
) -> None:
    add_many_devices(app, stranger.contract_id, 10, settings=False)
    few = count_statements(app, stranger.contract_id, "on_comm_change", False)
    ids = add_many_devices(app, contractor.contract_id, 1000, settings=False)
    many = count_statements(app, contractor.contract_id, "on_comm_change", False)
    assert few == many, (few, many)
    assert many <= 8, many
    assert set(settings_of(app, ids).values()) == {(False, True, True)}
    with app.app_context():
        rows = db.session.scalar(
            select(func.count())
            .select_from(NotificationSetting)
            .where(NotificationSetting.device_id.in_(ids))
        )
    assert rows == 1000

    # The screen reads a page, whatever the number of devices.
    with counted_statements(app) as seen:
        page = logged_in.get("/notifications?page=20")
    assert page.status_code == 200
    assert len(seen) <= 8, seen
    body = page.get_data(as_text=True)
    assert body.count('name="shown"') == 50 and "20 / 20 ページ" in body
    assert re.search(r"全1000台でオン", body)


def test_every_event_has_its_switches(logged_in: Client, contractor: Account, app: Flask) -> None:
    add_many_devices(app, contractor.contract_id, 1)
    page = logged_in.get("/notifications").get_data(as_text=True)
    for event in EVENTS:
        assert f'value="{event}:on"' in page and f'value="{event}:off"' in page


def test_a_device_deleted_since_the_page_was_shown_is_left_out(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    ids = add_many_devices(app, contractor.contract_id, 3)
    token = logged_in.csrf_token("/notifications")
    with app.test_request_context():
        device = db.session.get(Device, ids[0])
        assert device is not None
        delete_device(device)
    response = logged_in.post(
        "/notifications/devices",
        data={"csrf_token": token, "shown": [str(i) for i in ids], "on_comm_change": []},
    )
    assert response.status_code == 303
    assert settings_of(app, ids[1:]) == {i: (False, False, False) for i in ids[1:]}
