"""The one rule for e-mail addresses, kept alike by every form, command and service.

An address is trimmed and kept in lower case; it is at most 254 characters and has the
form email-validator accepts without looking the domain up (which refuses `bad@@x` and the
special-use domains such as `.test` and `.invalid`, which no mail reaches).
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254


def normalised(address: str) -> str:
    """The address as it is kept and compared: trimmed, in lower case."""
    return address.strip().lower()


def is_acceptable(address: str) -> bool:
    """Whether *address* (normalised) is one the portal takes as a login or mail address."""
    if not address or len(address) > MAX_LENGTH:
        return False
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True
