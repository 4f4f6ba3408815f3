"""Writes of the books: the account mapping, and exports (a batch, its file, the documents it carried).

`export_create` builds the journal of a date range, refuses it when a document does not balance
(`domain.journal.UnbalancedDocument`, naming the document and the difference), renders the target's
files, and in one transaction stores the batch (content and SHA-256 kept), marks each newly
exported document (unique per target, kind and source: a document is "new" to a target once) and
writes one audit row. By default only documents no earlier batch carried to that target are
exported; `all_documents` exports the whole range again (the marks stay with the first batch).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.books.formats import datev, journal_csv, qbo, xero
from leadbill.books.formats.common import File
from leadbill.books.models import TARGETS, AccountMapping, ExportBatch, ExportedDocument
from leadbill.books.selectors import (
    MAPPING_FIELDS,
    accounts_of,
    exported_before,
    mapping_columns,
    period_facts,
    source_of,
)
from leadbill.domain import journal as j
from leadbill.domain.errors import DomainError, StateError
from leadbill.entities.models import Entity

MAX_RANGE_DAYS = 366


@dataclass(slots=True)
class ExportResult:
    target: str
    first: date
    last: date
    batch: ExportBatch | None
    files: list[File]
    new: int
    already: int
    already_batches: list[int] = field(default_factory=list)
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """ "3 new, 12 already exported in batch 4" (or batches 4, 7), as the CLI, API and console say it."""
        text = f"{self.new} new"
        if self.already:
            where = ", ".join(str(b) for b in self.already_batches)
            text += f", {self.already} already exported in batch{'es' if len(self.already_batches) > 1 else ''} {where}"
        return text


def mapping_apply(*, actor: str, entity: Entity, values: dict[str, Any]) -> AccountMapping:
    """Set the given mapping columns (and only those) of the entity; creates the row from the defaults first."""
    unknown = set(values) - set(MAPPING_FIELDS)
    if unknown:
        raise DomainError(f"not a mapping field: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        row = AccountMapping.objects.select_for_update().filter(entity=entity).first()
        if row is None:
            row = AccountMapping(entity=entity, **mapping_columns(entity))
            changed = {name: [None, value] for name, value in values.items()}
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_by = actor
            row.save()
        else:
            changed = {n: [getattr(row, n), v] for n, v in values.items() if getattr(row, n) != v}
            for name, (_, value) in changed.items():
                setattr(row, name, value)
            row.updated_by = actor
            row.save(update_fields=[*changed, "updated_by", "updated_at"])
        audit_record(actor=actor, action="books.mapping_changed", obj=row, entity=entity, changed=changed)
        return row


def _render(target: str, period: Any, entries: list[j.Entry], columns: dict[str, Any], actor: str) -> list[File]:
    accounts = accounts_of(columns)
    if target == "qbo":
        return qbo.render(period, entries, accounts)
    if target == "xero":
        return xero.render(period, entries, accounts)
    if target == "datev":
        return datev.render(period, entries, accounts, columns, created=timezone.now(), exported_by=actor)
    return journal_csv.render(period, entries, columns)


def bundle(files: list[File], name: str) -> tuple[str, str, bytes]:
    """One file as it is, several in a zip (fixed timestamps: the same files give the same bytes)."""
    if len(files) == 1:
        return files[0].name, files[0].media_type, files[0].content
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            info = zipfile.ZipInfo(f.name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, f.content)
    return f"{name}.zip", "application/zip", buffer.getvalue()


def export_create(
    *, actor: str, entity: Entity, target: str, first: date, last: date, all_documents: bool = False
) -> ExportResult:
    """Export the range's documents to `target`; raises UnbalancedDocument / ExportRefused naming the document."""
    if target not in TARGETS:
        raise DomainError(f"target is one of {', '.join(TARGETS)}; got {target!r}", field="target")
    if last < first:
        raise DomainError("the range ends before it starts", field="to")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise DomainError(f"at most {MAX_RANGE_DAYS} days at once", field="to")
    period = period_facts(entity, first, last)
    before = exported_before(target, period.facts)
    chosen = [f for f in period.facts if all_documents or source_of(f) not in before]
    entries = j.journal(chosen, accounts_of(columns := mapping_columns(entity)))
    totals = j.totals(entries)
    for currency, (debits, credits) in totals.items():  # per document holds already; the batch too
        if debits != credits:
            raise j.UnbalancedDocument(f"batch ({currency})", debits - credits, currency)
    already_batches = sorted({row.batch_id for row in before.values()})
    result = ExportResult(target, first, last, None, [], len(period.facts) - len(before), len(before),
                          already_batches, totals)  # fmt: skip
    if not entries:
        return result
    files = _render(target, period, entries, columns, actor)
    name, media_type, content = bundle(files, f"{target}-{entity.slug}-{first.isoformat()}-{last.isoformat()}")
    new_facts = [f for f in chosen if source_of(f) not in before]
    with transaction.atomic():
        batch = ExportBatch.objects.create(
            entity=entity, target=target, date_from=first, date_to=last, all_documents=all_documents,
            created_by=actor, created_at=timezone.now(), document_count=len(entries), new_count=len(new_facts),
            already_count=len(before), debit_minor=sum(d for d, _ in totals.values()), file_name=name,
            media_type=media_type, sha256=hashlib.sha256(content).hexdigest(), size=len(content), content=content,
        )  # fmt: skip
        try:
            with transaction.atomic():
                ExportedDocument.objects.bulk_create(
                    [
                        ExportedDocument(
                            batch=batch,
                            target=target,
                            kind=source_of(f)[0],
                            source_id=source_of(f)[1],
                            number=f.number[:60],
                        )
                        for f in new_facts
                    ]
                )
        except IntegrityError:
            raise StateError("another export to this target took some of these documents meanwhile; "
                             "export again to see what is new") from None  # fmt: skip
        audit_record(actor=actor, action="books.exported", obj=batch, entity=entity, target=target,
                     date_from=first.isoformat(), date_to=last.isoformat(), documents=len(entries),
                     new=len(new_facts), already=len(before), sha256=batch.sha256)  # fmt: skip
    result.batch, result.files = batch, files
    return result


def mapping_update(*, actor: str, entity: Entity, raw: dict[str, Any]) -> AccountMapping:
    """A form's or an API body's mapping keys, read by the set-up file's rules (`books:`), then applied.

    Only the keys sent are read and changed. Raises SetupFileError naming each bad key ("books.cash").
    """
    from leadbill.catalog.models import LeadType
    from leadbill.loader.schema.books import read_books_details

    codes = set(LeadType.objects.filter(entity=entity).values_list("code", flat=True))
    values = read_books_details(raw, currency=entity.currency, has_lead_type=codes.__contains__)
    return mapping_apply(actor=actor, entity=entity, values=values)
