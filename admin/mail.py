"""Mail to customers (address verification now; alerts and billing notices later), sent by one
thread off the request path over SMTP (`SMTP_URL`: smtp:// with STARTTLS where the server offers
it, smtps:// for TLS from the start), or written to the log when no server is set."""

from __future__ import annotations

import logging
import queue
import smtplib
import ssl
import threading
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)


class Mailer:
    def __init__(self, url: str | None, sender: str) -> None:
        self.url = urlsplit(url) if url else None
        self.sender = sender
        self._queue: queue.SimpleQueue[EmailMessage] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, to: str, subject: str, text: str) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, to, subject
        msg.set_content(text)
        if self.url is None:
            log.warning("mail (no SMTP_URL set) to %s: %s\n%s", to, subject, text)
            return
        self._queue.put(msg)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mailer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            msg = self._queue.get()
            try:
                self.deliver(msg)
            except (OSError, smtplib.SMTPException):
                log.exception("mail to %s could not be sent", msg["To"])

    def deliver(self, msg: EmailMessage) -> None:
        u = self.url
        context = ssl.create_default_context()
        if u.scheme == "smtps":
            server = smtplib.SMTP_SSL(u.hostname, u.port or 465, timeout=20, context=context)
        else:
            server = smtplib.SMTP(u.hostname, u.port or 587, timeout=20)
        with server:
            server.ehlo()
            if u.scheme == "smtp" and server.has_extn("starttls"):
                server.starttls(context=context)
                server.ehlo()
            if u.username:
                server.login(unquote(u.username), unquote(u.password or ""))
            server.send_message(msg)
