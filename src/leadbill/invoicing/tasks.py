"""Background work of invoicing, through Django's task framework.

Inline by default (the embedded set-up runs each task as it is enqueued); with a worker
backend (`leadbill worker`) a run fans out: `invoice_run_task` lists the run's partners
as items and queues them in chunks; each `invoice_run_chunk_task` issues its partners in
one transaction (each partner alone if the batch fails), marks the items, queues the
documents' emails, and the chunk that leaves no pending item closes the run.

Every task may run twice (a redelivered job after a worker died): the coordinator only
creates missing items, a chunk skips items no longer pending and partners already
invoiced (a database constraint), and closing the run is a conditional update.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import Count, OuterRef, Subquery, Sum
from django.tasks import task
from django.utils import timezone

from leadbill.engine.kick import enqueue_on_commit
from leadbill.invoicing.models import Invoice, InvoiceRun, InvoiceRunItem, ItemState, Status

logger = logging.getLogger(__name__)


def run_chunk() -> int:
    """Partners per chunk task: what one worker takes at a time (LEADBILL_RUN_CHUNK)."""
    from django.conf import settings

    return int(getattr(settings, "LEADBILL_RUN_CHUNK", 50))


@task
def invoice_run_task(run_id: int) -> dict[str, Any]:
    """Coordinate a run: create its items once, queue the pending ones in chunks."""
    from leadbill.invoicing.drafting import run_partners

    run = InvoiceRun.objects.select_related("entity").get(pk=run_id)
    if run.finished_at is not None:
        return {"finished": True}  # a redelivered task does nothing twice
    if not InvoiceRun.objects.filter(pk=run_id, items__isnull=False).exists():
        scope = run.scope or {}
        partners = run_partners(run.entity, scope.get("partners"))
        excluded = set(scope.get("exclude", []))
        items = [InvoiceRunItem(run=run, partner=p) for p in partners if p.code not in excluded]
        with transaction.atomic():
            InvoiceRunItem.objects.bulk_create(items, batch_size=2000, ignore_conflicts=True)
            _progress(run)
    pending = list(
        InvoiceRunItem.objects.filter(run=run, state=ItemState.PENDING).order_by("partner__code")
        .values_list("partner_id", flat=True)
    )  # fmt: skip
    if not pending:
        run_finish(run.pk)
        return {"chunks": 0}
    size = run_chunk()
    with transaction.atomic():
        for i in range(0, len(pending), size):
            enqueue_on_commit(invoice_run_chunk_task, run.pk, pending[i : i + size])
    return {"chunks": (len(pending) + size - 1) // size}


@task
def invoice_run_chunk_task(run_id: int, partner_ids: list[int]) -> dict[str, int]:
    """Issue one chunk of a run's partners; safe to run again."""
    from leadbill.invoicing.services import invoice_run_issue_partners
    from leadbill.partners.models import Partner

    run = InvoiceRun.objects.select_related("entity").get(pk=run_id)
    if run.finished_at is not None:
        return {"issued": 0}
    todo = set(
        InvoiceRunItem.objects.filter(run=run, partner_id__in=partner_ids, state=ItemState.PENDING).values_list(
            "partner_id", flat=True
        )
    )
    if todo:
        partners = list(Partner.objects.filter(pk__in=todo).order_by("code"))
        for partner in partners:
            partner.entity = run.entity
        result = invoice_run_issue_partners(run=run, partners=partners)
        _record_chunk(run, partners, result.failures, set(result.skipped), result.held)
    if not InvoiceRunItem.objects.filter(run=run, state=ItemState.PENDING).exists():
        run_finish(run.pk)
    return {"partners": len(todo)}


def _record_chunk(
    run: InvoiceRun, partners: list[Any], failures: dict[str, str], skipped: set[str],
    held: dict[str, list[str]] | None = None,
) -> None:  # fmt: skip
    """Mark the chunk's items from what the database now holds, and queue the emails, in one transaction."""
    from leadbill.mailing.services import sends_for_issued

    invoices = {inv.partner_id: inv for inv in Invoice.objects.filter(run=run, partner_id__in=[p.pk for p in partners])}
    now = timezone.now()
    states: dict[str, list[int]] = {}
    for partner in partners:
        if partner.pk in invoices:
            state = ItemState.ISSUED
        elif partner.code in failures:
            state = ItemState.FAILED
        elif held and partner.code in held:
            state = ItemState.HELD  # the safety bounds' reasons, one a line, in `error`
        else:
            state = ItemState.SKIPPED if partner.code in skipped else ItemState.EMPTY
        states.setdefault(state, []).append(partner.pk)
    pending = InvoiceRunItem.objects.filter(run=run, state=ItemState.PENDING)
    with transaction.atomic():
        if ItemState.ISSUED in states:  # one statement: each item takes its partner's invoice of this run
            own_invoice = Invoice.objects.filter(run=run, partner_id=OuterRef("partner_id")).values("pk")[:1]
            pending.filter(partner_id__in=states.pop(ItemState.ISSUED)).update(
                state=ItemState.ISSUED, invoice=Subquery(own_invoice), finished_at=now
            )
        for partner in partners:  # failures are rare and each has its own message
            if partner.pk in states.get(ItemState.FAILED, ()):
                pending.filter(partner_id=partner.pk).update(state=ItemState.FAILED, error=failures[partner.code],
                                                              finished_at=now)  # fmt: skip
        states.pop(ItemState.FAILED, None)
        for partner in partners:
            if partner.pk in states.get(ItemState.HELD, ()):
                pending.filter(partner_id=partner.pk).update(state=ItemState.HELD, error="\n".join(
                    (held or {})[partner.code]), finished_at=now)  # fmt: skip
        states.pop(ItemState.HELD, None)
        for state, partner_ids in states.items():
            pending.filter(partner_id__in=partner_ids).update(state=state, finished_at=now)
        issued = [inv for inv in invoices.values() if inv.status != Status.DRAFT]
        if run.send_email and issued:
            sends_for_issued(actor=run.actor, invoices=issued, purpose=f"run:{run.pk}")
        _progress(run)


def _progress(run: InvoiceRun) -> None:
    """Partners done of all, for the console's progress bar."""
    counts = dict(InvoiceRunItem.objects.filter(run=run).values_list("state").annotate(n=Count("id")).order_by())
    total = sum(counts.values())
    done = total - counts.get(ItemState.PENDING, 0)
    InvoiceRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(
        summary={**run.summary, "progress": {"done": done, "total": total}}, progress_at=timezone.now()
    )


def run_finish(run_id: int) -> bool:
    """Close the run once: the first caller to find nothing pending writes the summary and audit row."""
    from leadbill.audit.services import audit_record

    run = InvoiceRun.objects.select_related("entity").get(pk=run_id)
    invoices = Invoice.objects.filter(run=run)
    items = InvoiceRunItem.objects.filter(run=run)
    failures = dict(items.filter(state=ItemState.FAILED).values_list("partner__code", "error"))
    totals = {
        row["currency"]: row["total"]
        for row in invoices.values("currency").annotate(total=Sum("total_minor")).order_by("currency")
    }
    total = items.count()
    held = items.filter(state=ItemState.HELD).order_by("partner__code").values_list("partner__code", "error")
    summary = {
        **run.summary,
        "queued": False,
        "period": run.period_key,
        "issued": list(invoices.exclude(number=None).order_by("sequence").values_list("number", flat=True)),
        "drafts": list(invoices.filter(status=Status.DRAFT).values_list("pk", flat=True)),
        "skipped_already_invoiced": list(items.filter(state=ItemState.SKIPPED).values_list("partner__code", flat=True)),
        "failures": failures,
        "held": {code: reasons.split("\n") for code, reasons in held},
        "total_minor_by_currency": totals,
        "progress": {"done": total, "total": total},
    }
    with transaction.atomic():
        closed = InvoiceRun.objects.filter(pk=run_id, finished_at__isnull=True).update(
            finished_at=timezone.now(), summary=summary
        )
        if closed:
            audit_record(actor=run.actor, action="invoice_run.finished", obj=run, entity=run.entity,
                         issued=invoices.count(), failures=len(failures))  # fmt: skip
    return bool(closed)
