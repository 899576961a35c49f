"""What contractors type for MAC addresses, licence keys and domain names, normalised."""

from __future__ import annotations

import re
import unicodedata

_MAC_SEPARATORS = re.compile(r"[\s:.\-]")
_HEX12 = re.compile(r"[0-9A-F]{12}")
# Crockford's base32 reads I and L as 1 and O as 0, so a misread key still works.
_KEY_READINGS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_KEY_SEPARATORS = re.compile(r"[\s\-]")
_KEY = re.compile(r"[0-9A-HJKMNP-TV-Z]{20}")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def normalise_mac(value: str) -> str | None:
    """Return a unicast MAC as twelve upper-case hex digits, or None if it is not one.

    Accepts 00:80:45:AB:CD:EF, 00-80-45-ab-cd-ef, 0080.45ab.cdef and 008045ABCDEF.
    """
    digits = _MAC_SEPARATORS.sub("", value).upper()
    if not _HEX12.fullmatch(digits):
        return None
    # All zeros, and group (multicast or broadcast) addresses, never name one device.
    if digits == "0" * 12 or int(digits[:2], 16) & 1:
        return None
    return digits


def normalise_licence_key(value: str) -> str | None:
    """Return a licence key as stored (20 characters), or None if it cannot be one."""
    key = _KEY_SEPARATORS.sub("", value).upper().translate(_KEY_READINGS)
    return key if _KEY.fullmatch(key) else None


def normalise_domain(value: str, suffix: str) -> str | None:
    """Return a device domain name under *suffix*, or None if it is not a valid one.

    The contractor may type the whole name or only the part before the suffix.
    """
    name = value.strip().lower().rstrip(".")
    if name.endswith("." + suffix):
        name = name[: -len(suffix) - 1]
    if not _LABEL.fullmatch(name):
        return None
    return f"{name}.{suffix}"


_HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}
_KATAKANA_NAME = re.compile(r"[\u30a1-\u30fa\u30fc\u30fb\u3000 ]+")
_POSTAL_DASHES = re.compile(r"[\-\u2010-\u2015\u2212\u30fc]")
_PHONE = re.compile(r"0\d{1,4}-?\d{1,4}-?\d{3,4}")


def normalise_furigana(value: str) -> str | None:
    """Return フリガナ in full-width katakana (half-width katakana and hiragana converted)."""
    text = unicodedata.normalize("NFKC", value).translate(_HIRAGANA_TO_KATAKANA).strip()
    text = re.sub(r"\s+", " ", text)
    return text if _KATAKANA_NAME.fullmatch(text) else None


def normalise_postal_code(value: str) -> str | None:
    """Return a 郵便番号 as seven digits (with or without the hyphen, full-width accepted)."""
    digits = _POSTAL_DASHES.sub("", unicodedata.normalize("NFKC", value).strip())
    return digits if re.fullmatch(r"\d{7}", digits) else None


def normalise_phone(value: str) -> str | None:
    """Return a Japanese phone number (10 or 11 digits, hyphens kept), or None."""
    text = _POSTAL_DASHES.sub("-", unicodedata.normalize("NFKC", value).strip())
    digits = text.replace("-", "")
    if not _PHONE.fullmatch(text) or len(digits) not in (10, 11):
        return None
    return text
