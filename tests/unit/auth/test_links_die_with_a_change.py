"""A link mailed before a change of password or of login e-mail never works after it."""

from __future__ import annotations

from flask import Flask

from tests.support.client import Account, Client
from tests.support.factories import PASSWORD, UserFactory
from tests.support.mail import Mailbox
from webapp.enums import Role
from webapp.extensions import db
from webapp.models import Contract

NEW_PASSWORD = "a brand new passphrase"
ATTACKER_PASSWORD = "the attacker's own phrase"


def reset_link(client: Client, smtp: Mailbox, email: str) -> str:
    assert client.post_form("/password/forgot", {"email": email}).status_code == 200
    link = smtp.link(smtp.to(email)[-1])
    assert link.startswith("/password/reset/")
    return link


def assert_dead(client: Client, link: str) -> None:
    assert client.get(link).status_code == 410
    response = client.post_form(
        link,
        {"password": ATTACKER_PASSWORD, "confirm": ATTACKER_PASSWORD},
        token_from="/password/forgot",
    )
    assert response.status_code == 410


def test_a_password_change_kills_an_earlier_reset_link(
    app: Flask, client: Client, contractor: Account, smtp: Mailbox
) -> None:
    link = reset_link(app.test_client(), smtp, contractor.email)

    assert client.login(contractor.email).status_code == 303
    changed = client.post_form(
        "/settings/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        token_from="/settings",
    )
    assert changed.status_code == 303

    assert_dead(app.test_client(), link)
    assert app.test_client().login(contractor.email, ATTACKER_PASSWORD).status_code == 401
    assert app.test_client().login(contractor.email, NEW_PASSWORD).status_code == 303


def test_a_confirmed_email_change_kills_a_reset_link_sent_to_the_old_address(
    app: Flask, client: Client, contractor: Account, smtp: Mailbox
) -> None:
    link = reset_link(app.test_client(), smtp, contractor.email)

    assert client.login(contractor.email).status_code == 303
    requested = client.post_form(
        "/settings/email", {"email": "moved@example.com"}, token_from="/settings"
    )
    assert requested.status_code == 303
    confirm = smtp.link(smtp.to("moved@example.com")[-1])
    # Asking for the change kills nothing yet: the old address still owns the account.
    assert client.get(link).status_code == 200
    assert client.post_form(confirm).status_code == 303

    assert_dead(app.test_client(), link)
    assert app.test_client().login("moved@example.com", ATTACKER_PASSWORD).status_code == 401
    assert app.test_client().login("moved@example.com").status_code == 303


def test_a_reset_kills_a_pending_email_change_link(
    app: Flask, client: Client, contractor: Account, smtp: Mailbox
) -> None:
    """Whoever asked to move the account elsewhere loses that link once the owner resets."""
    assert client.login(contractor.email).status_code == 303
    client.post_form("/settings/email", {"email": "elsewhere@example.com"}, token_from="/settings")
    confirm = smtp.link(smtp.to("elsewhere@example.com")[-1])

    browser = app.test_client()
    link = reset_link(browser, smtp, contractor.email)
    done = browser.post_form(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303

    other = app.test_client()
    assert other.login(contractor.email, NEW_PASSWORD).status_code == 303
    assert other.get(confirm).status_code == 410
    assert app.test_client().login("elsewhere@example.com", NEW_PASSWORD).status_code == 401


def test_the_contractor_changing_a_users_address_kills_the_users_reset_link(
    app: Flask, client: Client, contractor: Account, smtp: Mailbox
) -> None:
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        viewer = UserFactory(email="viewer@example.com", contract=contract, role=Role.GENERAL)
        viewer_id = viewer.id
    link = reset_link(app.test_client(), smtp, "viewer@example.com")

    assert client.login(contractor.email).status_code == 303
    changed = client.post_form(
        f"/users/{viewer_id}/email",
        {"email": "viewer-new@example.com"},
        token_from=f"/users/{viewer_id}",
    )
    assert changed.status_code == 303

    assert_dead(app.test_client(), link)
    assert app.test_client().login("viewer-new@example.com").status_code == 303
