"""Languages: Japanese by default, English as a choice.

The account's setting wins; without one (or before login), the cookie set by the
language switch, then the browser's preferred language.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask_babel import Babel, get_locale, gettext, ngettext
from flask_login import current_user

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


def current_language() -> str:
    """The language of the current request (Japanese outside of one)."""
    if not has_request_context():
        return DEFAULT
    return str(get_locale() or DEFAULT)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Tokyo")
    babel.init_app(app, locale_selector=select_locale)
    # Templates translate dozens of fixed texts per page: through the cache.
    # install_gettext_callables comes from the jinja2.ext.i18n extension Flask-Babel loads.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        translate, translate_plural, newstyle=True
    )
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


def translate_plural(singular: str, plural: str, number: int) -> str:
    key = (current_language(), f"{singular}\x00{plural}\x00{number}")
    try:
        return _translations[key]
    except KeyError:
        value = _translations[key] = ngettext(singular, plural, number)
        return value
