"""Email against a real SMTP server started by the test (aiosmtpd): what the partner receives, and retries."""

import email
import email.policy
import socket
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller

from leadbill.audit.models import AuditEvent
from leadbill.domain.errors import DomainError
from leadbill.invoicing.services import invoice_run_issue
from leadbill.mailing.models import EmailSend, SendState
from leadbill.mailing.services import email_deliver, invoice_send, mail_settings_set, sends_sweep
from tests.factories import make_deliveries, make_entity, make_partner, make_plan

ACTOR = "test:finance"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


class Recorder:
    """An SMTP server's handler: keeps every accepted message; can refuse the first N with a 4xx."""

    def __init__(self, refuse_first: int = 0, code: str = "451 4.3.0 Mailbox busy, try again later"):
        self.refuse_left = refuse_first
        self.code = code
        self.accepted: list[tuple[str, list[str], bytes]] = []
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_left:
            self.refuse_left -= 1
            self.refused += 1
            return self.code
        self.accepted.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok: queued as LB42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    servers = []

    def start(handler: Recorder) -> Recorder:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        return handler

    yield start
    for controller in servers:
        controller.stop()


@pytest.fixture
def issued(db):
    entity = make_entity(timezone="UTC", currency="EUR", invoice_prefix="INV-", credit_note_prefix="CN-",
                         email="billing@leadco.example", peppol_id="0088:5790000435968")  # fmt: skip
    partner = make_partner(entity, code="acme", name="Acme Insurance", currency="EUR",
                           billing_emails=["ap@acme.example", "cfo@acme.example"], tax_id="DE811907980")  # fmt: skip
    make_plan(partner, "flat", {"price": "2.50"})
    make_deliveries(partner, 4, utc(2026, 10, 5))
    from leadbill.domain import periods

    result = invoice_run_issue(actor=ACTOR, entity=entity, period=periods.month(2026, 10, "UTC"))
    return result.issued[0]


def test_partner_receives_the_message_with_facturx_and_ubl_as_sent(issued, smtp, django_capture_on_commit_callbacks):
    server = smtp(Recorder())
    mail_settings_set(actor=ACTOR, entity=issued.entity, sender="Leadco Billing <billing@leadco.example>",
                      subject_template="$kind $number: $total", body_template="Dear $partner,\n$kind_lower $number$for_period.$due_text\n")  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        send = invoice_send(actor=ACTOR, invoice=issued)
    send.refresh_from_db()
    assert send.state == SendState.SENT and send.attempts == 1
    assert send.server_answer.startswith("250 2.0.0 Ok: queued as LB42")
    ((mail_from, rcpt_tos, raw),) = server.accepted
    assert mail_from == "billing@leadco.example" and rcpt_tos == ["ap@acme.example", "cfo@acme.example"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == f"Invoice {issued.number}: €10.00"
    assert message["Reply-To"] == "billing@leadco.example"
    assert message["Message-ID"] == send.message_id
    body = message.get_body(("plain",)).get_content()
    assert (
        "Dear Acme Insurance" in body and "October 1\u2009–\u200931, 2026" in body and f"Due: {issued.due_date}" in body
    )
    files = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(files) == {f"{issued.number}-facturx.pdf", f"{issued.number}-ubl.xml"}
    pdf = files[f"{issued.number}-facturx.pdf"].get_content()
    assert files[f"{issued.number}-facturx.pdf"].get_content_type() == "application/pdf" and pdf.startswith(b"%PDF")
    ubl = files[f"{issued.number}-ubl.xml"].get_content()
    ubl = ubl.encode() if isinstance(ubl, str) else ubl
    assert issued.number.encode() in ubl and b"<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>" in ubl
    # what was attached is the archived original, byte for byte
    from leadbill.documents.models import ArchivedDocument

    assert bytes(ArchivedDocument.objects.get(invoice=issued, format="facturx").content) == pdf
    assert AuditEvent.objects.filter(action="invoice.sent", object_id=str(issued.pk)).count() == 1


def test_server_answering_4xx_then_250_delivers_exactly_one_message(issued, smtp, frozen, settings,
                                                                    django_capture_on_commit_callbacks):  # fmt: skip
    settings.LEADBILL_EMAIL_RETRY_DELAYS = [60, 300]
    server = smtp(Recorder(refuse_first=1))
    start = frozen(utc(2026, 11, 21, 9))
    with django_capture_on_commit_callbacks(execute=True):
        send = invoice_send(actor=ACTOR, invoice=issued)
    send.refresh_from_db()
    assert send.state == SendState.QUEUED and send.attempts == 1
    assert send.server_answer == "DATA: 451 4.3.0 Mailbox busy, try again later"
    assert send.next_attempt_at == start + timedelta(seconds=60)
    assert server.accepted == [] and server.refused == 1
    # not due yet: the sweep and a stray task both leave it alone
    frozen(start + timedelta(seconds=59))
    assert sends_sweep()["kicked"] == 0
    assert email_deliver(send.pk) == SendState.QUEUED and server.refused == 1
    frozen(start + timedelta(seconds=61))
    with django_capture_on_commit_callbacks(execute=True):
        assert sends_sweep()["kicked"] == 1
    send.refresh_from_db()
    assert send.state == SendState.SENT and send.attempts == 2
    assert len(server.accepted) == 1
    assert [entry["answer"][:3] for entry in send.log] == ["DAT", "250"]
    # asking the task again (a redelivered job) sends nothing more
    assert email_deliver(send.pk) == SendState.SENT
    with django_capture_on_commit_callbacks(execute=True):
        sends_sweep()
    assert len(server.accepted) == 1


def test_permanent_refusal_fails_at_once_with_the_servers_answer(issued, smtp, django_capture_on_commit_callbacks):
    server = smtp(Recorder(refuse_first=5, code="550 5.1.1 No such mailbox"))
    with django_capture_on_commit_callbacks(execute=True):
        send = invoice_send(actor=ACTOR, invoice=issued)
    send.refresh_from_db()
    assert send.state == SendState.FAILED and send.attempts == 1
    assert send.server_answer == "DATA: 550 5.1.1 No such mailbox"
    assert server.refused == 1 and AuditEvent.objects.filter(action="email.failed").count() == 1


def test_temporary_failures_stop_after_the_last_retry(issued, smtp, frozen, settings,
                                                      django_capture_on_commit_callbacks):  # fmt: skip
    settings.LEADBILL_EMAIL_RETRY_DELAYS = [10, 20]
    server = smtp(Recorder(refuse_first=99))
    at = frozen(utc(2026, 11, 21, 9))
    with django_capture_on_commit_callbacks(execute=True):
        send = invoice_send(actor=ACTOR, invoice=issued)
    for wait in (11, 21):
        at = frozen(at + timedelta(seconds=wait))
        with django_capture_on_commit_callbacks(execute=True):
            sends_sweep()
    send.refresh_from_db()
    assert (send.state, send.attempts, server.refused, len(send.log)) == (SendState.FAILED, 3, 3, 3)


def test_connection_refused_is_temporary(issued, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    with django_capture_on_commit_callbacks(execute=True):
        send = invoice_send(actor=ACTOR, invoice=issued)
    send.refresh_from_db()
    assert send.state == SendState.QUEUED and send.server_answer.startswith("connection: ConnectionRefusedError")


def test_a_send_left_mid_conversation_by_a_dead_worker_is_flagged_not_repeated(issued, frozen):
    at = frozen(utc(2026, 11, 21, 9))
    send = EmailSend.objects.create(entity=issued.entity, invoice=issued, purpose="run:1", sender="a@b.c",
                                    recipients=["x@y.z"], subject="s", body="b", created_by=ACTOR,
                                    state=SendState.SENDING, claimed_at=at, next_attempt_at=at)  # fmt: skip
    frozen(at + timedelta(minutes=11))
    assert sends_sweep()["unknown"] == 1
    send.refresh_from_db()
    assert send.state == SendState.UNKNOWN and "check whether it arrived" in send.server_answer
    assert email_deliver(send.pk) == SendState.UNKNOWN


def test_templates_with_unknown_placeholders_are_refused_naming_them(issued):
    with pytest.raises(DomainError, match=r"unknown placeholder \$amount"):
        mail_settings_set(actor=ACTOR, entity=issued.entity, subject_template="$amount due", body_template="x")
    with pytest.raises(DomainError, match="body_template: a '\\$' must start a placeholder"):
        mail_settings_set(actor=ACTOR, entity=issued.entity, subject_template="ok", body_template="costs $ 5")
    with pytest.raises(DomainError, match="no email address"):
        mail_settings_set(actor=ACTOR, entity=issued.entity, sender="Billing", subject_template="x", body_template="y")
