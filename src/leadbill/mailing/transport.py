"""Handing a message to the mail server, keeping the server's own answer.

With `EMAIL_HOST` set, Leadbill speaks SMTP itself (smtplib, one connection per
message) so it can record the final reply ("250 2.0.0 Ok: queued as 4Bc...") and tell a
temporary refusal (4xx, connection trouble: try later) from a permanent one (5xx: a
person must look). Without it, the configured Django backend stores the message (files
in $LEADBILL_HOME/mail by default; memory in tests).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection


@dataclass(frozen=True)
class Answer:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


class TemporaryFailure(Exception):
    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


class PermanentFailure(Exception):
    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


def _decode(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def _refuse(code: int, text: bytes | str, what: str) -> None:
    answer = f"{what}: {code} {_decode(text)}"
    if 400 <= code < 500:
        raise TemporaryFailure(answer)
    raise PermanentFailure(answer)


def deliver(message: EmailMessage) -> Answer:
    """Send one message; returns the server's final answer or raises Temporary/PermanentFailure."""
    if settings.EMAIL_BACKEND != "django.core.mail.backends.smtp.EmailBackend":
        sent = get_connection().send_messages([message])
        if sent != 1:
            raise TemporaryFailure(f"the {settings.EMAIL_BACKEND.rsplit('.', 2)[-2]} backend did not take it")
        return Answer(250, f"stored by {settings.EMAIL_BACKEND.rsplit('.', 2)[-2]} backend")
    recipients = message.recipients()
    mime = message.message()
    data = mime.as_bytes(policy=mime.policy.clone(linesep="\r\n"))
    try:
        return _smtp(message.from_email, recipients, data)
    except (TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, OSError) as exc:
        if isinstance(exc, smtplib.SMTPResponseException):
            _refuse(exc.smtp_code, exc.smtp_error, "server")
        raise TemporaryFailure(f"connection: {type(exc).__name__}: {exc}") from None


def _smtp(sender: str, recipients: list[str], data: bytes) -> Answer:
    timeout = getattr(settings, "EMAIL_TIMEOUT", None) or 30
    use_ssl = getattr(settings, "EMAIL_USE_SSL", False)
    cls = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
    with cls(settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=timeout) as smtp:
        code, text = smtp.ehlo()
        if code != 250:
            _refuse(code, text, "EHLO")
        if getattr(settings, "EMAIL_USE_TLS", False) and not use_ssl:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.EMAIL_HOST_USER:
            try:
                smtp.login(settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD)
            except smtplib.SMTPAuthenticationError as exc:
                _refuse(exc.smtp_code, exc.smtp_error, "login")
        from email.utils import parseaddr

        code, text = smtp.mail(parseaddr(sender)[1] or sender)
        if code != 250:
            _refuse(code, text, "MAIL FROM")
        refused = []
        for rcpt in recipients:
            code, text = smtp.rcpt(rcpt)
            if code not in (250, 251):
                refused.append((rcpt, code, _decode(text)))
        if len(refused) == len(recipients):
            worst = min(refused, key=lambda r: r[1] >= 500)  # a temporary refusal wins: try again later
            _refuse(worst[1], worst[2], f"RCPT TO {', '.join(r[0] for r in refused)}")
        code, text = smtp.data(data)
        if code != 250:
            _refuse(code, text, "DATA")
        note = "" if not refused else "; refused " + ", ".join(f"{r}: {c} {t}" for r, c, t in refused)
        return Answer(code, _decode(text) + note)
