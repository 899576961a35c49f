"""Languages: Japanese by default, English as a choice.

The account's setting wins; without one (or before login), the cookie set by the
language switch, then the browser's preferred language.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import Flask, current_app, has_app_context, has_request_context, request
from flask_babel import Babel, force_locale, get_locale, gettext, ngettext
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup
from werkzeug.wrappers import Response

LANGUAGES = {"ja": "日本語", "en": "English"}
DEFAULT = "ja"
COOKIE = "lang"

babel = Babel()


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT  # commands and mails choose their language explicitly
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return str(current_user.locale)
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT) or DEFAULT


def remember_language(response: Response, language: str) -> Response:
    """Have the browser keep *language* for the pages it asks for before (or without) a login."""
    response.set_cookie(
        COOKIE,
        language,
        max_age=365 * 24 * 3600,
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite="Lax",
    )
    return response


# The language of what is being rendered now: set at the first text of a request, or by
# `speaking`. Looked up for every translated text, so it must cost nothing to read.
_language: ContextVar[str | None] = ContextVar("portal_language", default=None)


def current_language() -> str:
    """The language texts are being rendered in now (Japanese in a command by default)."""
    language = _language.get()
    if language is not None:
        return language
    if has_request_context():
        language = str(get_locale() or DEFAULT)
        _language.set(language)
        return language
    if has_app_context():
        return str(get_locale() or DEFAULT)
    return DEFAULT


def _forget_language(*args: object) -> None:
    """A new request chooses its own language (one worker serves many, one after another)."""
    _language.set(None)


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Render in *language* for a while (a mail for its reader), whatever the request's."""
    with force_locale(language):
        token = _language.set(language)
        try:
            yield
        finally:
            _language.reset(token)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["SERVICE_TIME_ZONE"])
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(_forget_language)
    app.teardown_request(_forget_language)
    # Templates translate dozens of fixed texts per page: through the cache.
    # install_gettext_callables comes from the jinja2.ext.i18n extension Flask-Babel loads.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        translate, translate_plural, newstyle=True
    )
    app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"] = translate_in_template
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES


def N_(text: str) -> str:
    """Mark *text* for translation where it is defined; it is translated where it is shown."""
    return text


_translations: dict[tuple[str, str], str] = {}


def translate(text: str) -> str:
    """Translate a marked text into the current language, remembering the answer.

    Status labels appear hundreds of times on a list page; the catalogs do not change
    while the process runs, so each (language, text) is looked up once.
    """
    key = (current_language(), text)
    try:
        return _translations[key]
    except KeyError:
        value = _translations[key] = gettext(text)
        return value


_markup: dict[tuple[str, str], Markup] = {}


@pass_eval_context
def translate_in_template(eval_ctx: EvalContext, text: str, /, **variables: Any) -> str:
    """{{ _("…") }}: what Jinja's new-style gettext gives, in one call instead of three.

    A page shows dozens of fixed texts: each (language, text) becomes markup once.
    """
    if not eval_ctx.autoescape:
        return translate(text) % variables
    if variables:
        return Markup(translate(text)) % variables
    key = (current_language(), text)
    try:
        return _markup[key]
    except KeyError:
        value = _markup[key] = Markup(translate(text)) % {}
        return value


def translate_plural(singular: str, plural: str, number: int) -> str:
    key = (current_language(), f"{singular}\x00{plural}\x00{number}")
    try:
        return _translations[key]
    except KeyError:
        value = _translations[key] = ngettext(singular, plural, number)
        return value


def _translated(text: str, **variables: Any) -> str:
    value = translate(text)
    return value % variables if variables else value


def lazy(text: str, **variables: Any) -> LazyString:
    """Mark *text* for translation, translated (through the cache) when it is shown.

    For texts defined at import time: form labels, validator messages, constants.
    """
    return LazyString(_translated, text, **variables)
