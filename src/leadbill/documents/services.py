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
from leadbill.documents.build import document_of, self_billed_document_of
from leadbill.documents.cii import cii_xml
from leadbill.documents.models import ArchivedDocument, Format
from leadbill.documents.pdf import render_facturx, render_pdf
from leadbill.documents.ubl import ubl_xml
from leadbill.domain.document import Document
from leadbill.invoicing.models import Invoice
from leadbill.selfbilling.models import SelfBilledDocument

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


def document_file(invoice: Invoice | SelfBilledDocument, fmt: str, *, actor: str) -> DocumentFile:
    """The document in `fmt`, archived on first use; raises DomainError for drafts and bad data.

    `invoice` is one of ours (invoice, receipt, credit note) or a self-billed document.
    """
    fmt = Format(fmt)
    number = invoice.number or ""
    whose = {"self_billed": invoice} if isinstance(invoice, SelfBilledDocument) else {"invoice": invoice}
    archived = ArchivedDocument.objects.filter(**whose, format=fmt).first()
    if archived is None:
        doc = self_billed_document_of(invoice) if isinstance(invoice, SelfBilledDocument) else document_of(invoice)
        content = render(doc, fmt)
        sha = hashlib.sha256(content).hexdigest()
        try:
            with transaction.atomic():
                archived = ArchivedDocument.objects.create(
                    **whose, format=fmt, sha256=sha, size=len(content), content=content
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
            archived = ArchivedDocument.objects.get(**whose, format=fmt)
    content = bytes(archived.content)
    return DocumentFile(file_name(number, fmt), MEDIA_TYPES[fmt], content, archived.sha256)
