"""Reminders (dunning): each step of the entity's policy goes out once per overdue invoice.

Why this shape: the scheduler ticks on every machine, so a reminder is an `EmailSend` row whose
(invoice, "reminder:<step>") is unique in the database; a second scheduler's insert fails and
it moves on. Only the latest step that is due is sent (after a scheduler outage the partner gets
one reminder, not three). An invoice stops being reminded when nothing is open on it (paid,
credited, written off, void), when one of its leads has a return waiting for a decision (it is
disputed), or when reminders to its partner are paused. A step after the due date also raises a
`partner.overdue` webhook with the amount and days, so the lead-distribution system can pause
the buyer.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.deliveries.models import Return
from leadbill.documents.formatting import Formatter
from leadbill.domain.errors import DomainError
from leadbill.domain.numbers import whole_number
from leadbill.domain.payment_reference import rf_printed, rf_reference
from leadbill.domain.periods import zone
from leadbill.domain.text import field_text
from leadbill.entities.models import Entity
from leadbill.invoicing.models import OPEN_STATUSES, BilledLead, Invoice, Kind
from leadbill.mailing import wording
from leadbill.mailing.models import EmailSend
from leadbill.mailing.sender import entity_sender
from leadbill.partners.models import Partner
from leadbill.receivables.reminder_models import DEFAULT_STEPS, ReminderPause, ReminderPolicy
from leadbill.receivables.selectors import with_open

logger = logging.getLogger(__name__)
ACTOR = "system:reminders"
PURPOSE = "reminder:"
MAX_STEPS = 8
DAYS_RANGE = (-60, 365)


def policy_of(entity: Entity) -> ReminderPolicy:
    found = ReminderPolicy.objects.filter(entity=entity).first()
    return found or ReminderPolicy(entity=entity, steps=[dict(s) for s in DEFAULT_STEPS])


def check_steps(raw: Any) -> list[dict[str, Any]]:
    """Steps as given (a list of {days, subject, body}), checked; errors name the step and field."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STEPS:
        raise DomainError(f"give 1 to {MAX_STEPS} steps", field="steps")
    steps: list[dict[str, Any]] = []
    for i, step in enumerate(raw):
        where = f"steps[{i}]"
        if not isinstance(step, dict):
            raise DomainError("a step is {days, subject, body}", field=where)
        days = step.get("days")
        if isinstance(days, str):
            text = days.strip()
            number = whole_number(text.removeprefix("-"), max_digits=3)
            days = None if number is None else (-number if text.startswith("-") else number)
        if not isinstance(days, int) or isinstance(days, bool) or not DAYS_RANGE[0] <= days <= DAYS_RANGE[1]:
            raise DomainError(
                f"days must be a whole number from {DAYS_RANGE[0]} to {DAYS_RANGE[1]}", field=f"{where}.days"
            )
        subject = field_text(str(step.get("subject") or ""), field=f"{where}.subject", max_length=200)
        body = field_text(str(step.get("body") or ""), field=f"{where}.body", max_length=4000, multiline=True)
        if not subject or not body:
            raise DomainError("a step needs a subject and a body", field=where)
        wording.check(subject, f"{where}.subject", wording.REMINDER_PLACEHOLDERS)
        wording.check(body, f"{where}.body", wording.REMINDER_PLACEHOLDERS)
        steps.append({"days": days, "subject": subject, "body": body})
    days_given = [s["days"] for s in steps]
    if len(set(days_given)) != len(days_given):
        raise DomainError("two steps have the same day", field="steps")
    return sorted(steps, key=lambda s: s["days"])


def policy_set(*, actor: str, entity: Entity, enabled: bool | None = None, steps: Any = None,
               attach_statement: bool | None = None) -> ReminderPolicy:  # fmt: skip
    """Change what the request carries; the rest of the policy stays as it is."""
    checked = check_steps(steps) if steps is not None else None
    with transaction.atomic():
        policy, _ = ReminderPolicy.objects.select_for_update().get_or_create(
            entity=entity, defaults={"steps": [dict(s) for s in DEFAULT_STEPS]}
        )
        if enabled is not None:
            policy.enabled = enabled
        if checked is not None:
            policy.steps = checked
        if attach_statement is not None:
            policy.attach_statement = attach_statement
        policy.save()
        audit_record(actor=actor, action="reminders.policy_changed", obj=policy, entity=entity,
                     enabled=policy.enabled, steps=[s["days"] for s in policy.steps],
                     attach_statement=policy.attach_statement)  # fmt: skip
    return policy


def reminders_pause(*, actor: str, partner: Partner, reason: str) -> ReminderPause:
    reason = field_text(reason, field="reason", max_length=300)
    if not reason:
        raise DomainError("say why reminders are paused", field="reason")
    with transaction.atomic():
        pause, _ = ReminderPause.objects.update_or_create(partner=partner, defaults={"reason": reason,
                                                                                     "paused_by": actor})  # fmt: skip
        audit_record(actor=actor, action="reminders.paused", obj=partner, entity=partner.entity, reason=reason)
    return pause


def reminders_resume(*, actor: str, partner: Partner) -> None:
    with transaction.atomic():
        deleted, _ = ReminderPause.objects.filter(partner=partner).delete()
        if deleted:
            audit_record(actor=actor, action="reminders.resumed", obj=partner, entity=partner.entity)


def _disputed() -> Exists:
    waiting = Return.objects.filter(status="requested").values("delivery_id")
    return Exists(BilledLead.objects.filter(invoice=OuterRef("pk"), voided=False, delivery_id__in=waiting))


def reminders_due(now: datetime | None = None) -> list[EmailSend]:
    """Queue the reminders that fell due; called on every scheduler tick (and safe to call twice)."""
    from leadbill.mailing.services import _kick, mail_settings_of, recipients_of

    now = now or timezone.now()
    queued: list[EmailSend] = []
    for policy in ReminderPolicy.objects.filter(enabled=True).select_related("entity"):
        entity = policy.entity
        steps = list(enumerate(policy.steps))
        if not steps:
            continue
        today = now.astimezone(zone(entity.timezone)).date()
        earliest = min(s["days"] for _, s in steps)
        invoices = (
            with_open(Invoice.objects.filter(entity=entity, kind=Kind.INVOICE, status__in=OPEN_STATUSES,
                                             due_date__lte=today - timedelta(days=earliest)))
            .filter(open_minor__gt=0)
            .exclude(partner__reminder_pause__isnull=False)
            .exclude(_disputed())
            .select_related("partner", "entity")
            .order_by("due_date", "sequence")
        )  # fmt: skip
        sent = set(
            EmailSend.objects.filter(invoice__in=invoices, purpose__startswith=PURPOSE).values_list(
                "invoice_id", "purpose"
            )
        )
        ms = mail_settings_of(entity)
        for inv in invoices:
            assert inv.due_date is not None
            days = (today - inv.due_date).days
            due_now = [(i, s) for i, s in steps if s["days"] <= days]
            if not due_now:
                continue
            index, step = max(due_now, key=lambda pair: pair[1]["days"])
            if (inv.pk, f"{PURPOSE}{index}") in sent or any(
                (inv.pk, f"{PURPOSE}{i}") in sent for i, s in steps if s["days"] > step["days"]
            ):
                continue
            recipients = recipients_of(inv.partner)
            if not recipients:
                logger.info("%s: no billing email for %s; no reminder", inv.number, inv.partner.code)
                continue
            send = _queue(inv, index, step, days, recipients, ms, now, policy.attach_statement)
            if send is not None:
                queued.append(send)
    if queued:
        with transaction.atomic():
            _kick(queued)
    return queued


def _queue(inv: Invoice, index: int, step: dict[str, Any], days: int, recipients: list[str], ms: Any, now: datetime,
           attach_statement: bool) -> EmailSend | None:  # fmt: skip
    from leadbill.mailing.services import _values

    fmt = Formatter(inv.entity.locale, inv.currency)
    values = {**_values(inv), "open": fmt.money(inv.open_minor), "days_overdue": str(max(days, 0)),
              "payment_reference": rf_printed(rf_reference(inv.number or ""))}  # fmt: skip
    try:
        with transaction.atomic():
            send = EmailSend.objects.create(
                entity=inv.entity, invoice=inv, partner=inv.partner, purpose=f"{PURPOSE}{index}",
                sender=entity_sender(inv.entity, ms.sender), recipients=recipients,
                reply_to=ms.reply_to or inv.entity.email, subject=wording.fill(step["subject"], values)[:400],
                body=wording.fill(step["body"], values), attach_documents=True,
                created_by=ACTOR, next_attempt_at=now,
            )  # fmt: skip
            audit_record(actor=ACTOR, action="invoice.reminder_queued", obj=inv, entity=inv.entity, step=index,
                         days_overdue=days, open_minor=inv.open_minor, send=send.pk,
                         statement=attach_statement)  # fmt: skip
            if days > 0:
                audit_record(actor=ACTOR, action="partner.overdue", obj=inv.partner, entity=inv.entity,
                             invoice=inv.number, currency=inv.currency, open_minor=inv.open_minor,
                             days_overdue=days, step=index)  # fmt: skip
    except IntegrityError:  # another scheduler queued this step a moment ago
        return None
    return send
