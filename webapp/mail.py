"""Outgoing mail: SMTP when configured, else an outbox folder and the log."""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Flask, current_app, render_template
from flask_mail import Mail, Message

log = logging.getLogger(__name__)
mail = Mail()


def init_app(app: Flask) -> None:
    mail.init_app(app)


def outbox_dir() -> Path:
    return Path(current_app.config["MAIL_OUTBOX_DIR"])


def send_mail(to: str | list[str], template: str, **context: Any) -> Message:
    """Render ``templates/mail/<template>.txt`` and send it.

    The template's first line is the subject. Without MAIL_SERVER the message is
    written to the outbox folder (development), so nothing is ever silently lost.
    """
    recipients: list[str | tuple[str, str]] = [to] if isinstance(to, str) else list(to)
    subject, _, body = render_template(f"mail/{template}.txt", **context).partition("\n")
    message = Message(
        subject=subject.strip(), recipients=recipients, body=body.lstrip("\n"), charset="utf-8"
    )
    if current_app.config.get("MAIL_SERVER"):
        mail.send(message)
    else:
        folder = outbox_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{time.time_ns()}-{secrets.token_hex(4)}.eml"
        path.write_bytes(message.as_bytes())
        log.info("mail to %s (%s) written to %s", recipients, subject.strip(), path)
    return message
