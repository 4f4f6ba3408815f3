"""Producing an issued document's files, and keeping them as first produced.

The first request for a format renders it and stores the bytes with their SHA-256 (one row
per invoice and format, a database constraint), in one transaction with its audit row.
Every later request, by anyone, gets those same bytes back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from leadbill.audit.services import audit_record
from leadbill.documents.build import document_of
from leadbill.documents.cii import cii_xml
from leadbill.documents.models import ArchivedDocument, Format
from leadbill.documents.pdf import render_facturx, render_pdf
from leadbill.documents.ubl import ubl_xml
from leadbill.domain.document import Document
from leadbill.domain.errors import DomainError, StateError
from leadbill.invoicing.models import Invoice

MEDIA_TYPES = {Format.PDF: "application/pdf", Format.FACTURX: "application/pdf", Format.UBL: "application/xml"}


@dataclass(frozen=True, slots=True)
class DocumentFile:
    name: str
    media_type: str
    content: bytes
    sha256: str


def file_name(number: str, fmt: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in number)
    return {Format.PDF: f"{safe}.pdf", Format.FACTURX: f"{safe}-facturx.pdf", Format.UBL: f"{safe}-ubl.xml"}[
        Format(fmt)
    ]


def render(doc: Document, fmt: str) -> bytes:
    """The bytes of one format, rendered now (no archive): also used for previews and benchmarks."""
    if fmt == Format.PDF:
        return render_pdf(doc)
    if fmt == Format.FACTURX:
        return render_facturx(doc, cii_xml(doc))
    if fmt == Format.UBL:
        return ubl_xml(doc)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(Format.values)}")


def document_file(invoice: Invoice, fmt: str, *, actor: str) -> DocumentFile:
    """The invoice's document in `fmt`, archived on first use; raises DomainError for drafts and bad data."""
    fmt = Format(fmt)
    number = invoice.number or ""
    archived = ArchivedDocument.objects.filter(invoice=invoice, format=fmt).first()
    if archived is None:
        content = render(document_of(invoice), fmt)
        sha = hashlib.sha256(content).hexdigest()
        try:
            with transaction.atomic():
                archived = ArchivedDocument.objects.create(
                    invoice=invoice, format=fmt, sha256=sha, size=len(content), content=content
                )
                audit_record(
                    actor=actor,
                    action="document.archived",
                    obj=invoice,
                    format=str(fmt),
                    sha256=sha,
                    size=len(content),
                )
        except IntegrityError:  # another process archived it first: theirs is the original
            archived = ArchivedDocument.objects.get(invoice=invoice, format=fmt)
    content = bytes(archived.content)
    return DocumentFile(file_name(number, fmt), MEDIA_TYPES[fmt], content, archived.sha256)


def invoice_send(*, actor: str, invoice: Invoice, to: list[str] | None = None) -> list[str]:
    """Email an issued document to the partner's billing addresses with its Factur-X PDF and UBL.

    The audit row is written in the transaction; the message leaves after commit. The
    UBL copy is left out (and the message says so) when the partner has no Peppol id.
    Returns the recipients.
    """
    from django.core.mail import EmailMessage

    if invoice.status == "draft" or not invoice.number:
        raise StateError("a draft cannot be sent; issue it first")
    partner = invoice.partner
    recipients = to or list(partner.billing_emails or []) or ([partner.contact_email] if partner.contact_email else [])
    if not recipients:
        raise DomainError(f"{partner.name} has no billing email; add one on the partner's page", field="to")
    files = [document_file(invoice, Format.FACTURX, actor=actor)]
    missing = ""
    try:
        files.append(document_file(invoice, Format.UBL, actor=actor))
    except DomainError as exc:
        missing = f"\n(The UBL e-invoice is not attached: {exc.message})\n"
    seller = invoice.seller.get("name") or invoice.entity.legal_name
    body = (f"Hello,\n\nplease find attached {invoice.get_kind_display().lower()} {invoice.number} from {seller}"
            f"{' for ' + invoice.period_key if invoice.period_key else ''}.\n{missing}\nKind regards,\n{seller}\n")  # fmt: skip
    message = EmailMessage(subject=f"{invoice.get_kind_display()} {invoice.number} from {seller}", body=body,
                           to=recipients, reply_to=[invoice.entity.email] if invoice.entity.email else None)  # fmt: skip
    for f in files:
        message.attach(f.name, f.content, f.media_type)
    with transaction.atomic():
        audit_record(actor=actor, action="invoice.sent", obj=invoice, to=recipients, files=[f.name for f in files])
        transaction.on_commit(message.send)
    return recipients
