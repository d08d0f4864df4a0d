"""Send one email over SMTP (SMTP_URL: smtp:// with STARTTLS when offered, or smtps://).

Failures come back as `MailError` with `is_permanent` set for 5xx answers, so the sender can retry
temporary ones and stop (and mark the address bounced) on permanent ones.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from dataclasses import field
from email.message import EmailMessage
from email.utils import formataddr
from email.utils import make_msgid
from typing import Protocol
from urllib.parse import unquote
from urllib.parse import urlsplit


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    from_address: str
    from_name: str | None
    reply_to: str | None
    subject: str
    html: str
    text: str
    unsubscribe_url: str
    headers: dict[str, str] = field(default_factory=dict)


class MailError(Exception):
    """Raise when the SMTP server did not take the email."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None,
        is_permanent: bool,
        is_recipient_problem: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.is_permanent = is_permanent
        self.is_recipient_problem = is_recipient_problem


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> str:
        """Send *email* and return its Message-ID."""
        ...


def _header_text(value: str) -> str:
    # Header values come from shop data; a line break would start a new header.
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def build_mime(email: OutgoingEmail) -> EmailMessage:
    """Return the MIME message: text and HTML alternatives, RFC 8058 one-click unsubscribe."""
    message = EmailMessage()
    domain = email.from_address.rsplit("@", 1)[-1]
    message["Message-ID"] = make_msgid(domain=domain)
    message["From"] = formataddr(
        (_header_text(email.from_name) if email.from_name else "", email.from_address)
    )
    message["To"] = email.to
    if email.reply_to:
        message["Reply-To"] = _header_text(email.reply_to)
    message["Subject"] = _header_text(email.subject)
    message["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in email.headers.items():
        message[name] = _header_text(value)
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


class SMTPMailer:
    """Send through the server named by an smtp:// or smtps:// URL, with auth from the URL."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        connection.ehlo()
        if connection.has_extn("starttls"):
            connection.starttls(context=ssl.create_default_context())
            connection.ehlo()
        return connection

    def send(self, email: OutgoingEmail) -> str:
        mime = build_mime(email)
        connection: smtplib.SMTP | None = None
        try:
            connection = self._connect()
            if self.username:
                connection.login(self.username, self.password or "")
            connection.send_message(mime, from_addr=email.from_address, to_addrs=[email.to])
        except (smtplib.SMTPException, OSError) as exc:
            raise _mail_error(exc) from exc
        finally:
            if connection is not None and not _quit(connection):
                connection.close()
        return str(mime["Message-ID"])


_REFUSED = (
    (smtplib.SMTPSenderRefused, "sender refused"),
    (smtplib.SMTPDataError, "message refused"),
)
"""What an SMTP answer refused, by exception; any other answer is an "SMTP error"."""


def _mail_error(exc: smtplib.SMTPException | OSError) -> MailError:
    """Return what the server refused, and whether a later try can help (not after a 5xx)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return MailError(
            f"recipient refused: {code} {_decode(text)}",
            code=code,
            is_permanent=code >= 500,
            is_recipient_problem=True,
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # Our credentials, not the recipient: retry, an operator can fix the setting.
        return MailError(
            f"SMTP login failed: {exc.smtp_code}", code=exc.smtp_code, is_permanent=False
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        what = next((label for kind, label in _REFUSED if isinstance(exc, kind)), "SMTP error")
        return MailError(
            f"{what}: {exc.smtp_code} {_decode(exc.smtp_error)}",
            code=exc.smtp_code,
            is_permanent=exc.smtp_code >= 500,
            is_recipient_problem=isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 550,
        )
    return MailError(
        f"SMTP server unreachable: {type(exc).__name__}", code=None, is_permanent=False
    )


def _quit(connection: smtplib.SMTP) -> bool:
    """Say goodbye; once the server took the email, a failed QUIT must not make it a failure."""
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        return False
    return True


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text
