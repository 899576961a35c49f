"""Outgoing mail: SMTP when configured, else an outbox folder and the log."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from flask import Flask, current_app, render_template
from flask_mail import Mail, Message

from .database import after_commit
from .i18n import LANGUAGES, current_language, speaking

log = logging.getLogger(__name__)
mail = Mail()


def init_app(app: Flask) -> None:
    mail.init_app(app)


def encoded_header(value: str) -> str:
    """Encode a header value as RFC 2047 words, keeping its spaces.

    Flask-Mail's own encoding can lose the space before a Japanese word ("stopped:正面");
    the standard library's SMTP policy puts such spaces inside the encoded words.
    """
    if value.isascii():
        return value
    probe = EmailMessage(policy=policy.SMTP)
    probe["Subject"] = value
    head = probe.as_bytes().decode("ascii").split("\r\n\r\n", 1)[0]
    return " ".join(line.strip() for line in head[len("Subject:") :].split("\r\n"))


def outbox_dir() -> Path:
    return Path(current_app.config["MAIL_OUTBOX_DIR"])


def compose(
    to: str | list[str], template: str, *, locale: str | None = None, **context: Any
) -> Message:
    """Render ``templates/mail/<template>.txt`` in the reader's language as a message.

    English mails live in ``templates/mail/en/``. The template's first line is the subject.
    """
    recipients: list[str | tuple[str, str]] = [to] if isinstance(to, str) else list(to)
    language = locale if locale in LANGUAGES else current_language()
    name = f"mail/en/{template}.txt" if language == "en" else f"mail/{template}.txt"
    with speaking(language):
        rendered = render_template(name, **context)
    subject, _, body = rendered.partition("\n")
    return Message(
        recipients=recipients,
        body=body.lstrip("\n"),
        charset="utf-8",
        extra_headers={"Subject": encoded_header(subject.strip())},
    )


def deliver(message: Message) -> None:
    """Send *message* over SMTP, or without MAIL_SERVER write it to the outbox folder.

    In development nothing is ever silently lost: the outbox keeps every mail.
    """
    if current_app.config.get("MAIL_SERVER"):
        mail.send(message)
        return
    folder = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.time_ns()}-{secrets.token_hex(4)}.eml"
    path.write_bytes(message.as_bytes())
    log.info("mail to %s (%s) written to %s", message.recipients, message.subject, path)


def send_mail(
    to: str | list[str], template: str, *, locale: str | None = None, **context: Any
) -> Message:
    """Render a mail (see compose) and send it now; a failing mail server raises."""
    message = compose(to, template, locale=locale, **context)
    deliver(message)
    return message


@dataclass
class Delivery:
    """A mail that leaves once its unit of work has committed; `sent` says how that went."""

    recipients: list[str]
    sent: bool | None = None  # None until the commit; then True, or False if it failed


def send_after_commit(
    to: str | list[str], template: str, *, locale: str | None = None, **context: Any
) -> Delivery:
    """Send a mail about a change once the change has committed.

    It is rendered now, while what it names is at hand, and never sent for a change that
    rolled back. A mail server that fails after the commit cannot undo the change: the
    failure is logged and the returned Delivery says so (sent is False).
    """
    message = compose(to, template, locale=locale, **context)
    delivery = Delivery(recipients=[str(r) for r in message.recipients])

    def send() -> None:
        try:
            deliver(message)
        except Exception:
            delivery.sent = False
            log.exception("mail to %s (%s) not sent", delivery.recipients, template)
        else:
            delivery.sent = True

    after_commit(send)
    return delivery
