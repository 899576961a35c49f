"""What contractors type for MAC addresses, licence keys and domain names, normalised."""

from __future__ import annotations

import re

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
