"""Secrets at rest: digests of random tokens and keys, and encryption of camera passwords."""

from __future__ import annotations

import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask

from .config import ConfigError


def digest(secret: str) -> str:
    """Return the SHA-256 (hex) by which a random secret is stored and looked up.

    For what is random and long (login and mail tokens, device secrets, licence keys), a
    fast digest is as good as a slow password hash, and a lookup by digest through a unique
    index compares no secret in a way that timing could reveal.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


class FieldCipher:
    """Encrypt with the first configured key; decrypt with any of them (key rotation)."""

    def __init__(self, keys: list[str]) -> None:
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "ENCRYPTION_KEYS must be comma-separated Fernet keys "
                "(python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from exc

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise ConfigError("a stored secret cannot be decrypted with ENCRYPTION_KEYS") from exc

    def decrypt_fresh(self, token: str, max_age: int) -> str | None:
        """Return what *token* holds if it was made less than *max_age* seconds ago."""
        try:
            return self._fernet.decrypt(token.encode("ascii"), ttl=max_age).decode()
        except (InvalidToken, UnicodeError):
            return None


def init_app(app: Flask) -> None:
    app.extensions["field_cipher"] = FieldCipher(app.config["ENCRYPTION_KEYS"])
