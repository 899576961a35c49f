"""Two-factor login: enrolment, the second step, code reuse, drift, recovery codes, limits."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from flask import Flask

from tests.support.client import Account, Client
from tests.support.factories import UserFactory
from tests.support.mail import Mailbox
from webapp.enums import Role
from webapp.extensions import db
from webapp.models import AuditEvent, Contract, RecoveryCode, TotpCredential, User
from webapp.services import two_factor
from webapp.services.refusals import InvalidCode, NotEnrolled, WrongCode


def _secret_of(app: Flask, user_id: int) -> str:
    with app.app_context():
        credential = db.session.get(TotpCredential, user_id)
        assert credential is not None
        return credential.secret


def enrol(client: Client, app: Flask, account: Account) -> tuple[str, list[str]]:
    """Set up an app for the logged-in *account*; return its secret and the recovery codes."""
    assert client.post_form("/settings/two-factor", token_from="/settings").status_code == 303
    page = client.get("/settings/two-factor/enrol")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'src="data:image/svg+xml' in html
    secret = _secret_of(app, account.user_id)
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in html
    done = client.post_form("/settings/two-factor/enrol", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code>", done.get_data(True))
    assert len(codes) == 10
    return secret, codes


def second_step(client: Client, code: str) -> Any:
    return client.post_form("/login/code", {"code": code})


def actions(app: Flask, contract_id: int) -> list[str]:
    with app.app_context():
        return [
            e.action
            for e in db.session.scalars(
                db.select(AuditEvent).where(AuditEvent.contract_id == contract_id)
            )
        ]


@pytest.fixture
def enrolled(
    app: Flask, logged_in: Client, contractor: Account, smtp: Mailbox
) -> tuple[str, list[str]]:
    secret, codes = enrol(logged_in, app, contractor)
    logged_in.post_form("/logout", token_from="/settings")
    return secret, codes


def test_enrolment_shows_qr_and_secret_then_ten_recovery_codes_once(
    app: Flask, logged_in: Client, contractor: Account, smtp: Mailbox
) -> None:
    secret, codes = enrol(logged_in, app, contractor)
    assert len(set(codes)) == 10
    with app.app_context():
        stored = db.session.scalars(db.select(RecoveryCode.code_digest)).all()
        # Only digests are kept, and the secret is not stored in the clear.
        assert not any(code.replace("-", "") in "".join(stored) for code in codes)
        raw = db.session.execute(db.text("select secret from totp_credential")).scalar_one()
        assert secret not in raw
    page = logged_in.get("/settings").get_data(as_text=True)
    assert "未使用のリカバリーコード: 10個" in page
    assert codes[0] not in page
    assert "two_factor.enable" in actions(app, contractor.contract_id)
    assert smtp.wait_for(contractor.email, "2段階認証を設定しました")


def test_enrolment_refuses_a_wrong_or_malformed_code(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    logged_in.post_form("/settings/two-factor", token_from="/settings")
    secret = _secret_of(app, contractor.user_id)
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1000000:06d}"
    for code, status in (("12ab56", 422), ("12345", 422), (wrong, 401)):
        refused = logged_in.post_form("/settings/two-factor/enrol", {"code": code})
        assert refused.status_code == status
        assert 'class="field-error"' in refused.get_data(as_text=True)
    with app.app_context():
        assert not two_factor.has_second_factor(db.session.get(User, contractor.user_id))


def test_login_asks_for_a_code_and_opens_the_session_only_after_it(
    app: Flask, client: Client, contractor: Account, enrolled: tuple[str, list[str]]
) -> None:
    secret, _codes = enrolled
    response = client.login(contractor.email)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/login/code")
    # Half done: no page of the portal opens.
    for path in ("/", "/settings", "/devices", "/users", "/history"):
        assert client.get(path).status_code in (302, 303), path
        assert "/login" in client.get(path).headers["Location"]
    assert client.get("/login/code").status_code == 200
    # The step after the last accepted one (enrolment used the current step).
    code = pyotp.TOTP(secret).at(time.time() + 30)
    done = second_step(client, code)
    assert done.status_code == 303
    assert client.get("/").status_code == 200


def test_a_code_is_refused_a_second_time(
    app: Flask, contractor: Account, enrolled: tuple[str, list[str]]
) -> None:
    secret, _codes = enrolled
    with app.test_request_context():
        user = db.session.get(User, contractor.user_id)
        assert user is not None
        at = time.time() + 60
        code = pyotp.TOTP(secret).at(at)
        assert two_factor.check_second_factor(user, code, at=at) == "totp"
        with pytest.raises(WrongCode):
            two_factor.check_second_factor(user, code, at=at)
        # An earlier step, though inside the window, is refused after a later one.
        with pytest.raises(WrongCode):
            two_factor.check_second_factor(user, pyotp.TOTP(secret).at(at - 30), at=at)


@pytest.mark.parametrize(
    ("drift", "accepted"), [(-30, True), (30, True), (-60, False), (90, False)]
)
def test_clock_drift_of_one_step_either_side(
    app: Flask, contractor: Account, enrolled: tuple[str, list[str]], drift: int, accepted: bool
) -> None:
    secret, _codes = enrolled
    at = time.time() + 600  # well after the step used at enrolment
    code = pyotp.TOTP(secret).at(at + drift)
    with app.test_request_context():
        user = db.session.get(User, contractor.user_id)
        assert user is not None
        if accepted:
            assert two_factor.check_second_factor(user, code, at=at) == "totp"
        else:
            with pytest.raises(WrongCode):
                two_factor.check_second_factor(user, code, at=at)


def test_a_recovery_code_works_once(
    app: Flask,
    client: Client,
    contractor: Account,
    enrolled: tuple[str, list[str]],
    smtp: Mailbox,
) -> None:
    _secret, codes = enrolled
    client.login(contractor.email)
    assert second_step(client, codes[3].upper()).status_code == 303
    assert "two_factor.recovery_used" in actions(app, contractor.contract_id)
    assert smtp.wait_for(contractor.email, "リカバリーコードでログインしました")
    client.post_form("/logout", token_from="/settings")

    client.login(contractor.email)
    refused = second_step(client, codes[3])
    assert refused.status_code == 401
    assert "確認コードが正しくないか、既に使われています。" in refused.get_data(as_text=True)
    assert client.get("/").status_code in (302, 303)
    assert "login.code_failed" in actions(app, contractor.contract_id)
    page = client.get("/settings")
    assert page.status_code in (302, 303)


def test_bad_input_on_the_second_step_changes_nothing(
    app: Flask, client: Client, contractor: Account, enrolled: tuple[str, list[str]]
) -> None:
    client.login(contractor.email)
    before = actions(app, contractor.contract_id)
    for code in ("12345", "1234567", "abcdef", "", "x" * 30):
        refused = second_step(client, code)
        assert refused.status_code == 422, code
        assert 'class="field-error"' in refused.get_data(as_text=True)
    assert actions(app, contractor.contract_id) == before
    with app.test_request_context(), pytest.raises(InvalidCode):
        user = db.session.get(User, contractor.user_id)
        assert user is not None
        two_factor.check_second_factor(user, "12-34")


def test_wrong_codes_are_rate_limited(
    app: Flask, client: Client, contractor: Account, enrolled: tuple[str, list[str]]
) -> None:
    secret, _codes = enrolled
    client.login(contractor.email)
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 500000) % 1000000:06d}"
    statuses = [second_step(client, wrong).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    # Even the right code waits now.
    assert second_step(client, pyotp.TOTP(secret).at(time.time() + 30)).status_code == 429


def test_the_half_done_login_expires_and_belongs_to_its_browser(
    app: Flask,
    client: Client,
    contractor: Account,
    enrolled: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret, _codes = enrolled
    client.login(contractor.email)
    code = pyotp.TOTP(secret).at(time.time() + 30)
    # Another browser with the same cookie is turned away.
    other = client.get("/login/code", headers={"User-Agent": "Mozilla/5.0 (X11; Linux) Other/1"})
    assert other.status_code == 303
    client.login(contractor.email)
    token = client.csrf_token("/login/code")
    # Six minutes later the cipher refuses the half-done state.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 6 * 60)
    late = client.post("/login/code", data={"csrf_token": token, "code": code})
    assert late.status_code == 303
    assert late.headers["Location"].endswith("/login")
    monkeypatch.undo()
    assert client.get("/").status_code in (302, 303)


def test_turning_off_and_regenerating_are_recorded_and_mailed(
    app: Flask, client: Client, contractor: Account, enrolled: tuple[str, list[str]], smtp: Mailbox
) -> None:
    secret, codes = enrolled
    client.login(contractor.email)
    assert second_step(client, pyotp.TOTP(secret).at(time.time() + 30)).status_code == 303
    fresh = client.post_form("/settings/two-factor/recovery-codes", token_from="/settings")
    assert fresh.status_code == 200
    new_codes = re.findall(r"<code>([a-z0-9-]{14})</code>", fresh.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert smtp.wait_for(contractor.email, "リカバリーコードを再発行しました")
    off = client.post_form("/settings/two-factor/off", token_from="/settings")
    assert off.status_code == 303
    assert smtp.wait_for(contractor.email, "2段階認証を解除しました")
    recorded = actions(app, contractor.contract_id)
    assert "two_factor.recovery_codes" in recorded and "two_factor.disable" in recorded
    client.post_form("/logout", token_from="/settings")
    assert client.login(contractor.email).headers["Location"].endswith("/")
    history = client.get("/history").get_data(as_text=True)
    assert "2段階認証の解除" in history and "リカバリーコードの再発行" in history


def test_the_contract_wide_requirement_sends_users_to_enrol_first(
    app: Flask,
    client: Client,
    logged_in: Client,
    contractor: Account,
    ctx: Callable[[], Any],
    smtp: Mailbox,
) -> None:
    # The contractor cannot require it before having it.
    refused = logged_in.post_form(
        "/users/two-factor", {"requires_two_factor": "y"}, token_from="/users"
    )
    assert refused.status_code == 409
    assert "先にご自身の2段階認証" in refused.get_data(as_text=True)
    enrol(logged_in, app, contractor)
    on = logged_in.post_form("/users/two-factor", {"requires_two_factor": "y"}, token_from="/users")
    assert on.status_code == 303
    # Nor turn it off for themselves while it is required.
    logged_in.post_form("/settings/two-factor/off", token_from="/settings")
    with ctx():
        contract = db.session.get(Contract, contractor.contract_id)
        assert contract is not None and contract.requires_two_factor
        user = db.session.get(User, contractor.user_id)
        assert user is not None and two_factor.has_second_factor(user)
        general = UserFactory(email="staff@example.com", contract=contract, role=Role.GENERAL)
        general_email = general.email

    staff = app.test_client()
    arrived = staff.login(general_email)
    assert arrived.status_code == 303
    assert "/settings" in arrived.headers["Location"]
    for path in ("/", "/history", "/terms"):
        blocked = staff.get(path)
        assert blocked.status_code in (302, 303), path
        assert "/settings" in blocked.headers["Location"]
    # Under htmx the whole page goes, not a settings page swapped into a panel.
    swapped = staff.get("/", headers={"HX-Request": "true"})
    assert "/settings" in swapped.headers["HX-Redirect"]
    assert "ご契約では2段階認証が必須です" in staff.get("/settings").get_data(as_text=True)
    with ctx():
        staff_id = db.session.scalar(db.select(User.id).where(User.email == general_email))
    assert staff_id is not None
    enrol(staff, app, Account(staff_id, contractor.contract_id, general_email))
    assert staff.get("/").status_code == 200


def test_only_the_contractor_sets_the_requirement(
    app: Flask, client: Client, contractor: Account, ctx: Callable[[], Any]
) -> None:
    with ctx():
        contract = db.session.get(Contract, contractor.contract_id)
        UserFactory(email="viewer@example.com", contract=contract, role=Role.GENERAL)
    staff = app.test_client()
    assert staff.login("viewer@example.com").status_code == 303
    refused = staff.post_form(
        "/users/two-factor", {"requires_two_factor": "y"}, token_from="/settings"
    )
    assert refused.status_code == 404
    with ctx():
        contract = db.session.get(Contract, contractor.contract_id)
        assert contract is not None and not contract.requires_two_factor


def test_every_two_factor_post_needs_the_csrf_token(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    for path in (
        "/settings/two-factor",
        "/settings/two-factor/enrol",
        "/settings/two-factor/recovery-codes",
        "/settings/two-factor/off",
        "/users/two-factor",
    ):
        assert logged_in.post(path, data={"code": "123456"}).status_code == 400, path
    with app.app_context():
        assert db.session.get(TotpCredential, contractor.user_id) is None


def test_the_second_step_needs_the_csrf_token(
    app: Flask, client: Client, contractor: Account, enrolled: tuple[str, list[str]]
) -> None:
    secret, _codes = enrolled
    client.login(contractor.email)
    code = pyotp.TOTP(secret).at(time.time() + 30)
    assert client.post("/login/code", data={"code": code}).status_code == 400
    assert client.get("/").status_code in (302, 303)


def test_every_code_post_counts_as_it_arrives(
    client: Client, contractor: Account, enrolled: tuple[str, list[str]]
) -> None:
    """Counted only after failing, codes sent at once would all be tried before the first
    was counted: every POST of the step counts, malformed ones too."""
    secret, _codes = enrolled
    client.login(contractor.email)
    assert [second_step(client, "12345").status_code for _ in range(5)] == [422] * 5
    assert second_step(client, pyotp.TOTP(secret).now()).status_code == 429


def test_requiring_it_logs_out_the_users_who_have_none(
    app: Flask, logged_in: Client, contractor: Account, ctx: Callable[[], Any], smtp: Mailbox
) -> None:
    with ctx():
        contract = db.session.get(Contract, contractor.contract_id)
        UserFactory(email="already-in@example.com", contract=contract, role=Role.GENERAL)
    staff = app.test_client()
    assert staff.login("already-in@example.com").status_code == 303
    assert staff.get("/").status_code == 200

    enrol(logged_in, app, contractor)
    on = logged_in.post_form("/users/two-factor", {"requires_two_factor": "y"}, token_from="/users")
    assert on.status_code == 303
    # Logged out at once: back through the login, and then to set a second factor up.
    assert staff.get("/").status_code == 302
    arrived = staff.login("already-in@example.com")
    assert "/settings" in arrived.headers["Location"]
    # The contractor, who has a second factor, stays logged in.
    assert logged_in.get("/").status_code == 200


def test_confirming_the_enrolment_twice_keeps_the_first_codes(
    app: Flask,
    logged_in: Client,
    contractor: Account,
    smtp: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret, codes = enrol(logged_in, app, contractor)
    # A second submit of the same form goes back to the settings, with no codes.
    again = logged_in.post_form(
        "/settings/two-factor/enrol",
        {"code": pyotp.TOTP(secret).at(time.time() + 30)},
        token_from="/settings",
    )
    assert again.status_code == 303 and "/settings" in again.headers["Location"]

    # One that read the enrolment before the first committed (two submits at once) is
    # refused by the write itself, and the codes shown first stay the ones that work.
    class Unconfirmed:
        enabled_at = None

        def __init__(self, secret: str) -> None:
            self.secret = secret

    monkeypatch.setattr(two_factor, "_credential", lambda user: Unconfirmed(secret))
    with app.test_request_context():
        user = db.session.get(User, contractor.user_id)
        assert user is not None
        with pytest.raises(NotEnrolled):
            two_factor.confirm_enrolment(user, pyotp.TOTP(secret).now())
    with app.app_context():
        stored = set(db.session.scalars(db.select(RecoveryCode.code_digest)))
        assert stored == {
            two_factor._recovery_digest(contractor.user_id, code.replace("-", "")) for code in codes
        }
    assert actions(app, contractor.contract_id).count("two_factor.enable") == 1
