"""The supplier's acceptance of each self-billed document (EU VAT Directive art. 224).

Self-billing is lawful only with an agreement *and a procedure for the acceptance of each
invoice* by the supplier. Each self-invoice and self-billed credit note is issued pending
(`issuing._issue`); the supplier then, in the portal or with its API key:

- accepts it: recorded with who, when, through what and from where;
- or disputes it, with its reason: the document and its live siblings on the payout are
  reversed by self-billed documents of the opposite type (a self-invoice by a 261 credit
  note), and a ready payout goes back to pending for review; approving it again issues a
  corrected self-invoice (the database allows one live self-invoice per payout, and a
  reversed one no longer counts);
- or stays silent: once its agreement's period has passed, the scheduler's sweep
  (`self_invoices_deem`) records it as deemed accepted.

Writes have the services' shape (STYLE 9): one transaction, audit rows in it, email and
webhooks after commit (the audit rows "self_invoice.accepted" / "self_invoice.disputed"
are the webhook events of the same names; a deemed one carries `deemed: true`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.domain import payouts as p
from leadbill.domain import selfbilling as sb
from leadbill.domain.errors import DomainError, StateError
from leadbill.domain.text import field_text
from leadbill.payouts.models import Payout
from leadbill.selfbilling.issuing import reverse_document
from leadbill.selfbilling.models import SelfBilledDocument

SYSTEM = "system:self-billing"
PORTAL, API, BY_SYSTEM = "portal", "api", "system"
SWEEP_BATCH = 500  # documents deemed per sweep; the next tick takes the rest
STAFF_PURPOSE = "self_invoice_disputed:"  # + the document's id: the EmailSend telling staff of a dispute


@dataclass(frozen=True, slots=True)
class Decider:
    """Who accepts or disputes for the supplier, through what, and from where."""

    by: str  # the portal user's email, or the API key as the audit names it (api:<prefix>)
    via: str  # PORTAL or API
    address: str | None = None


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d}" if at else "?"


def _why_closed(doc: SelfBilledDocument) -> str:
    """Why `doc` cannot be accepted or disputed any more, for the person who tried."""
    if doc.role not in sb.ORIGINAL_ROLES:
        return f"{doc.number} reverses another document; it is not accepted or disputed itself"
    if doc.acceptance == sb.DISPUTED:
        return f"{doc.number} was disputed on {_when(doc.acceptance_at)} by {doc.acceptance_by} and reversed"
    if doc.acceptance == sb.ACCEPTED:
        return f"{doc.number} was accepted on {_when(doc.acceptance_at)} by {doc.acceptance_by}"
    if doc.acceptance == sb.DEEMED:
        return f"{doc.number} was deemed accepted on {_when(doc.acceptance_at)}, its acceptance period having passed"
    return f"{doc.number} was reversed on {_when(doc.reversed_at)}; a corrected document replaces it"


def _locked(doc: SelfBilledDocument) -> tuple[Payout, SelfBilledDocument]:
    """The payout, then the document, locked in that order (the order the payout's transitions use)."""
    po = Payout.objects.select_for_update().select_related("entity", "partner").get(pk=doc.payout_id)
    locked = SelfBilledDocument.objects.select_for_update().select_related("entity", "partner").get(pk=doc.pk)
    return po, locked


def _record(doc: SelfBilledDocument, state: str, decider: Decider, reason: str = "") -> bool:
    """Move a pending live document to `state`; False when it was no longer pending (a concurrent decision)."""
    return bool(
        SelfBilledDocument.objects.filter(pk=doc.pk, acceptance=sb.PENDING)
        .live()
        .update(acceptance=state, acceptance_at=timezone.now(), acceptance_by=decider.by[:254],
                acceptance_via=decider.via, acceptance_from=decider.address or None, acceptance_reason=reason)
    )  # fmt: skip


def self_invoice_accept(*, actor: str, doc: SelfBilledDocument, decider: Decider) -> SelfBilledDocument:
    """The supplier accepts `doc`. Accepting an accepted (or deemed accepted) one again changes nothing."""
    with transaction.atomic():
        _, locked = _locked(doc)
        if locked.acceptance in sb.SETTLED:
            return locked
        if locked.acceptance != sb.PENDING or not locked.is_live or not _record(locked, sb.ACCEPTED, decider):
            locked.refresh_from_db()
            if locked.acceptance in sb.SETTLED:
                return locked
            raise StateError(_why_closed(locked))
        locked.refresh_from_db()
        audit_record(actor=actor, action="self_invoice.accepted", obj=locked, entity=locked.entity,
                     number=locked.number, payout=locked.payout_id, by=decider.by, via=decider.via,
                     address=decider.address, deemed=False)  # fmt: skip
        return locked


def self_invoice_dispute(*, actor: str, doc: SelfBilledDocument, decider: Decider, reason: str) -> SelfBilledDocument:
    """The supplier disputes `doc` with its reason: reversed with its siblings, the payout back for review.

    Returns the disputed document; its reversal is `doc.corrections` of a reversal role.
    """
    reason = field_text(reason, field="reason", max_length=500, multiline=True).strip()
    if not reason:
        raise DomainError("say what is wrong with the self-invoice", field="reason")
    with transaction.atomic():
        po, locked = _locked(doc)
        if locked.acceptance != sb.PENDING or not locked.is_live or not _record(locked, sb.DISPUTED, decider, reason):
            locked.refresh_from_db()
            raise StateError(
                _why_closed(locked) + ("" if locked.acceptance == sb.DISPUTED else "; too late to dispute")
            )
        locked.refresh_from_db()
        audit_record(actor=actor, action="self_invoice.disputed", obj=locked, entity=locked.entity,
                     number=locked.number, payout=po.pk, by=decider.by, via=decider.via, address=decider.address,
                     reason=reason)  # fmt: skip
        live = list(SelfBilledDocument.objects.filter(payout=po).live().select_related("entity", "partner", "payout"))
        reversals = [
            reverse_document(actor, d, f"disputed by the supplier ({locked.number}): {reason}")
            for d in sorted(live, key=lambda d: d.pk)
        ]
        _back_to_review(actor, po, locked, decider, reason, [r.number for r in reversals])
        _tell_staff(actor, locked, reason, [r.number for r in reversals])
        return locked


def _back_to_review(
    actor: str, po: Payout, doc: SelfBilledDocument, decider: Decider, reason: str, reversals: list[str]
) -> None:
    """A ready payout goes back to pending (it cannot be paid from there); a paid one stays paid, flagged."""
    before = po.status
    said = f"Self-invoice {doc.number} was disputed by {decider.by} on {_when(doc.acceptance_at)}: {reason}".rstrip(".")
    if before == p.READY:
        po.status, po.ready_at = p.PENDING, None
        po.tax_minor, po.total_minor = 0, po.amount_minor  # as before ready: the corrected document sets them
        po.review_reason = f"{said}. Reversed by {', '.join(reversals)}; approve the payout again for a corrected one."
    else:  # paid: final; the corrected self-invoice is generated by staff, a difference settled on a later payout
        po.review_reason = (f"{said}. Reversed by {', '.join(reversals)} after payment; generate the corrected "
                            "self-invoice and settle any difference on a later payout.")  # fmt: skip
    po.review_reason = po.review_reason[:600]
    po.updated_at = timezone.now()
    po.save(update_fields=["status", "ready_at", "tax_minor", "total_minor", "review_reason", "updated_at"])
    audit_record(actor=actor, action="payout.back_to_review" if before == p.READY else "payout.self_invoice_disputed",
                 obj=po, partner=po.partner.code, period=po.period_key, status_before=before, status=po.status,
                 number=doc.number, reversed_by=reversals, reason=reason)  # fmt: skip


def _tell_staff(actor: str, doc: SelfBilledDocument, reason: str, reversals: list[str]) -> None:
    """One email to the business's own address (reply-to, else its email) naming the dispute; sent after commit."""
    from django.conf import settings
    from django.urls import reverse

    from leadbill.mailing.models import EmailSend
    from leadbill.mailing.sender import entity_sender
    from leadbill.mailing.services import _kick, mail_settings_of

    entity, partner = doc.entity, doc.partner
    ms = mail_settings_of(entity)
    to = ms.reply_to or entity.email
    if not to:
        audit_record(actor=actor, action="self_invoice.staff_not_told", obj=doc, entity=entity,
                     reason="no reply-to address in the email settings and no entity email")  # fmt: skip
        return
    link = settings.LEADBILL_BASE_URL.rstrip("/") + reverse(
        "console:payout", kwargs={"entity": entity.slug, "pk": doc.payout_id}
    )
    send = EmailSend.objects.create(
        entity=entity, partner=partner, purpose=f"{STAFF_PURPOSE}{doc.pk}", sender=entity_sender(entity, ms.sender),
        recipients=[to], attach_documents=False, created_by=actor, next_attempt_at=timezone.now(),
        subject=f"{partner.name} disputed self-invoice {doc.number}",
        body=(f"{partner.name} disputed self-invoice {doc.number} ({doc.acceptance_by}, via {doc.acceptance_via}):\n\n"
              f"{reason}\n\nIt was reversed by {', '.join(reversals)} and the payout is back for review:\n{link}\n"),
    )  # fmt: skip
    _kick([send])


def self_invoices_deem(now: datetime | None = None) -> list[int]:
    """Deem accepted the live documents still pending once their period has passed; ids of those deemed now.

    Called on every scheduler tick (`scheduling.services.sweep`). Each is its own transaction and
    audit row; the conditional update makes a second sweep, or one racing a decision, do nothing.
    """
    now = now or timezone.now()
    due = list(
        SelfBilledDocument.objects.live()
        .filter(acceptance=sb.PENDING, acceptance_due_at__lte=now)
        .order_by("acceptance_due_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    deemed = []
    for pk in due:
        with transaction.atomic():
            changed = (
                SelfBilledDocument.objects.filter(pk=pk, acceptance=sb.PENDING, acceptance_due_at__lte=now)
                .live()
                .update(acceptance=sb.DEEMED, acceptance_at=F("acceptance_due_at"), acceptance_by=SYSTEM,
                        acceptance_via=BY_SYSTEM)
            )  # fmt: skip
            if not changed:
                continue
            doc = SelfBilledDocument.objects.select_related("entity").get(pk=pk)
            audit_record(actor=SYSTEM, action="self_invoice.accepted", obj=doc, entity=doc.entity, number=doc.number,
                         payout=doc.payout_id, deemed=True, due=doc.acceptance_due_at.isoformat() if
                         doc.acceptance_due_at else None)  # fmt: skip
            deemed.append(pk)
    return deemed


__all__ = ["API", "PORTAL", "Decider", "self_invoice_accept", "self_invoice_dispute", "self_invoices_deem"]
