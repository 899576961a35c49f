"""A general user's devices over many devices: select all / none, narrowing, paging that saves."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import func, select

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory, UserFactory
from tests.support.many_devices import add_many_devices
from tests.support.statements import counted_statements
from webapp.enums import Role
from webapp.extensions import db
from webapp.models import AuditEvent, Contract, User, UserDevice
from webapp.services.users import set_access_to_every_device

HTMX = {"HX-Request": "true", "HX-Target": "device-access"}


def make_viewer(app: Flask, contract_id: int, email: str = "viewer@example.com") -> int:
    with app.app_context():
        contract = db.session.get(Contract, contract_id)
        user = UserFactory(email=email, contract=contract, role=Role.GENERAL, all_devices=False)
        return user.id


def allowed_of(app: Flask, user_id: int) -> set[int]:
    with app.app_context():
        return set(
            db.session.scalars(select(UserDevice.device_id).where(UserDevice.user_id == user_id))
        )


def switch(client: Client, user_id: int, value: str, query: str = "", **headers: str):
    token = client.csrf_token(f"/users/{user_id}")
    return client.post(
        f"/users/{user_id}/devices/all{query}",
        data={"csrf_token": token, "switch": value},
        headers=headers,
    )


def test_select_all_and_none_reach_every_page(
    app: Flask, logged_in: Client, contractor: Account, stranger: Account
) -> None:
    ids = add_many_devices(app, contractor.contract_id, 120)
    add_many_devices(app, stranger.contract_id, 3, prefix="Theirs")
    user_id = make_viewer(app, contractor.contract_id)
    page = logged_in.get(f"/users/{user_id}").get_data(as_text=True)
    assert page.count('name="shown"') == 50
    assert "全120台を選択" in page and "全120台の選択を解除" in page
    assert "表示件数: 120 / 120" in page

    on = switch(logged_in, user_id, "on")
    assert on.status_code == 303 and on.headers["Location"] == f"/users/{user_id}"
    assert allowed_of(app, user_id) == set(ids)
    # Twice is the same as once (the second adds nothing and breaks nothing).
    assert switch(logged_in, user_id, "on").status_code == 303
    assert allowed_of(app, user_id) == set(ids)
    shown = logged_in.get(f"/users/{user_id}?page=3").get_data(as_text=True)
    assert "全120台を閲覧できる機器に選択しました。" in shown
    assert len(re.findall(r'name="device" value="\d+" checked', shown)) == 20  # the last page

    off = switch(logged_in, user_id, "off")
    assert off.status_code == 303
    assert allowed_of(app, user_id) == set()
    with app.app_context():
        events = list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.devices_all"))
        )
        assert db.session.get(User, user_id).all_devices is False  # the scope stays
    assert [event.detail for event in events] == [
        {"allowed": True, "devices": 120},
        {"allowed": True, "devices": 120},
        {"allowed": False, "devices": 120},
    ]
    assert "ユーザーの閲覧機器の一括変更" in logged_in.get("/history").get_data(as_text=True)


def test_the_select_all_switch_refuses_bad_posts(
    app: Flask, logged_in: Client, contractor: Account, stranger: Account
) -> None:
    add_many_devices(app, contractor.contract_id, 2)
    user_id = make_viewer(app, contractor.contract_id)
    assert switch(logged_in, user_id, "maybe").status_code == 400
    no_token = logged_in.post(f"/users/{user_id}/devices/all", data={"switch": "on"})
    assert no_token.status_code == 400
    theirs = make_viewer(app, stranger.contract_id, "their-viewer@example.com")
    token = logged_in.csrf_token(f"/users/{user_id}")
    foreign = logged_in.post(
        f"/users/{theirs}/devices/all", data={"csrf_token": token, "switch": "on"}
    )
    assert foreign.status_code == 404
    assert allowed_of(app, user_id) == set() and allowed_of(app, theirs) == set()


def test_a_search_narrows_the_checklist_and_paging_saves_the_ticks(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    add_many_devices(app, contractor.contract_id, 30, prefix="Lobby")
    vaults = add_many_devices(app, contractor.contract_id, 60, prefix="Vault")
    user_id = make_viewer(app, contractor.contract_id)
    page = logged_in.get(f"/users/{user_id}?name=vault").get_data(as_text=True)
    assert "表示件数: 60 / 90" in page
    assert "Lobby" not in page and "Vault0001" in page
    assert f'action="/users/{user_id}/devices?name=vault"' in page

    token = logged_in.csrf_token(f"/users/{user_id}?name=vault")
    first_page = vaults[:50]
    response = logged_in.post(
        f"/users/{user_id}/devices?name=vault",
        data={
            "csrf_token": token,
            "scope": "selected",
            "shown": [str(i) for i in first_page],
            "device": [str(first_page[0]), str(first_page[1])],
            "goto": "2",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/users/{user_id}?name=vault&page=2"
    second = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Vault0051" in second and "2 / 2 ページ" in second
    # Page 2 is saved without touching page 1's ticks.
    response = logged_in.post(
        f"/users/{user_id}/devices?name=vault&page=2",
        data={
            "csrf_token": token,
            "scope": "selected",
            "shown": [str(i) for i in vaults[50:]],
            "device": [str(vaults[-1])],
        },
    )
    assert response.headers["Location"] == f"/users/{user_id}?name=vault&page=2"
    assert allowed_of(app, user_id) == {first_page[0], first_page[1], vaults[-1]}


def test_another_contracts_device_in_the_checklist_is_404_and_nothing_is_saved(
    app: Flask, logged_in: Client, contractor: Account, stranger: Account
) -> None:
    mine = add_many_devices(app, contractor.contract_id, 2)
    with app.app_context():
        theirs = DeviceFactory(contract_id=stranger.contract_id).id
    user_id = make_viewer(app, contractor.contract_id)
    token = logged_in.csrf_token(f"/users/{user_id}")
    response = logged_in.post(
        f"/users/{user_id}/devices",
        data={
            "csrf_token": token,
            "scope": "all",
            "shown": [str(mine[0]), str(theirs)],
            "device": [str(mine[0]), str(theirs)],
        },
    )
    assert response.status_code == 404
    assert allowed_of(app, user_id) == set()
    with app.app_context():
        assert db.session.get(User, user_id).all_devices is False


def test_htmx_swaps_the_checklist_and_its_saves(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    ids = add_many_devices(app, contractor.contract_id, 60)
    user_id = make_viewer(app, contractor.contract_id)
    part = logged_in.get(f"/users/{user_id}?page=2", headers=HTMX)
    body = part.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="device-access"')
    assert "Eメールアドレスの変更" not in body and "Bulk0051" in body

    token = logged_in.csrf_token(f"/users/{user_id}")
    switched = logged_in.post(
        f"/users/{user_id}/devices/all?page=2",
        data={"csrf_token": token, "switch": "on"},
        headers=HTMX,
    )
    assert switched.status_code == 200
    body = switched.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="device-access"')
    assert "全60台を閲覧できる機器に選択しました。" in body and 'hx-swap-oob="true"' in body
    assert switched.headers["HX-Push-Url"] == f"/users/{user_id}?page=2"
    assert allowed_of(app, user_id) == set(ids)

    saved = logged_in.post(
        f"/users/{user_id}/devices?page=2",
        data={"csrf_token": token, "scope": "selected", "shown": [str(ids[59])], "goto": "1"},
        headers=HTMX,
    )
    assert saved.status_code == 200
    assert saved.headers["HX-Push-Url"] == f"/users/{user_id}"
    assert allowed_of(app, user_id) == set(ids[:59])


def test_a_thousand_devices_cost_the_same_statements_as_ten(
    app: Flask, contractor: Account, stranger: Account
) -> None:
    def statements(contract_id: int, email: str, allowed: bool) -> int:
        user_id = make_viewer(app, contract_id, email)
        with counted_statements(app) as seen, app.test_request_context():
            user = db.session.get(User, user_id)
            assert user is not None
            seen.clear()
            set_access_to_every_device(user, allowed=allowed)
        return len(seen)

    add_many_devices(app, stranger.contract_id, 10)
    few = statements(stranger.contract_id, "few@example.com", True)
    ids = add_many_devices(app, contractor.contract_id, 1000)
    many = statements(contractor.contract_id, "many@example.com", True)
    assert few == many and many <= 6, (few, many)
    with app.app_context():
        granted = db.session.scalar(
            select(func.count()).select_from(UserDevice).where(UserDevice.device_id.in_(ids))
        )
    assert granted == 1000
