"""Login from a PC only, the remembered e-mail, sessions that really end."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.support.client import PC_USER_AGENT, Account, Client
from tests.support.factories import UserFactory
from webapp.auth.views import LOGIN_FAILED_MESSAGE, REMEMBERED_EMAIL_COOKIE
from webapp.enums import Role
from webapp.extensions import db
from webapp.links import safe_next_url
from webapp.models import AuditEvent, Contract, LoginSession

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Safari/605.1.15"
)
MOBILE_REFUSAL = "ログインはパソコンから行ってください"


def test_login_page_shows_the_manual_labels(client: Client) -> None:
    html = client.get("/login").get_data(as_text=True)
    for label in (
        "Eメールアドレス",
        "パスワード",
        "Eメールアドレスを記憶する",
        "ログイン",
        "パスワードを忘れた方はこちら",
        "サービス情報サイトはこちら",
        "ユーザーサポートへ",
    ):
        assert label in html
    assert '<label for="email">Eメールアドレス</label>' in html
    assert '<label for="password">パスワード</label>' in html


def test_login_lands_on_the_portal(client: Client, contractor: Account, ctx) -> None:
    response = client.login(contractor.email)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert "ポータル" in client.get("/").get_data(as_text=True)
    with ctx():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login"))
        assert event is not None
        assert event.contract_id == contractor.contract_id
        assert event.actor_email == contractor.email


def test_login_ignores_case_and_spaces_in_the_email(client: Client, contractor: Account) -> None:
    assert client.login("  OWNER@Example.COM ").status_code == 303


@pytest.mark.parametrize("email", ["owner@example.com", "nobody@example.com"])
def test_failed_login_says_the_same_whether_or_not_the_email_exists(
    client: Client, contractor: Account, email: str
) -> None:
    response = client.login(email, "wrong password")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert str(LOGIN_FAILED_MESSAGE) in html
    assert "ログアウト" not in html
    assert client.get("/").status_code == 302


def test_failed_login_keeps_the_email_but_never_echoes_the_password(
    client: Client, contractor: Account
) -> None:
    html = client.login(contractor.email, "wrong-pass-xyz").get_data(as_text=True)
    assert 'value="owner@example.com"' in html
    assert "wrong-pass-xyz" not in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "", "password": "x"}, "Eメールアドレスを入力してください。"),
        ({"email": "a@example.com", "password": ""}, "パスワードを入力してください。"),
        ({"email": "a\x00@example.com", "password": "x"}, "使用できない文字が含まれています。"),
        ({"email": "a" * 300 + "@example.com", "password": "x"}, "254文字以内"),
        ({"email": "a@example.com", "password": "p" * 500}, "128文字以内"),
    ],
)
def test_bad_login_input_gets_a_message_next_to_the_field(
    client: Client, data: dict[str, str], message: str
) -> None:
    response = client.post("/login", data={**data, "csrf_token": client.csrf_token()})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'class="field-error"' in html


@pytest.mark.parametrize("user_agent", [IPHONE, IPAD, ANDROID_PHONE, ANDROID_TABLET])
def test_smartphones_and_tablets_are_refused(
    client: Client, contractor: Account, user_agent: str
) -> None:
    page = client.get("/login", headers={"User-Agent": user_agent})
    assert page.status_code == 403
    assert MOBILE_REFUSAL in page.get_data(as_text=True)
    assert 'name="password"' not in page.get_data(as_text=True)

    token = client.csrf_token()
    posted = client.post(
        "/login",
        data={"email": contractor.email, "password": "correct horse battery", "csrf_token": token},
        headers={"User-Agent": user_agent},
    )
    assert posted.status_code == 403
    assert client.get("/").status_code == 302  # not logged in


@pytest.mark.parametrize("user_agent", [PC_USER_AGENT, MAC_SAFARI, ""])
def test_pc_browsers_may_log_in(client: Client, contractor: Account, user_agent: str) -> None:
    token = client.csrf_token()
    response = client.post(
        "/login",
        data={"email": contractor.email, "password": "correct horse battery", "csrf_token": token},
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 303


def test_login_without_csrf_token_is_refused(client: Client, contractor: Account) -> None:
    response = client.post(
        "/login", data={"email": contractor.email, "password": "correct horse battery"}
    )
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_remember_email_keeps_only_the_email(client: Client, contractor: Account) -> None:
    response = client.login(contractor.email, remember_email="y")
    cookie = client.get_cookie(REMEMBERED_EMAIL_COOKIE)
    assert cookie is not None
    assert cookie.value == contractor.email
    assert cookie.http_only
    assert "correct horse" not in str(response.headers)
    client.post_form("/logout", token_from="/")

    html = client.get("/login").get_data(as_text=True)
    assert 'value="owner@example.com"' in html
    assert '<input checked id="remember_email"' in html
    assert "correct horse" not in html


def test_unticking_remember_email_forgets_it(client: Client, contractor: Account) -> None:
    client.login(contractor.email, remember_email="y")
    client.post_form("/logout", token_from="/")
    client.login(contractor.email)
    assert client.get_cookie(REMEMBERED_EMAIL_COOKIE) is None


def test_login_renews_the_session(client: Client, contractor: Account) -> None:
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.login(contractor.email)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_logout_is_a_post_with_csrf(logged_in: Client) -> None:
    assert logged_in.get("/logout").status_code == 405
    assert logged_in.post("/logout").status_code == 400
    assert logged_in.get("/").status_code == 200
    response = logged_in.post_form("/logout", token_from="/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    # The browser forgets the contract's pages and whatever a page stored.
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert logged_in.get("/").status_code == 302


LOGGED_OUT = "ログアウトしました。"
PLEASE_LOG_IN = "ログインしてください。"
# What browsers send for an image, a script and a fetch: named by Sec-Fetch-Dest, or by an
# Accept without text/html (browsers too old to name it).
NOT_A_PAGE = [
    {"Sec-Fetch-Dest": "image", "Accept": "image/avif,image/webp,image/apng,*/*;q=0.8"},
    {"Sec-Fetch-Dest": "script", "Accept": "*/*"},
    {"Sec-Fetch-Dest": "empty", "Accept": "*/*"},
    {"Accept": "image/webp,*/*"},
]
A_PAGE = [
    {"Sec-Fetch-Dest": "document", "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
    {},
]


@pytest.mark.parametrize("headers", NOT_A_PAGE, ids=["image", "script", "fetch", "old-image"])
def test_an_image_loading_after_logout_leaves_the_logout_message_alone(
    logged_in: Client, headers: dict[str, str]
) -> None:
    """The portal's images may still be on their way when 「ログアウト」 is pressed."""
    logged_in.post_form("/logout", token_from="/")
    image = logged_in.get("/devices/1/recordings/1/content", headers=headers)
    assert image.status_code == 401
    assert image.data == b""
    # The logout's cookie (its message) stays as it was: nothing written over it.
    assert "Set-Cookie" not in image.headers

    html = logged_in.get("/login").get_data(as_text=True)
    assert LOGGED_OUT in html
    assert PLEASE_LOG_IN not in html
    assert PLEASE_LOG_IN not in logged_in.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("headers", A_PAGE, ids=["document", "html", "unnamed"])
def test_a_page_without_a_login_asks_for_one(client: Client, headers: dict[str, str]) -> None:
    response = client.get("/devices?page=2", headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/devices?page%3D2"
    assert PLEASE_LOG_IN in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("user_agent", [IPHONE, IPAD, ANDROID_PHONE])
def test_a_smartphone_is_refused_without_being_asked_to_log_in(
    client: Client, user_agent: str
) -> None:
    response = client.get("/devices", headers={"User-Agent": user_agent})
    assert response.status_code == 302
    refusal = client.get(response.headers["Location"], headers={"User-Agent": user_agent})
    assert refusal.status_code == 403
    html = refusal.get_data(as_text=True)
    assert MOBILE_REFUSAL in html
    assert PLEASE_LOG_IN not in html


def test_a_cookie_copied_before_logout_no_longer_works(app, logged_in: Client, ctx) -> None:
    copied = logged_in.get_cookie("portal_session")
    assert copied is not None
    logged_in.post_form("/logout", token_from="/")

    thief = app.test_client()
    thief.set_cookie("portal_session", copied.value)
    response = thief.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    with ctx():
        assert db.session.scalars(select(LoginSession)).all() == []


def test_logout_ends_only_this_browser(app, client: Client, contractor: Account) -> None:
    other = app.test_client()
    assert other.login(contractor.email).status_code == 303
    client.login(contractor.email)
    client.post_form("/logout", token_from="/")
    assert other.get("/").status_code == 200


def test_an_idle_session_expires(app, logged_in: Client, ctx) -> None:
    with ctx():
        login_session = db.session.scalars(select(LoginSession)).one()
        login_session.last_seen_at -= dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
        db.session.commit()
    assert logged_in.get("/").status_code == 302
    with ctx():
        assert db.session.scalars(select(LoginSession)).all() == []


def test_the_portals_timed_refresh_does_not_keep_an_idle_session_alive(
    app, logged_in: Client, ctx
) -> None:
    """A portal left open on an unattended PC refreshes its tiles every 30 s: not activity."""
    idle = dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    html = logged_in.get("/").get_data(as_text=True)
    poll = html.split('id="portal-tiles"')[1].split('hx-get="')[1].split('"')[0]
    assert "self_refresh=1" in poll
    with ctx():
        login_session = db.session.scalars(select(LoginSession)).one()
        login_session.last_seen_at -= idle - dt.timedelta(minutes=2)
        db.session.commit()
    # Polled: answered, but the idle clock keeps running.
    assert logged_in.get(poll, headers={"HX-Request": "true"}).status_code == 200
    with ctx():
        login_session = db.session.scalars(select(LoginSession)).one()
        login_session.last_seen_at -= dt.timedelta(minutes=3)
        db.session.commit()
    assert logged_in.get(poll, headers={"HX-Request": "true"}).headers.get("HX-Redirect")
    with ctx():
        assert db.session.scalars(select(LoginSession)).all() == []


def test_a_request_of_the_person_keeps_the_session_alive(app, logged_in: Client, ctx) -> None:
    idle = dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    with ctx():
        login_session = db.session.scalars(select(LoginSession)).one()
        login_session.last_seen_at -= idle - dt.timedelta(minutes=2)
        db.session.commit()
    assert logged_in.get("/?page=1", headers={"HX-Request": "true"}).status_code == 200
    with ctx():
        login_session = db.session.scalars(select(LoginSession)).one()
        login_session.last_seen_at -= dt.timedelta(minutes=3)
        db.session.commit()
    assert logged_in.get("/").status_code == 200


def test_a_session_has_an_absolute_lifetime(app, logged_in: Client, ctx) -> None:
    with ctx():
        login_session = db.session.scalars(select(LoginSession)).one()
        login_session.created_at -= dt.timedelta(hours=app.config["SESSION_MAX_HOURS"], minutes=1)
        db.session.commit()
    assert logged_in.get("/").status_code == 302


def test_a_forged_session_token_is_ignored(client: Client) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = "x" * 500
    assert client.get("/").status_code == 302


def test_an_htmx_request_without_a_session_is_sent_to_login(client: Client) -> None:
    response = client.get("/devices", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/login"
    assert "ログイン" not in response.get_data(as_text=True)


def test_login_follows_a_local_next(client: Client, contractor: Account) -> None:
    token = client.csrf_token()
    response = client.post(
        "/login?next=/devices?page=2",
        data={"email": contractor.email, "password": "correct horse battery", "csrf_token": token},
    )
    assert response.headers["Location"] == "/devices?page=2"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "devices",
        "/\x00",
        "",
        None,
    ],
)
def test_next_never_leaves_the_site(target: str | None) -> None:
    assert safe_next_url(target) is None


def test_general_users_cannot_reach_management(app, client: Client, contractor: Account) -> None:
    with app.app_context():
        contract = db.session.get(Contract, contractor.contract_id)
        UserFactory(email="viewer@example.com", contract=contract, role=Role.GENERAL)
    client.login("viewer@example.com")
    assert client.get("/").status_code == 200
    assert ">設定<" not in client.get("/").get_data(as_text=True)
    for path in ("/devices", "/account", "/account/withdraw", "/users", "/notifications"):
        assert client.get(path).status_code == 404, path


def test_failed_logins_are_limited_per_account_and_client(
    client: Client, contractor: Account
) -> None:
    for _ in range(5):
        assert client.login(contractor.email, "wrong password").status_code == 401
    blocked = client.login(contractor.email)
    assert blocked.status_code == 429
    html = blocked.get_data(as_text=True)
    assert "分後にもう一度お試しください" in html
    assert int(blocked.headers["Retry-After"]) > 0


def test_a_correct_login_is_never_counted(client: Client, contractor: Account) -> None:
    for _ in range(8):
        assert client.login(contractor.email).status_code == 303
        client.post_form("/logout", token_from="/")


def test_another_client_is_not_locked_out_by_a_guesser(
    app, client: Client, contractor: Account
) -> None:
    for _ in range(6):
        client.login(contractor.email, "wrong password")
    owner = app.test_client()
    token = owner.csrf_token()
    response = owner.post(
        "/login",
        data={"email": contractor.email, "password": "correct horse battery", "csrf_token": token},
        environ_base={"REMOTE_ADDR": "192.0.2.50"},
    )
    assert response.status_code == 303
