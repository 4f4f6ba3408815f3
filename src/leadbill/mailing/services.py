"""Writes of mailing: templates, queued sends, sending with status and retries, low-balance alerts."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.background import task_named
from leadbill.documents.formatting import Formatter
from leadbill.domain.errors import DomainError, StateError
from leadbill.engine.kick import enqueue_on_commit, kick_rows, kicked_at, needs_kick
from leadbill.entities.models import Entity
from leadbill.invoicing.models import Invoice, LedgerEntry
from leadbill.mailing import wording
from leadbill.mailing.models import EmailSend, LowBalanceAlert, MailSettings, SendState
from leadbill.mailing.sender import entity_sender
from leadbill.mailing.transport import PermanentFailure, TemporaryFailure, deliver
from leadbill.partners.models import Partner

logger = logging.getLogger(__name__)
STALE_SENDING = timedelta(minutes=10)  # a claim older than this belongs to a worker that died


def retry_delays() -> list[int]:
    """Seconds to wait after the 1st, 2nd... temporary failure; the last attempt's failure is final."""
    return list(getattr(settings, "LEADBILL_EMAIL_RETRY_DELAYS", [60, 300, 1800, 7200, 21600]))


def mail_settings_of(entity: Entity) -> MailSettings:
    found = MailSettings.objects.filter(entity=entity).first()
    return found or MailSettings(entity=entity)


def mail_settings_set(
    *, actor: str, entity: Entity, sender: str = "", reply_to: str = "", subject_template: str, body_template: str
) -> MailSettings:
    from email.utils import parseaddr

    if sender and "@" not in parseaddr(sender)[1]:
        raise DomainError(f"sender {sender!r} has no email address; write it as Name <billing@example.com>",
                          field="sender")  # fmt: skip
    if not subject_template.strip():
        raise DomainError("the subject cannot be empty", field="subject_template")
    wording.check(subject_template, "subject_template")
    wording.check(body_template, "body_template")
    with transaction.atomic():
        ms, _ = MailSettings.objects.select_for_update().get_or_create(entity=entity)
        ms.sender, ms.reply_to = sender.strip(), reply_to.strip()
        ms.subject_template, ms.body_template = subject_template.strip(), body_template
        ms.save()
        audit_record(actor=actor, action="mail_settings.changed", obj=ms, entity=entity, sender=ms.sender)
    return ms


def recipients_of(partner: Partner) -> list[str]:
    return list(partner.billing_emails or []) or ([partner.contact_email] if partner.contact_email else [])


def _values(invoice: Invoice) -> dict[str, Any]:
    fmt = Formatter(invoice.entity.locale, invoice.currency)
    kind = invoice.get_kind_display()
    period = fmt.period(invoice.period_first_day, invoice.period_last_day) if invoice.period_first_day else ""
    due = invoice.due_date.isoformat() if invoice.due_date else ""
    return {
        "number": invoice.number or "", "kind": kind, "kind_lower": kind.lower(),
        "seller": invoice.seller.get("name") or invoice.entity.legal_name, "partner": invoice.partner.name,
        "period": period, "for_period": f" for {period}" if period else "", "total": fmt.money(invoice.total_minor),
        "due_date": due, "due_text": f"\nDue: {due}" if due else "",
    }  # fmt: skip


def _send_for(actor: str, invoice: Invoice, purpose: str, to: Sequence[str] | None, ms: MailSettings) -> EmailSend:
    if invoice.status == "draft" or not invoice.number:
        raise StateError("a draft cannot be sent; issue it first")
    recipients = list(to or recipients_of(invoice.partner))
    if not recipients:
        raise DomainError(f"{invoice.partner.name} has no billing email; add one on the partner's page", field="to")
    values = _values(invoice)
    return EmailSend(
        entity=invoice.entity, invoice=invoice, partner=invoice.partner, purpose=purpose,
        sender=entity_sender(invoice.entity, ms.sender), recipients=recipients,
        reply_to=ms.reply_to or invoice.entity.email, subject=wording.fill(ms.subject_template, values)[:400],
        body=wording.fill(ms.body_template, values), created_by=actor, next_attempt_at=timezone.now(),
    )  # fmt: skip


def invoice_send(*, actor: str, invoice: Invoice, to: Sequence[str] | None = None) -> EmailSend:
    """Queue an issued document for email (the console's and API's "Send"): a new send each time asked."""
    with transaction.atomic():
        send = _send_for(actor, invoice, f"manual:{uuid.uuid4().hex[:12]}", to, mail_settings_of(invoice.entity))
        send.save()
        audit_record(actor=actor, action="invoice.send_queued", obj=invoice, to=send.recipients, send=send.pk)
        _kick([send])
    return send


def sends_for_issued(*, actor: str, invoices: Sequence[Invoice], purpose: str) -> list[EmailSend]:
    """Queue the emails of documents a run issued, once per (document, purpose) even if asked twice.

    Runs inside the caller's transaction; partners without an address are skipped (and
    audited), which leaves the document to be sent by hand.
    """
    if not invoices:
        return []
    entity = invoices[0].entity
    ms = mail_settings_of(entity)
    have = set(EmailSend.objects.filter(invoice__in=invoices, purpose=purpose).values_list("invoice_id", flat=True))
    sends = []
    for inv in invoices:
        if inv.pk in have:
            continue
        try:
            sends.append(_send_for(actor, inv, purpose, None, ms))
        except DomainError as exc:
            audit_record(actor=actor, action="invoice.send_skipped", obj=inv, reason=exc.message)
    EmailSend.objects.bulk_create(sends, batch_size=1000)
    created = list(EmailSend.objects.filter(invoice__in=[s.invoice for s in sends], purpose=purpose))
    _kick(created)
    return created


def _kick(sends: Sequence[EmailSend]) -> None:
    email_send_task = task_named("email_send_task")

    kick_rows(email_send_task, EmailSend.objects, [s.pk for s in sends])


# --- sending -----------------------------------------------------------------------------------


def email_deliver(send_id: int) -> str:
    """Send one queued row if it is due and nobody else holds it; returns its state afterwards."""
    now = timezone.now()
    claimed = EmailSend.objects.filter(pk=send_id, state=SendState.QUEUED, next_attempt_at__lte=now).update(
        state=SendState.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )  # committed on its own: from here on, no other worker takes this row
    send = EmailSend.objects.select_related("invoice", "entity").get(pk=send_id)
    if not claimed:
        return send.state
    try:
        message = _message(send)
        answer = str(deliver(message))
    except TemporaryFailure as exc:
        return _after_failure(send, exc.answer, temporary=True)
    except PermanentFailure as exc:
        return _after_failure(send, exc.answer, temporary=False)
    except Exception as exc:  # rendering or building failed: no message left us
        logger.exception("send %s could not be built", send_id)
        return _after_failure(send, f"not sent: {type(exc).__name__}: {exc}", temporary=False)
    with transaction.atomic():
        EmailSend.objects.filter(pk=send.pk).update(
            state=SendState.SENT, sent_at=timezone.now(), server_answer=answer[:2000],
            log=[*send.log, {"at": timezone.now().isoformat(), "answer": answer[:500]}],
            attachments=[name for name, _, _ in message.attachments],  # type: ignore[misc]
        )  # fmt: skip
        audit_record(actor="system:mailer", action="invoice.sent" if send.invoice_id else "email.sent", obj=send.invoice or send, entity=send.entity,
                     send=send.pk, to=send.recipients, answer=answer[:200])  # fmt: skip
    return SendState.SENT


def _message(send: EmailSend) -> EmailMessage:
    from leadbill.documents.models import Format
    from leadbill.documents.services import document_file

    message = EmailMessage(
        subject=send.subject, body=send.body, from_email=send.sender, to=send.recipients,
        reply_to=[send.reply_to] if send.reply_to else None, headers={"Message-ID": send.message_id},
    )  # fmt: skip
    if send.invoice is not None and send.attach_documents:
        files = [document_file(send.invoice, Format.FACTURX, actor="system:mailer")]
        try:
            files.append(document_file(send.invoice, Format.UBL, actor="system:mailer"))
        except DomainError as exc:
            message.body += f"\n(The UBL e-invoice is not attached: {exc.message})\n"
        for f in files:
            message.attach(f.name, f.content, f.media_type)
    if send.invoice is not None and send.purpose.startswith("reminder:"):
        _attach_statement(message, send.invoice)
    if send.invoice is None and send.attach_documents:
        attach = _ATTACHMENTS.get(send.purpose.partition(":")[0])
        if attach is not None:
            attach(message, send)
    return message


Attach = Callable[[EmailMessage, EmailSend], None]
_ATTACHMENTS: dict[str, Attach] = {}


def attachments_register(kind: str, attach: Attach) -> None:
    """What the emails of one purpose kind ("<kind>:…", no invoice) carry, registered by the app that sends them.

    The mailer builds and retries every message, but rate cards and self-billed documents are other apps'
    business: each registers its attacher when Django starts (its AppConfig.ready), so the mailer imports
    none of them. The attacher runs at every attempt and must read archived files, never re-issue.
    """
    _ATTACHMENTS[kind] = attach


def _attach_statement(message: EmailMessage, invoice: Invoice) -> None:
    """A reminder carries the partner's statement of account: from a year before the due date to today."""
    from datetime import timedelta

    from leadbill.documents.statement import statement_file_name, statement_pdf
    from leadbill.receivables.reminder_models import ReminderPolicy
    from leadbill.receivables.selectors import statement

    policy = ReminderPolicy.objects.filter(entity_id=invoice.entity_id).first()
    if policy is None or not policy.attach_statement or invoice.due_date is None:
        return
    last = timezone.now().date()
    st = statement(invoice.partner, invoice.currency, min(invoice.due_date, last) - timedelta(days=365), last)
    try:
        message.attach(statement_file_name(st, "pdf"), statement_pdf(st), "application/pdf")
    except DomainError as exc:
        message.body += f"\n(The statement of account is not attached: {exc.message})\n"


def _after_failure(send: EmailSend, answer: str, *, temporary: bool) -> str:
    email_send_task = task_named("email_send_task")

    delays = retry_delays()
    now = timezone.now()
    log = [*send.log, {"at": now.isoformat(), "answer": answer[:500]}]
    again = temporary and send.attempts <= len(delays)
    with transaction.atomic():
        if again:
            later = now + timedelta(seconds=delays[send.attempts - 1])
            EmailSend.objects.filter(pk=send.pk).update(
                state=SendState.QUEUED,
                next_attempt_at=later,
                server_answer=answer[:2000],
                log=log,
                kicked_at=kicked_at(email_send_task, later),
            )
            enqueue_on_commit(email_send_task, send.pk, run_after=later)
        else:
            EmailSend.objects.filter(pk=send.pk).update(state=SendState.FAILED, server_answer=answer[:2000], log=log)
            audit_record(actor="system:mailer", action="email.failed", obj=send.invoice or send, entity=send.entity,
                         send=send.pk, answer=answer[:200], attempts=send.attempts)  # fmt: skip
    return SendState.QUEUED if again else SendState.FAILED


def send_retry(*, actor: str, send: EmailSend) -> EmailSend:
    """A person asks again for a failed send, or one whose outcome is unknown (they checked it did not arrive)."""
    with transaction.atomic():
        locked = EmailSend.objects.select_for_update().get(pk=send.pk)
        if locked.state not in (SendState.FAILED, SendState.UNKNOWN):
            raise StateError(f"this email is {locked.get_state_display().lower()}; only failed ones are sent again")
        locked.state, locked.next_attempt_at = SendState.QUEUED, timezone.now()
        locked.save(update_fields=["state", "next_attempt_at"])
        audit_record(actor=actor, action="email.retried", obj=locked.invoice or locked, entity=locked.entity,
                     send=locked.pk)  # fmt: skip
        _kick([locked])
    return locked


def sends_sweep(now: Any = None) -> dict[str, int]:
    """The scheduler's look at email: queue what fell due, flag what a dead worker left mid-send."""
    now = now or timezone.now()
    unknown = EmailSend.objects.filter(state=SendState.SENDING, claimed_at__lt=now - STALE_SENDING).update(
        state=SendState.UNKNOWN,
        server_answer="the worker stopped while talking to the server; check whether it arrived before sending again",
    )  # fmt: skip
    due = list(
        EmailSend.objects.filter(state=SendState.QUEUED, next_attempt_at__lte=now)
        .filter(needs_kick(now))
        .order_by("next_attempt_at")[:5000]
    )  # fmt: skip
    if due:
        with transaction.atomic():
            _kick(due)
    return {"unknown": unknown, "kicked": len(due)}


# --- prepay: low-balance alert -------------------------------------------------------------------


def low_balance_check(*, actor: str, partners: Sequence[Partner]) -> list[LowBalanceAlert]:
    """Raise one alert per prepay partner whose balance is now under its threshold; clear recovered ones.

    Runs in the caller's transaction (booking receipts, recording top-ups): the alert,
    its email and its webhook commit with the balance change or not at all.
    """
    watched = [p for p in partners if p.is_prepay and p.low_balance_minor is not None]
    if not watched:
        return []
    balances = dict(
        LedgerEntry.objects.filter(partner__in=watched).values_list("partner_id").annotate(b=Sum("amount_minor")).order_by()
    )  # fmt: skip
    open_alerts = set(
        LowBalanceAlert.objects.filter(partner__in=watched, cleared_at__isnull=True).values_list(
            "partner_id", flat=True
        )
    )
    raised = []
    for partner in watched:
        balance = balances.get(partner.pk, 0)
        below = balance < (partner.low_balance_minor or 0)
        if below and partner.pk not in open_alerts:
            alert = LowBalanceAlert.objects.create(partner=partner, balance_minor=balance,
                                                   threshold_minor=partner.low_balance_minor or 0,
                                                   currency=partner.currency, raised_at=timezone.now())  # fmt: skip
            audit_record(actor=actor, action="partner.low_balance", obj=partner, entity=partner.entity,
                         alert=alert.pk, balance_minor=balance, threshold_minor=alert.threshold_minor,
                         currency=partner.currency)  # fmt: skip
            _alert_email(actor, partner, alert)
            raised.append(alert)
        elif not below and partner.pk in open_alerts:
            LowBalanceAlert.objects.filter(partner=partner, cleared_at__isnull=True).update(cleared_at=timezone.now())
    return raised


def _alert_email(actor: str, partner: Partner, alert: LowBalanceAlert) -> None:
    entity = partner.entity
    recipients = recipients_of(partner)
    if not recipients:
        return
    ms = mail_settings_of(entity)
    fmt = Formatter(entity.locale, partner.currency)
    send = EmailSend.objects.create(
        entity=entity, partner=partner, purpose=f"low_balance:{alert.pk}", sender=entity_sender(entity, ms.sender),
        recipients=recipients, reply_to=ms.reply_to or entity.email, attach_documents=False,
        subject=f"Low prepay balance: {fmt.money(alert.balance_minor)} with {entity.legal_name}",
        body=(f"Hello,\n\nyour prepaid balance with {entity.legal_name} is {fmt.money(alert.balance_minor)}, under "
              f"the alert level of {fmt.money(alert.threshold_minor)}. Top it up to keep receiving leads.\n\n"
              f"Kind regards,\n{entity.legal_name}\n"),
        created_by=actor, next_attempt_at=timezone.now(),
    )  # fmt: skip
    _kick([send])
