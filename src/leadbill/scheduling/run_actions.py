"""Bulk actions on a finished run's documents: "Email all" and "Download all", as background tasks.

Starting one is a service (one transaction, one audit row, the task queued with it); the
task does the work in small steps and writes `done` after each, which the run page polls.
A second click while one is under way gets the running action back, not a second one.

"Email all" queues each issued document of the run through the mailing service under the
run's own purpose (`run:<id>`), so a document the run already emailed is not sent twice
and a partner given an address since can be caught up by clicking again. "Download all"
archives each document's PDF (`documents.services.document_file`: the bytes kept from the
first render) and the zip is streamed from that archive, never held in memory or on disk.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.domain.errors import DomainError, StateError
from leadbill.engine.kick import enqueue_on_commit
from leadbill.invoicing.models import Invoice, InvoiceRun, Status
from leadbill.scheduling.models import RunAction, RunActionKind

logger = logging.getLogger(__name__)
EMAIL_CHUNK = 200  # documents queued per transaction: progress moves, and no transaction grows with the run


def run_documents(run: InvoiceRun) -> QuerySet[Invoice]:
    """The run's issued documents (numbered, not drafts; void ones too: they were sent or downloaded as issued)."""
    return (Invoice.objects.filter(run=run, number__isnull=False).exclude(status=Status.DRAFT)
            .select_related("partner", "entity").order_by("series", "sequence", "pk"))  # fmt: skip


def run_action_start(*, actor: str, run: InvoiceRun, kind: str) -> RunAction:
    """Queue "Email all" or "Download all" for a finished run; the one under way if there is one."""
    from leadbill.background import task_named

    run_action_task = task_named("run_action_task")

    if kind not in RunActionKind.values:
        raise DomainError(f"unknown action {kind!r}", field="kind")
    if run.finished_at is None:
        raise StateError("the run is still issuing; wait until it is done")
    total = run_documents(run).count()
    if not total:
        raise StateError("this run issued no documents" + (" (it left drafts: issue them first)" if run.draft else ""))
    with transaction.atomic():
        InvoiceRun.objects.select_for_update().filter(pk=run.pk).first()  # two clicks queue one action
        running = RunAction.objects.filter(run=run, kind=kind, finished_at__isnull=True).first()
        if running is not None:
            return running
        action = RunAction.objects.create(run=run, kind=kind, actor=actor, total=total)
        audit_record(actor=actor, action=f"run.{kind}_all", obj=run, entity=run.entity, documents=total,
                     action_id=action.pk)  # fmt: skip
        enqueue_on_commit(run_action_task, action.pk)
    return action


def run_action_work(action_id: int) -> dict[str, Any]:
    """The task's body: safe to run again (a finished action does nothing; emails are once per purpose)."""
    action = RunAction.objects.select_related("run", "run__entity").get(pk=action_id)
    if action.finished_at is not None:
        return {"finished": True}
    documents = list(run_documents(action.run))
    failures: dict[str, str] = {}
    outcome: dict[str, int] = {}
    if action.kind == RunActionKind.EMAIL:
        _email(action, documents, failures, outcome)
    else:
        _archive(action, documents, failures, outcome)
    with transaction.atomic():
        RunAction.objects.filter(pk=action.pk).update(done=len(documents), total=len(documents), failures=failures,
                                                      outcome=outcome, finished_at=timezone.now())  # fmt: skip
        audit_record(actor=action.actor, action=f"run.{action.kind}_all_done", obj=action.run,
                     entity=action.run.entity, failures=len(failures), **outcome)  # fmt: skip
    return {"documents": len(documents), "failures": len(failures)}


def _email(action: RunAction, documents: list[Invoice], failures: dict[str, str], outcome: dict[str, int]) -> None:
    from leadbill.mailing.models import EmailSend
    from leadbill.mailing.services import recipients_of, sends_for_issued

    purpose = f"run:{action.run_id}"
    outcome |= {"queued": 0, "already": 0}
    for i in range(0, len(documents), EMAIL_CHUNK):
        chunk = documents[i : i + EMAIL_CHUNK]
        have = set(EmailSend.objects.filter(invoice__in=chunk, purpose=purpose).values_list("invoice_id", flat=True))
        for inv in chunk:
            if inv.pk in have:
                outcome["already"] += 1
            elif not recipients_of(inv.partner):
                failures[str(inv.number)] = f"{inv.partner.name} has no billing email; add one on the partner's page"
        with transaction.atomic():
            outcome["queued"] += len(sends_for_issued(actor=action.actor, invoices=chunk, purpose=purpose))
            RunAction.objects.filter(pk=action.pk).update(done=i + len(chunk), failures=failures, outcome=outcome)


def _archive(action: RunAction, documents: list[Invoice], failures: dict[str, str], outcome: dict[str, int]) -> None:
    from leadbill.documents.models import Format
    from leadbill.documents.services import document_file

    for i, inv in enumerate(documents, 1):
        try:
            document_file(inv, Format.PDF, actor=action.actor)
        except DomainError as exc:
            failures[str(inv.number)] = exc.message
        except Exception as exc:  # one document that cannot render does not stop the others
            logger.exception("run %s: PDF of %s not made", action.run_id, inv.number)
            failures[str(inv.number)] = f"{type(exc).__name__}: {exc}"
        RunAction.objects.filter(pk=action.pk).update(done=i, failures=failures)
    outcome["files"] = len(documents) - len(failures)


def email_progress(run: InvoiceRun) -> dict[str, int]:
    """The run's emails by state (queued, sending, sent, failed, unknown): what "Email all" has achieved so far."""
    from leadbill.mailing.models import EmailSend

    rows = (EmailSend.objects.filter(invoice__run=run, purpose=f"run:{run.pk}").values_list("state")
            .annotate(n=Count("pk")).order_by())  # fmt: skip
    return dict(rows)  # type: ignore[arg-type]


class _Sink:
    """A write-only stream whose bytes are taken out as they come: lets zipfile feed a streamed response."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> Iterator[bytes]:
        parts, self.parts = self.parts, []
        yield from parts


def zip_name(run: InvoiceRun) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run.period_key)
    return f"{run.entity.slug}-run-{run.pk}-{safe}.zip"


def zip_chunks(action: RunAction) -> Iterator[bytes]:
    """The zip of the run's archived PDFs, one document in memory at a time; failures listed in a text file."""
    from leadbill.documents.models import ArchivedDocument, Format
    from leadbill.documents.services import file_name

    if action.finished_at is None or action.kind != RunActionKind.DOWNLOAD:
        raise StateError("the documents are not ready yet")
    sink = _Sink()
    archived = (ArchivedDocument.objects.filter(invoice__run=action.run_id, format=Format.PDF,
                                                invoice__number__isnull=False)
                .order_by("invoice__series", "invoice__sequence").values_list("invoice__number", "content"))  # fmt: skip
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as zf:
        for number, content in archived.iterator(chunk_size=20):
            zf.writestr(file_name(number, Format.PDF), bytes(content))
            yield from sink.take()
        if action.failures:
            lines = [f"{number}: {why}" for number, why in sorted(action.failures.items())]
            zf.writestr("NOT-INCLUDED.txt", "Documents left out, and why:\n" + "\n".join(lines) + "\n")
    yield from sink.take()
