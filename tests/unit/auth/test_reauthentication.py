"""Re-authentication before a sensitive step: the password again unless given a moment ago.

退会, a new login e-mail (アカウント設定 and 契約者情報の変更) and a new password ask for the
password unless it was given in this login within REAUTH_MINUTES (5); a new password asks
for it every time. A wrong answer changes nothing, is written to 操作履歴 and is limited
like a failed login.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from tests.support.client import Account, Client
from tests.support.factories import PASSWORD
from tests.support.mail import Mailbox
from tests.unit.auth.test_two_factor import enrol
from webapp.extensions import db
from webapp.models import AuditEvent, Contract, LoginSession, TotpCredential, User

NEW_PASSWORD = "another fine phrase"
WRONG = "not my password at all"
WRONG_MESSAGE = "現在のパスワードが正しくありません。"
PASSWORD_INPUT = 'name="current_password"'

CONTRACTOR_DETAILS = {
    "company_name": "株式会社テスト",
    "name": "山田 太郎",
    "furigana": "ヤマダ タロウ",
    "postal_code": "100-0001",
    "address": "東京都千代田区千代田1-1",
    "phone_work": "",
    "phone_mobile": "090-1234-5678",
    "phone_home": "",
    "wants_news": "y",
    "email": "owner@example.com",
}


def actions(app: Flask, contract_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.contract_id == contract_id)
                .order_by(AuditEvent.id)
            )
        )


def withdrawn(app: Flask, account: Account) -> bool:
    with app.app_context():
        return db.session.get(Contract, account.contract_id) is None


def password_hash(app: Flask, account: Account) -> str | None:
    with app.app_context():
        user = db.session.get(User, account.user_id)
        assert user is not None
        return user.password_hash


@dataclass(frozen=True)
class Step:
    """A sensitive step: where it is shown and posted, what it sends, how to tell it done."""

    page: str
    path: str
    data: dict[str, str]
    needed: str  # the message next to the field when the password is left out
    done: Callable[[Flask, Account], bool]
    always: bool = False  # asks for the password even just after login
    # The field's name and id: アカウント設定 has several forms that ask for it, ids apart.
    field_name: str = "current_password"
    field_id: str = "current_password"

    @property
    def error_id(self) -> str:
        return f'id="{self.field_id}-error"'


def _email_requested(app: Flask, account: Account) -> bool:
    return "email.change_requested" in actions(app, account.contract_id)


def _setting_up_two_factor(app: Flask, account: Account) -> bool:
    with app.app_context():
        return db.session.get(TotpCredential, account.user_id) is not None


def _password_changed(app: Flask, account: Account) -> bool:
    return "password.change" in actions(app, account.contract_id)


STEPS = {
    "withdraw": Step(
        "/account/withdraw",
        "/account/withdraw",
        {"ack_irreversible": "y", "ack_new_contract": "y"},
        "退会するには、現在のパスワードを入力してください。",
        withdrawn,
    ),
    "settings-email": Step(
        "/settings",
        "/settings/email",
        {"email": "new-owner@example.com"},
        "続けるには、現在のパスワードを入力してください。",
        _email_requested,
        field_id="email-current_password",
    ),
    "edit-email": Step(
        "/account/edit",
        "/account/edit",
        {**CONTRACTOR_DETAILS, "email": "new-owner@example.com"},
        "Eメールアドレスを変更するには、現在のパスワードを入力してください。",
        _email_requested,
    ),
    "two-factor": Step(
        "/settings",
        "/settings/two-factor",
        {},
        "続けるには、現在のパスワードを入力してください。",
        _setting_up_two_factor,
        field_name="start-current_password",
        field_id="start-current_password",
    ),
    "settings-password": Step(
        "/settings",
        "/settings/password",
        {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        "現在のパスワードを入力してください。",
        _password_changed,
        always=True,
    ),
    "edit-password": Step(
        "/account/edit",
        "/account/edit",
        {**CONTRACTOR_DETAILS, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        "パスワードを変更するには、現在のパスワードを入力してください。",
        _password_changed,
        always=True,
    ),
}
WINDOWED = [name for name, step in STEPS.items() if not step.always]


@pytest.fixture(params=list(STEPS))
def step(request: pytest.FixtureRequest) -> Step:
    return STEPS[request.param]


@pytest.fixture(params=WINDOWED)
def windowed_step(request: pytest.FixtureRequest) -> Step:
    return STEPS[request.param]


@contextmanager
def minutes_later(minutes: float) -> Iterator[None]:
    """The clock *minutes* after now, standing still (the login stays alive: 30 idle).

    Never back again with the same client: its cookie, signed "later", would be refused.
    """
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    with time_machine.travel(moment, tick=False):
        yield


def post(client: Client, step: Step, password: str | None = None) -> object:
    data = dict(step.data)
    if password is not None:
        data[step.field_name] = password
    return client.post_form(step.path, data, token_from=step.page)


def field_count(client: Client, page: str) -> int:
    return client.get(page).get_data(as_text=True).count(PASSWORD_INPUT)


# --- Within the window ----------------------------------------------------------------------


def test_just_after_login_no_password_is_asked(
    app: Flask, logged_in: Client, contractor: Account, windowed_step: Step
) -> None:
    with minutes_later(4.5):
        # The other pages show the field anyway, for a new password (always asked).
        if windowed_step.page == "/account/withdraw":
            assert field_count(logged_in, windowed_step.page) == 0
        response = post(logged_in, windowed_step)
    assert response.status_code == 303
    assert windowed_step.done(app, contractor)


def test_a_new_password_always_needs_the_current_one(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    """ASVS V2.1.6: even a moment after logging in."""
    for name in ("settings-password", "edit-password"):
        step = STEPS[name]
        assert field_count(logged_in, step.page) >= 1
        refused = post(logged_in, step)
        assert refused.status_code == 422
        assert step.error_id in refused.get_data(as_text=True)
    assert not _password_changed(app, contractor)


# --- Outside the window ---------------------------------------------------------------------


def test_later_the_step_is_refused_without_the_password(
    app: Flask, logged_in: Client, contractor: Account, step: Step
) -> None:
    before = password_hash(app, contractor)
    with minutes_later(6):
        assert field_count(logged_in, step.page) >= 1
        refused = post(logged_in, step)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f"{step.error_id}>{step.needed}</p>" in html
    assert 'aria-invalid="true"' in html
    assert not step.done(app, contractor)
    assert password_hash(app, contractor) == before
    assert "reauth.failed" not in actions(app, contractor.contract_id)  # not a guess


def test_later_the_right_password_does_it(
    app: Flask, logged_in: Client, contractor: Account, step: Step
) -> None:
    with minutes_later(6):
        response = post(logged_in, step, PASSWORD)
    assert response.status_code == 303
    assert step.done(app, contractor)


def test_a_wrong_password_changes_nothing_and_is_recorded(
    app: Flask, logged_in: Client, contractor: Account, step: Step
) -> None:
    before = password_hash(app, contractor)
    with minutes_later(6):
        refused = post(logged_in, step, WRONG)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f"{step.error_id}>{WRONG_MESSAGE}</p>" in html
    assert WRONG not in html and NEW_PASSWORD not in html  # a password is never echoed
    assert not step.done(app, contractor)
    assert password_hash(app, contractor) == before
    assert actions(app, contractor.contract_id).count("reauth.failed") == 1


def test_a_wrong_password_is_refused_even_inside_the_window(
    app: Flask, logged_in: Client, contractor: Account, windowed_step: Step
) -> None:
    """A password typed is always checked: a wrong one never goes ahead unnoticed."""
    refused = post(logged_in, windowed_step, WRONG)
    assert refused.status_code == 422
    assert WRONG_MESSAGE in refused.get_data(as_text=True)
    assert not windowed_step.done(app, contractor)
    assert "reauth.failed" in actions(app, contractor.contract_id)


def test_wrong_passwords_are_limited_across_the_steps(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    """Five wrong answers per account in 15 minutes, whichever step asked: then 429."""
    names = ["withdraw", "settings-email", "edit-email", "settings-password", "edit-password"]
    with minutes_later(6):
        for name in names:
            assert post(logged_in, STEPS[name], WRONG).status_code == 422
        blocked = post(logged_in, STEPS["withdraw"], PASSWORD)
    assert blocked.status_code == 429
    assert not withdrawn(app, contractor)
    assert actions(app, contractor.contract_id).count("reauth.failed") == 5


def test_a_right_answer_opens_a_new_window(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with minutes_later(6):
        assert post(logged_in, STEPS["settings-email"], PASSWORD).status_code == 303
    with minutes_later(10):
        assert field_count(logged_in, "/account/withdraw") == 0
        assert post(logged_in, STEPS["withdraw"]).status_code == 303
    assert withdrawn(app, contractor)


def test_a_right_answer_to_a_refused_form_is_not_asked_again(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    """The ticks forgotten, the password right: the page asks only for the ticks."""
    with minutes_later(6):
        refused = logged_in.post_form(
            "/account/withdraw", {"current_password": PASSWORD}, token_from="/account/withdraw"
        )
        assert refused.status_code == 422
        html = refused.get_data(as_text=True)
        assert "確認事項のすべてにチェックしてください。" in html
        assert PASSWORD_INPUT not in html
        assert post(logged_in, STEPS["withdraw"]).status_code == 303
    assert withdrawn(app, contractor)


def test_another_browser_has_a_window_of_its_own(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    """The time is kept per login session, on the server."""
    other = app.test_client(use_cookies=True)
    other.__class__ = Client
    with minutes_later(6):
        assert post(logged_in, STEPS["settings-email"], PASSWORD).status_code == 303
        assert other.login(contractor.email).status_code == 303
    with minutes_later(12):
        assert post(other, STEPS["withdraw"]).status_code == 422
        assert not withdrawn(app, contractor)


def test_a_login_from_before_the_column_counts_from_its_start(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    with app.app_context():
        login_session = db.session.scalars(select(LoginSession)).one()
        login_session.authenticated_at = None
        login_session.created_at -= dt.timedelta(minutes=6)
        db.session.commit()
    assert post(logged_in, STEPS["withdraw"]).status_code == 422
    assert not withdrawn(app, contractor)


def test_the_window_is_configurable(app: Flask, logged_in: Client, contractor: Account) -> None:
    app.config["REAUTH_MINUTES"] = 0
    assert field_count(logged_in, "/account/withdraw") == 1
    assert post(logged_in, STEPS["withdraw"]).status_code == 422
    assert post(logged_in, STEPS["withdraw"], PASSWORD).status_code == 303
    assert withdrawn(app, contractor)


def test_a_wrong_answer_reads_in_the_history(logged_in: Client) -> None:
    with minutes_later(6):
        post(logged_in, STEPS["withdraw"], WRONG)
        html = logged_in.get("/history").get_data(as_text=True)
    assert "パスワード再入力の失敗" in html


def test_later_turning_two_factor_off_or_renewing_its_codes_needs_the_password(
    app: Flask, logged_in: Client, contractor: Account, smtp: Mailbox
) -> None:
    """A stolen session must not turn the second factor off, nor issue itself new codes."""
    enrol(logged_in, app, contractor)
    with minutes_later(6):
        for path, prefix in (
            ("/settings/two-factor/recovery-codes", "codes"),
            ("/settings/two-factor/off", "off"),
        ):
            refused = logged_in.post_form(path, token_from="/settings")
            assert refused.status_code == 422, path
            html = refused.get_data(as_text=True)
            assert f'id="{prefix}-current_password-error"' in html
            assert "<code>" not in html
        with app.app_context():
            credential = db.session.get(TotpCredential, contractor.user_id)
            assert credential is not None and credential.enabled_at is not None
        off = logged_in.post_form(
            "/settings/two-factor/off", {"off-current_password": PASSWORD}, token_from="/settings"
        )
        assert off.status_code == 303
    with app.app_context():
        assert db.session.get(TotpCredential, contractor.user_id) is None
