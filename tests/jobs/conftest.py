"""Fixtures for background jobs: a media root per test and a real local SMTP server (aiosmtpd)."""

import asyncio
import email
import socket
import threading
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from tests.workflows.conftest import acme, globex, workers  # noqa: F401  (shared fixtures)


@pytest.fixture(autouse=True)
def email_rate(settings):
    """A send every 10 ms unless a test says otherwise; autouse so it is set before workers start
    (the e-mail queue's rate limit is read when its worker starts)."""
    settings.EMAIL_RATE_PER_MINUTE = 6000


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media-root")
    settings.MEDIA_IMAGE_VARIANTS = [
        {"name": "thumb", "max_size": 64, "format": "webp", "quality": 80},
        {"name": "medium", "max_size": 300, "format": "jpeg", "quality": 85},
    ]
    return tmp_path / "media-root"


class Mailbox:
    """An SMTP server's handler: keeps accepted messages; can refuse or defer chosen recipients."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()  # answered 550 at RCPT: a permanent failure
        self.defer: dict[str, int] = {}  # recipient -> how many DATA commands get 451 first
        self.deferred: list[str] = []
        self.delay: dict[str, float] = {}  # recipient -> seconds its DATA waits before answering
        self.receiving = threading.Event()  # set once a delayed DATA has begun
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        delay = max((self.delay.get(recipient, 0.0) for recipient in envelope.rcpt_tos), default=0.0)
        if delay:
            self.receiving.set()
            await asyncio.sleep(delay)
        with self.lock:
            for recipient in envelope.rcpt_tos:
                if self.defer.get(recipient, 0) > 0:
                    self.defer[recipient] -= 1
                    self.deferred.append(recipient)
                    return "451 4.3.0 Mailbox busy, try again later"
            self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free local port, with Django's SMTP backend pointed at it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "news@acme.test"
    yield mailbox
    controller.stop()
