"""A real SMTP server on loopback (aiosmtpd), and the mailbox where tests read what it got.

The unit tests start one per test for their app; the browser tests start one for the
session, for the live portal. Tests wait for a mail without polling: the server's thread
wakes them when it arrives.
"""

from __future__ import annotations

import email
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

# How long a mail may take to reach the server (it is sent during the request, so it is
# normally there before the request's answer).
MAIL_TIMEOUT = 10.0


@dataclass(frozen=True)
class ReceivedMail:
    """One mail as the SMTP server received it; it reads like the message it carries."""

    envelope_to: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return str(self.message.get_content())

    def link(self) -> str:
        """Return the one portal link in the body (the whole URL, as a mail reader shows it)."""
        links = re.findall(r"https?://\S+", self.body)
        assert len(links) == 1, f"expected one link in the mail, found {links}: {self.body}"
        return links[0]

    def __getitem__(self, header: str) -> Any:
        return self.message[header]

    def get_content(self) -> Any:
        return self.message.get_content()


class MailNotReceived(AssertionError):
    """No mail with the awaited subject arrived (a test may expect this failure precisely)."""


@dataclass
class Mailbox:
    """Mails received by the local SMTP server; tests wait for them without polling."""

    _mails: list[ReceivedMail] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def deliver(self, mail: ReceivedMail) -> None:
        """Called in the SMTP server's thread for every mail."""
        with self._arrived:
            self._mails.append(mail)
            self._arrived.notify_all()

    @property
    def messages(self) -> list[ReceivedMail]:
        """Every mail received so far, oldest first."""
        with self._arrived:
            return list(self._mails)

    def to(self, address: str) -> list[ReceivedMail]:
        """Return the mails received so far for *address* (envelope or To header)."""
        with self._arrived:
            return self._to(address)

    def link(self, mail: ReceivedMail) -> str:
        """Return the path of the (first) portal link in a mail's body."""
        match = re.search(r"https?://[^/\s]+(/\S+)", mail.get_content())
        assert match, mail.get_content()
        return match.group(1)

    def wait_for(self, address: str, subject: str, timeout: float = MAIL_TIMEOUT) -> ReceivedMail:
        """Wait until a mail to *address* whose subject contains *subject* arrives; return it.

        With several such mails, the newest one. The SMTP handler's notify wakes the wait.
        """

        def newest() -> ReceivedMail | None:
            found = [m for m in self._to(address) if subject in m.subject]
            return found[-1] if found else None

        with self._arrived:
            mail = self._arrived.wait_for(newest, timeout=timeout)
        if mail is None:
            raise MailNotReceived(
                f"no mail to {address} about {subject!r} within {timeout}s; "
                f"it received: {[m.subject for m in self.to(address)]}"
            )
        return mail

    def _to(self, address: str) -> list[ReceivedMail]:
        address = address.lower()
        return [mail for mail in self._mails if address in _recipients(mail)]


def _recipients(mail: ReceivedMail) -> set[str]:
    headers = {a.addr_spec.lower() for a in mail.message["To"].addresses}
    return headers | {a.lower() for a in mail.envelope_to}


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    mailbox: Mailbox

    def app_config(self) -> dict[str, Any]:
        """The settings that make an app send its mail here, in the clear and unauthenticated."""
        return {
            "MAIL_SERVER": self.host,
            "MAIL_PORT": self.port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_USERNAME": None,
            "MAIL_PASSWORD": None,
            "MAIL_SUPPRESS_SEND": False,
        }


class _DeliverToMailbox:
    """aiosmtpd handler: decode every mail and put it in the mailbox."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mailbox.deliver(ReceivedMail(tuple(envelope.rcpt_tos), message))
        return "250 OK"


def free_port(host: str = "127.0.0.1") -> int:
    """Return a port that is free now (aiosmtpd cannot be given port 0)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_mail_server(host: str = "127.0.0.1") -> Iterator[MailServer]:
    """Run an SMTP server on a free loopback port, with an empty mailbox, for the block."""
    mailbox = Mailbox()
    port = free_port(host)
    controller = Controller(_DeliverToMailbox(mailbox), hostname=host, port=port)
    controller.start()
    try:
        yield MailServer(host=host, port=port, mailbox=mailbox)
    finally:
        controller.stop()
