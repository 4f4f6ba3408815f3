"""Notice of a scheduled price change: the partner's billing contacts get the new rate card before it applies.

A price plan version dated in the future is news the partner must have in advance (no
invoice should be its first sight of a new price). `price_plan_set` calls this inside its
transaction: the send row and its audit row commit with the plan or not at all, and the
mail goes out after commit through the one mailing queue, with the rate card PDF rendered
when it is sent (as of the moment the notice was queued, so a retry sends the same card).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.core.mail import EmailMessage
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.catalog.models import PlanSide, PricePlan
from leadbill.documents.formatting import Formatter
from leadbill.domain.errors import DomainError
from leadbill.domain.periods import zone
from leadbill.domain.plan_wording import describe_config
from leadbill.mailing.models import EmailSend

PURPOSE = "rate_card:"  # EmailSend.purpose of a notice: "rate_card:<plan id>:<nonce>"


def _in_force_before(plan: PricePlan) -> PricePlan | None:
    """The version of the same scope that applies until `plan` starts (None: the scope is new)."""
    return (
        PricePlan.objects.filter(partner_id=plan.partner_id, profile_id=plan.profile_id, lead_type_id=plan.lead_type_id,
                                 side=plan.side, effective_from__lt=plan.effective_from)
        .order_by("-effective_from")
        .first()
    )  # fmt: skip


def _scope(plan: PricePlan) -> str:
    parts = [f"profile {plan.profile.name}"] if plan.profile_id else []
    if plan.lead_type_id:
        parts.append(f"{plan.lead_type.name} leads")
    return ", ".join(parts) if parts else "all your leads"


def price_change_notice(*, actor: str, plan: PricePlan, now: datetime | None = None) -> EmailSend | None:
    """Queue the notice of `plan` (a future sell-side version) to its partner's billing contacts, audited.

    Runs in the caller's transaction. A partner with no billing address is not told, and the
    audit trail says so, so finance can call instead.
    """
    from leadbill.background import task_named
    from leadbill.engine.kick import kick_rows
    from leadbill.mailing.sender import entity_sender
    from leadbill.mailing.services import mail_settings_of, recipients_of

    email_send_task = task_named("email_send_task")

    now = now or timezone.now()
    partner = plan.partner
    if plan.side != PlanSide.SELL or plan.effective_from <= now or not partner.is_buyer or not partner.is_active:
        return None
    entity = partner.entity
    recipients = recipients_of(partner)
    starts = plan.effective_from.astimezone(zone(entity.timezone))
    if not recipients:
        audit_record(actor=actor, action="price_plan.notice_skipped", obj=plan, entity=entity,
                     reason="the partner has no billing email", effective_from=plan.effective_from.isoformat())  # fmt: skip
        return None
    fmt = Formatter(entity.locale, partner.currency)
    words = describe_config(plan.model, plan.config, currency=partner.currency, locale=entity.locale)
    before = _in_force_before(plan)
    was = ""
    if before is not None:
        try:
            was = "Until then: " + describe_config(before.model, before.config, currency=partner.currency,
                                                   locale=entity.locale) + "\n"  # fmt: skip
        except DomainError:
            was = ""
    day = fmt.date(starts.date())
    at = f"{starts:%H:%M}" if (starts.hour, starts.minute) != (0, 0) else ""
    body = (
        f"Hello,\n\n{entity.legal_name} has scheduled a change to the price of {_scope(plan)}, from {day}"
        f"{f' at {at}' if at else ''} ({entity.timezone} time):\n\n"
        f"From {day}: {words}\n{was}\n"
        f"The attached rate card lists all your prices and terms, now and as scheduled; the portal shows it too.\n"
        f"Reply to this email with any question before the change applies.\n\n"
        f"Kind regards,\n{entity.legal_name}\n"
    )
    ms = mail_settings_of(entity)
    send = EmailSend.objects.create(
        entity=entity, partner=partner, purpose=f"{PURPOSE}{plan.pk}:{uuid.uuid4().hex[:12]}",
        sender=entity_sender(entity, ms.sender), recipients=recipients, reply_to=ms.reply_to or entity.email,
        subject=f"Price change from {day}: your new rate card"[:400], body=body,
        attach_documents=True, created_by=actor, next_attempt_at=now,
    )  # fmt: skip
    audit_record(actor=actor, action="price_plan.notice_queued", obj=plan, entity=entity, send=send.pk,
                 to=recipients, effective_from=plan.effective_from.isoformat())  # fmt: skip
    kick_rows(email_send_task, EmailSend.objects, [send.pk])
    return send


def attach_rate_card(message: EmailMessage, send: EmailSend) -> None:
    """The rate card as of the notice's queueing, attached to its message (the mailer calls this)."""
    from leadbill.catalog.ratecard import rate_card
    from leadbill.documents.ratecard import rate_card_file_name, rate_card_pdf

    if send.partner is None:
        return
    card = rate_card(send.partner, send.created_at)
    message.attach(rate_card_file_name(card), rate_card_pdf(card), "application/pdf")
