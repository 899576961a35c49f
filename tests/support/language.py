"""The browser tests' language, and the portal's texts in it.

The browser speaks the language of E2E_LANGUAGE ("ja", the default, or "en"); the portal
answers in it (demo users have no saved language, so Accept-Language decides). Tests find
the screens' texts through t(), which looks the Japanese up in the compiled English catalog.
"""

from __future__ import annotations

import gettext
import os
import re
import warnings
from pathlib import Path

import pytest

TRANSLATIONS = Path(__file__).parents[2] / "webapp" / "translations"

LANGUAGE = os.environ.get("E2E_LANGUAGE", "ja") or "ja"
if LANGUAGE not in ("ja", "en"):
    raise pytest.UsageError(f"E2E_LANGUAGE must be 'ja' or 'en', not {LANGUAGE!r}")
BROWSER_LOCALE = {"ja": "ja-JP", "en": "en-US"}[LANGUAGE]


def _load_catalog() -> gettext.NullTranslations:
    """The compiled catalog of the run's language (none for Japanese, the msgids)."""
    if LANGUAGE == "ja":
        return gettext.NullTranslations()  # the msgids are the Japanese texts
    try:
        return gettext.translation("messages", TRANSLATIONS, languages=[LANGUAGE])
    except FileNotFoundError:
        raise pytest.UsageError(
            f"No compiled catalog for {LANGUAGE!r} under {TRANSLATIONS}: run `make setup`."
        ) from None


CATALOG = _load_catalog()


class UntranslatedText(UserWarning):
    """t() was given a text that the run's catalog does not translate."""


def t(text: str, **values: object) -> str:
    """Return the portal's text *text* (its Japanese msgid) in the run's language.

    With *values*, the placeholders (%(name)s …) are filled in as the portal does. A text
    the catalog does not have (demo data such as device names) comes back as it is.
    """
    translated = CATALOG.gettext(text)
    if LANGUAGE != "ja" and translated == text:
        # Either not a text of the portal, or the catalog lacks it (the screen shows Japanese).
        warnings.warn(UntranslatedText(f"not in the {LANGUAGE} catalog: {text!r}"), stacklevel=2)
    return translated % values if values else translated


def t_pattern(text: str, **patterns: str) -> re.Pattern[str]:
    """Return a regex matching the whole of t(text), its placeholders matched by *patterns*.

    t_pattern("✓完了 (設定日時: %(at)s)", at=r"\\d{4}/…") matches
    「✓完了 (設定日時: 2019/07/08 15:24)」 (in English 「✓ Complete (set up on 2019/07/08 15:24)」).
    """
    markers = {name: f"\x00{name}\x00" for name in patterns}
    pattern = re.escape(t(text, **markers))
    for name, marker in markers.items():
        pattern = pattern.replace(re.escape(marker), f"(?:{patterns[name]})")
    return re.compile(f"^{pattern}$")


def tn(singular: str, plural: str, n: int, **values: object) -> str:
    """Return a plural text (ngettext) for *n*, its %(num)s filled in with *n*."""
    return CATALOG.ngettext(singular, plural, n) % {"num": n, **values}


def in_language(*, ja: str, en: str) -> str:
    """Return the text for the run's language: for texts outside the catalog (mails)."""
    return en if LANGUAGE == "en" else ja
