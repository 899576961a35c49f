"""The Flask test client as a PC browser, and the contractor accounts it logs in as."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.support.factories import PASSWORD, ContractFactory, UserFactory

PC_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)
CSRF_PATTERN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


class Client(FlaskClient):
    """A test client that browses like a PC and can fetch the CSRF token of any page."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("User-Agent", PC_USER_AGENT)
        kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def csrf_token(self, path: str = "/login") -> str:
        html = self.get(path).get_data(as_text=True)
        match = CSRF_PATTERN.search(html)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def login(self, email: str, password: str = PASSWORD, **extra: Any) -> Any:
        data = {"email": email, "password": password, "csrf_token": self.csrf_token(), **extra}
        return self.post("/login", data=data)

    def post_form(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST to *path* with the CSRF token that the page at *path* carries."""
        token = self.csrf_token(kwargs.pop("token_from", path))
        return self.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)

    def hidden_fields(self, path: str) -> dict[str, str]:
        """The hidden fields (CSRF token included) of the form on *path* that posts to it."""
        page = self.get(path).get_data(as_text=True)
        action = re.escape(path.split("?")[0])
        form = re.search(rf'<form[^>]*action="{action}[^"]*"[^>]*>(.*?)</form>', page, re.S)
        assert form, f"no form posting to {path}"
        fields = {}
        for tag in re.findall(r'<input[^>]*type="hidden"[^>]*>', form.group(1)):
            name = re.search(r'name="([^"]*)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if name:
                fields[html.unescape(name.group(1))] = html.unescape(
                    value.group(1) if value else ""
                )
        return fields

    def submit_form(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Submit the form that the page at *path* shows, as shown (its hidden fields too)."""
        return self.post(path, data={**self.hidden_fields(path), **(data or {})}, **kwargs)


@dataclass(frozen=True)
class Account:
    """A contractor account, as plain values usable outside an application context."""

    user_id: int
    contract_id: int
    email: str


def make_account(app: Flask, email: str, **kwargs: Any) -> Account:
    with app.app_context():
        user = UserFactory(email=email, contract=ContractFactory(), **kwargs)
        return Account(user.id, user.contract_id, user.email)
