"""Background work of self-billing: keeping a self-billed document's files as first produced."""

from __future__ import annotations

from django.tasks import task

from leadbill.documents.models import Format
from leadbill.selfbilling.models import SelfBilledDocument

ACTOR = "system:self-billing"


@task
def self_billed_archive_task(document_id: int) -> None:
    """Render and archive the PDF, Factur-X and UBL of a self-billed document (idempotent)."""
    from leadbill.documents.services import document_file

    doc = SelfBilledDocument.objects.filter(pk=document_id).first()
    if doc is None:
        return
    for fmt in (Format.PDF, Format.FACTURX, Format.UBL):
        document_file(doc, fmt, actor=ACTOR)
