"""Issuing self-billed documents: a ready payout's self-invoice (389) and credit note (261), their reversals.

Called inside the caller's transaction (the payout's ready or cancel transition, a catch-up,
staff generating what waited): numbers from the partner's own gapless series, an audit row
per document, the email queued with it and the files archived after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.domain import payouts as p
from leadbill.domain import selfbilling as sb
from leadbill.domain.errors import DomainError, StateError
from leadbill.domain.periods import zone
from leadbill.domain.tax import rate_from_bp
from leadbill.entities.models import NumberSeries
from leadbill.entities.services import allocate_numbers, format_number
from leadbill.invoicing.services import today_in
from leadbill.invoicing.snapshots import seller_snapshot
from leadbill.partners.models import Partner
from leadbill.payouts.models import Payout, PayoutLine
from leadbill.selfbilling.models import Agreement, SelfBilledDocument, SelfBilledLine, SellerProfile, SupplierInvoice
from leadbill.selfbilling.selectors import agreement_in_force, deduction_originals, default_prefix

if TYPE_CHECKING:
    from django.core.mail import EmailMessage

    from leadbill.mailing.models import EmailSend


def _bp(rate: Decimal) -> int:
    return int(rate * 100)


def invoice_rate_bp(doc: SelfBilledDocument) -> int:
    """The tax rate of a self-invoice, from its stored summary (one rate: the partner's at issue)."""
    return max((_bp(Decimal(t["rate"])) for t in doc.taxes), default=0)


def why_no_self_invoice(payout: Payout) -> str:
    """'' when a ready payout of this partner would get a self-invoice now, else the reason."""
    partner, entity = payout.partner, payout.entity
    profile = SellerProfile.objects.filter(partner=partner).first()
    return sb.refusal(
        switch_on=entity.self_billing,
        opted_in=agreement_in_force(partner) is not None,
        missing=sb.missing_details(profile.details() if profile else {}),
        entity=entity.legal_name,
        partner=partner.name,
    )


def self_bill(actor: str, po: Payout) -> list[SelfBilledDocument]:
    """Inside the ready transition: issue the documents, or record why none."""
    if SelfBilledDocument.objects.filter(payout=po).live().exists():
        return []
    if SupplierInvoice.objects.filter(payout=po).exists():
        po.self_billing = "The partner uploaded its own invoice for this payout."
        po.save(update_fields=["self_billing"])
        return []
    reason = why_no_self_invoice(po)
    if reason:
        po.self_billing = reason
        po.save(update_fields=["self_billing"])
        audit_record(actor=actor, action="self_invoice.not_made", obj=po, partner=po.partner.code, reason=reason)
        return []
    profile = SellerProfile.objects.get(partner=po.partner)
    agreement = agreement_in_force(po.partner)
    lines = list(po.lines.all())
    charges = [line for line in lines if line.kind != p.DEDUCTION]
    deductions = [line for line in lines if line.kind == p.DEDUCTION]
    rate_bp = profile.tax_rate_bp or 0
    docs = []
    issue_date = today_in(po.entity)
    seller = _seller_snapshot(po.partner, profile)
    buyer = {**seller_snapshot(po.entity), "code": po.entity.slug, "buyer_reference": f"Payout {po.pk}"}
    if charges:
        rows = [(line, rate_bp, line.amount_minor) for line in charges]
        docs.append(_issue(actor, po, sb.INVOICE, rows, issue_date, seller, buyer, agreement))
    if deductions:
        # Taken back at the rate the leads were invoiced at; leads paid without a self-invoice at today's rate.
        originals = deduction_originals(deductions)
        rows = [(line, invoice_rate_bp(originals[line.pk]) if originals[line.pk] else rate_bp, -line.amount_minor)
                for line in deductions]  # fmt: skip
        refs = list({doc.pk: doc for doc in originals.values() if doc is not None}.values())
        docs.append(_issue(actor, po, sb.CREDIT, rows, issue_date, seller, buyer, agreement, refs=refs))
    po.self_billing = ""
    po.tax_minor = sum(-d.tax_minor if d.is_credit else d.tax_minor for d in docs)
    po.total_minor = sum(d.signed_total_minor for d in docs)
    po.save(update_fields=["self_billing", "tax_minor", "total_minor"])
    _archive_on_commit(docs)
    for doc in docs:
        self_billed_email(actor=actor, doc=doc)
    return docs


def _seller_snapshot(partner: Partner, profile: SellerProfile) -> dict[str, Any]:
    return {
        **profile.details(), "name": profile.legal_name, "code": partner.code, "logo_sha256": profile.logo_sha256,
        "footer": profile.footer, "locale": partner.entity.locale, "number_prefix": profile.number_prefix,
    }  # fmt: skip


def _series(partner: Partner) -> str:
    return f"self:{partner.pk}"


def _allocate(partner: Partner, prefix: str) -> tuple[str, int]:
    """The next number of the partner's own self-billing series (gapless, in the transaction)."""
    series = _series(partner)
    row, created = NumberSeries.objects.get_or_create(
        entity_id=partner.entity_id, series=series, defaults={"prefix": prefix}
    )
    if not created and row.prefix != prefix and prefix:
        NumberSeries.objects.filter(pk=row.pk).update(prefix=prefix)
    return allocate_numbers(partner.entity_id, series)


def _issue(
    actor: str,
    po: Payout,
    role: str,
    rows: Sequence[tuple[PayoutLine, int, int]],
    issue_date: date,
    seller: dict[str, Any],
    buyer: dict[str, Any],
    agreement: Agreement | None,
    *,
    refs: Sequence[SelfBilledDocument] = (),
) -> SelfBilledDocument:
    totals = sb.totals([(rate_from_bp(bp), amount) for _, bp, amount in rows], po.currency)
    prefix, sequence = _allocate(po.partner, seller.get("number_prefix") or default_prefix(po.partner))
    terms = po.partner.payment_terms()
    now = timezone.now()
    days = agreement.acceptance_days if agreement is not None else po.entity.self_billing_acceptance_days
    doc = SelfBilledDocument.objects.create(
        entity=po.entity, partner=po.partner, payout=po, role=role, series=_series(po.partner), sequence=sequence,
        number=format_number(prefix, sequence), issue_date=issue_date,
        due_date=issue_date + timedelta(days=terms) if role == sb.INVOICE else None,
        currency=po.currency, subtotal_minor=totals.net_minor, tax_minor=totals.tax_minor,
        total_minor=totals.total_minor,
        taxes=[{"rate": str(t.rate), "net_minor": t.net_minor, "tax_minor": t.tax_minor} for t in totals.taxes],
        payment_terms_days=terms if role == sb.INVOICE else None, period_first_day=po.period_first_day,
        period_last_day=po.period_last_day, seller=seller, buyer=buyer, corrects=refs[0] if refs else None,
        references=[d.number for d in refs],
        notes=[f"Corrects {', '.join(d.number for d in refs)}: leads returned by the buyer"] if refs else [],
        agreement=agreement, issued_at=now, issued_by=actor,
        acceptance=sb.PENDING, acceptance_due_at=now + timedelta(days=days),
    )  # fmt: skip
    SelfBilledLine.objects.bulk_create(
        [
            SelfBilledLine(document=doc, position=i, kind=line.kind, description=line.description,
                           quantity=line.quantity, unit_price_micros=line.unit_price_micros, amount_minor=amount,
                           tax_rate_bp=bp)
            for i, (line, bp, amount) in enumerate(rows, start=1)
        ]
    )  # fmt: skip
    audit_record(actor=actor, action="self_invoice.issued", obj=doc, entity=po.entity, number=doc.number,
                 role=role, payout=po.pk, total_minor=doc.total_minor)  # fmt: skip
    return doc


def reverse_document(actor: str, doc: SelfBilledDocument, reason: str) -> SelfBilledDocument:
    """A live document reversed by its opposite (389 ↔ 261), same partner series: a cancelled payout's, a disputed one.

    Inside the caller's transaction; marks `doc` reversed there, so the payout may get a corrected one.
    """
    role = sb.REVERSAL_OF[doc.role]
    if not SelfBilledDocument.objects.filter(pk=doc.pk).live().update(reversed_at=timezone.now()):
        raise StateError(f"{doc.number} was reversed already")
    doc.refresh_from_db(fields=["reversed_at"])
    prefix, sequence = _allocate(doc.partner, doc.seller.get("number_prefix") or default_prefix(doc.partner))
    reversal = SelfBilledDocument.objects.create(
        entity=doc.entity, partner=doc.partner, payout=doc.payout, role=role, series=doc.series, sequence=sequence,
        number=format_number(prefix, sequence), issue_date=today_in(doc.entity), due_date=None,
        currency=doc.currency, subtotal_minor=doc.subtotal_minor, tax_minor=doc.tax_minor,
        total_minor=doc.total_minor, taxes=doc.taxes, payment_terms_days=None,
        period_first_day=doc.period_first_day, period_last_day=doc.period_last_day, seller=doc.seller,
        buyer=doc.buyer, corrects=doc, references=[doc.number], notes=[f"Reverses {doc.number}: {reason}"],
        agreement=doc.agreement, issued_at=timezone.now(), issued_by=actor,
    )  # fmt: skip
    SelfBilledLine.objects.bulk_create(
        [
            SelfBilledLine(document=reversal, position=line.position, kind=line.kind, description=line.description,
                           quantity=line.quantity, unit_price_micros=line.unit_price_micros,
                           amount_minor=line.amount_minor, tax_rate_bp=line.tax_rate_bp)
            for line in doc.lines.all()
        ]
    )  # fmt: skip
    audit_record(actor=actor, action="self_invoice.issued", obj=reversal, entity=doc.entity, number=reversal.number,
                 role=role, payout=doc.payout_id, corrects=doc.number, total_minor=reversal.total_minor)  # fmt: skip
    _archive_on_commit([reversal])
    self_billed_email(actor=actor, doc=reversal)
    return reversal


SELF_BILLED_PURPOSE = "self_billed:"  # + the SelfBilledDocument's id: the EmailSend purpose of its email


def self_billed_attach(message: EmailMessage, send: EmailSend) -> None:
    """A self-billed document's email carries its PDF and UBL, archived as first produced, like an invoice's."""
    from leadbill.documents.models import Format
    from leadbill.documents.services import document_file

    doc = SelfBilledDocument.objects.get(pk=int(send.purpose.removeprefix(SELF_BILLED_PURPOSE)))
    files = [document_file(doc, Format.PDF, actor="system:mailer")]
    try:
        files.append(document_file(doc, Format.UBL, actor="system:mailer"))
    except DomainError as exc:
        message.body += f"\n(The UBL e-invoice is not attached: {exc.message})\n"
    for f in files:
        message.attach(f.name, f.content, f.media_type)


def _acceptance_paragraph(doc: SelfBilledDocument, fmt: Any) -> str:
    """What the supplier is asked to do: accept or dispute it in the portal, before it is deemed accepted."""
    from django.conf import settings
    from django.urls import reverse

    if doc.acceptance != sb.PENDING or doc.acceptance_due_at is None:
        return "Nothing is needed from you for this document.\n\n"
    link = settings.LEADBILL_BASE_URL.rstrip("/") + reverse("portal:payout", kwargs={"pk": doc.payout_id})
    due = fmt.date(doc.acceptance_due_at.astimezone(zone(doc.entity.timezone)).date())
    return (
        f"Please check it and accept it, or dispute it with your reason, in the partner portal:\n{link}\n"
        f"If you have not answered by {due}, it is deemed accepted under your self-billing agreement. "
        "A disputed self-invoice is cancelled by a self-billed credit note and a corrected one is issued.\n\n"
    )


def self_billed_email(*, actor: str, doc: SelfBilledDocument) -> EmailSend | None:
    """Queue the email telling the supplier its self-billed document was issued, PDF and UBL attached.

    Inside the issuing transaction: the row commits with the document, and is sent by the
    mailer's task only after commit (`mailing.services._kick`). To the supplier's billing
    address from its seller details, else its contact; none: audited, the portal still has it.
    """
    from leadbill.documents.formatting import Formatter
    from leadbill.mailing.models import EmailSend
    from leadbill.mailing.sender import entity_sender
    from leadbill.mailing.services import _kick, mail_settings_of

    partner, entity = doc.partner, doc.entity
    purpose = f"{SELF_BILLED_PURPOSE}{doc.pk}"
    if EmailSend.objects.filter(entity=entity, purpose=purpose).exists():
        return None
    profile_email = str(doc.seller.get("email") or "")
    recipients = [profile_email] if profile_email else ([partner.contact_email] if partner.contact_email else [])
    if not recipients:
        audit_record(actor=actor, action="self_invoice.email_skipped", obj=doc, entity=entity,
                     reason=f"{partner.name} has no email in its self-billing details or contact")  # fmt: skip
        return None
    ms = mail_settings_of(entity)
    fmt = Formatter(entity.locale, doc.currency)
    kind = "self-billed credit note" if doc.is_credit else "self-billed invoice"
    period = fmt.period(doc.period_first_day, doc.period_last_day)
    send = EmailSend.objects.create(
        entity=entity, partner=partner, purpose=purpose, sender=entity_sender(entity, ms.sender),
        recipients=recipients, reply_to=ms.reply_to or entity.email, attach_documents=True,
        subject=f"Your {kind} {doc.number} from {entity.legal_name}: {fmt.money(doc.total_minor)}",
        body=(f"Hello,\n\nunder your self-billing agreement, {entity.legal_name} has issued {kind} {doc.number} "
              f"in your name for {period}: {fmt.money(doc.total_minor)}"
              f"{' (' + ', '.join(doc.references) + ')' if doc.references else ''}.\n\n"
              "The PDF and the UBL e-invoice are attached, and both are in the partner portal under Payouts.\n\n"
              f"{_acceptance_paragraph(doc, fmt)}"
              f"Kind regards,\n{entity.legal_name}\n"),
        created_by=actor, next_attempt_at=timezone.now(),
    )  # fmt: skip
    audit_record(actor=actor, action="self_invoice.email_queued", obj=doc, entity=entity, to=recipients, send=send.pk)
    _kick([send])
    return send


def _archive_on_commit(docs: Sequence[SelfBilledDocument]) -> None:
    from leadbill.background import task_named
    from leadbill.engine.kick import enqueue_on_commit

    self_billed_archive_task = task_named("self_billed_archive_task")

    for doc in docs:
        enqueue_on_commit(self_billed_archive_task, doc.pk)
