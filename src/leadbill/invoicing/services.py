"""Writes of invoicing: runs (preview/issue), payments, voids, credit notes, adjustments, top-ups.

Every write has one shape (STYLE 9): one transaction, an audit row in it, side
effects after commit. Numbers are allocated inside the issuing transaction.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Max
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from leadbill.audit.services import audit_event, audit_record, audit_record_many
from leadbill.bulk import bulk_insert, bulk_set
from leadbill.contention import transient
from leadbill.deliveries import summary
from leadbill.domain import generation
from leadbill.domain import receivables as receivables_rules
from leadbill.domain.errors import DomainError, StateError
from leadbill.domain.periods import Period, zone
from leadbill.domain.periods import parse as parse_period
from leadbill.domain.rounding import micros_divisor
from leadbill.domain.tax import rate_from_bp
from leadbill.domain.text import field_text
from leadbill.entities.models import Entity
from leadbill.entities.selectors import today_in
from leadbill.entities.services import CREDIT_NOTE_SERIES, INVOICE_SERIES, allocate_numbers, format_number
from leadbill.invoicing import facts as f
from leadbill.invoicing import kept, rollup
from leadbill.invoicing.drafting import (
    Catalog,
    PartnerDraft,
    cap_overruns,
    credits_due,
    draft_for_partner,
    open_adjustments,
    over_cap_of,
    return_credits,
    run_partners,
    standing_of,
)
from leadbill.invoicing.models import (
    OPEN_STATUSES,
    PERIOD_DOCUMENT,
    Adjustment,
    BilledLead,
    CreditedLead,
    ExcludedLead,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    InvoiceRunItem,
    ItemState,
    Kind,
    LedgerEntry,
    LedgerKind,
    Payment,
    Status,
)
from leadbill.invoicing.selectors import drafts_crediting
from leadbill.invoicing.snapshots import buyer_snapshot, seller_snapshot
from leadbill.partners.models import Partner
from leadbill.receivables import services as ledger
from leadbill.receivables.models import EntryKind
from leadbill.receivables.selectors import credit_note_shares, open_minor

logger = logging.getLogger(__name__)

SERIES_OF_KIND = {
    Kind.INVOICE: INVOICE_SERIES,
    Kind.RECEIPT: INVOICE_SERIES,
    Kind.CREDIT_NOTE: CREDIT_NOTE_SERIES,
}


class AllocationMismatch(RuntimeError):
    """The per-lead allocation does not add up to the lines: the batch is rolled back."""


# --- preview ---------------------------------------------------------------------------


@dataclass
class RunPreview:
    entity: Entity
    period: Period
    drafts: list[PartnerDraft]
    already_invoiced: list[Partner]


def invoice_run_preview(*, entity: Entity, period: Period, partners: Sequence[str] | None = None) -> RunPreview:
    """The delivery summary per partner with anomalies; writes nothing.

    Outside a transaction, partners nothing was written for since an earlier preview keep the draft
    it made (`invoicing.kept`); only the others are read and drafted again.
    """
    if period.timezone != entity.timezone:
        raise DomainError(f"period must be in the entity's time zone {entity.timezone}", field="period")
    book = kept.view(entity, period)  # before any data is read
    if book is not None:
        entity = book.entity  # read again after the tokens
    all_partners = run_partners(entity, partners) if book is None else book.partners(partners)
    done = _already_invoiced(all_partners, period)
    todo = [p for p in all_partners if p.pk not in done]
    have = {} if book is None else {p.pk: d for p in todo if (d := book.draft(p.pk)) is not None}
    fresh = [p for p in todo if p.pk not in have]
    if fresh:
        drafted = _draft_preview(entity, period, fresh, whole=partners is None and not done and not have)
        have.update((pd.partner.pk, pd) for pd in drafted)
        if book is not None:
            book.keep(drafted)
    drafts = [have[p.pk] for p in todo]
    drafts = [pd for pd in drafts if pd.draft.lines or pd.anomalies or pd.facts.delivered]
    return RunPreview(entity, period, drafts, [p for p in all_partners if p.pk in done])


def _draft_preview(entity: Entity, period: Period, todo: Sequence[Partner], *, whole: bool) -> list[PartnerDraft]:
    """Read these partners' facts (`whole`: they are every buyer of the entity) and draft them."""
    scope = None if whole else [p.pk for p in todo]
    with transaction.atomic():  # writes only temp tables; lets the run's queries tune the session
        f.tune_for_run()
        try:
            with transaction.atomic():  # a savepoint, so that after a database error the drop below can run
                # From the billing summary; partners whose billing turns inside a day, from their deliveries.
                facts, detail = rollup.gather_groups(entity.pk, period, todo, whole=whole)
                if detail:
                    over = over_cap_of(entity, period, detail)
                    f.mark_over_cap(over.ids)
                    facts.update(f.gather_groups(entity.pk, period, [p.pk for p in detail], over))
        finally:
            f.drop_temp_tables()
        _add_activity(entity, period, todo, facts, scope)
    return _drafts(entity, period, todo, facts)


def _drafts(
    entity: Entity, period: Period, partners: Sequence[Partner], facts: dict[int, f.PartnerFacts], *, lock: bool = False
) -> list[PartnerDraft]:
    """What each partner would be billed for these facts: the step preview and issue share."""
    ids = [p.pk for p in partners]
    catalog = Catalog(entity, (g for pf in facts.values() for g in pf.groups))
    # Ranks continue after leads already billed only in earlier periods' buckets: a partner to be
    # billed for this period has no active document of it.
    late = [
        pid for pid, pf in facts.items() if any(g.bucket_invoice != f.CURRENT_BUCKET for g in pf.groups + pf.excluded)
    ]
    billed = f.already_billed(late)
    credits = credits_due(ids, entity.pk, lock=lock)
    adjustments = open_adjustments(ids, lock=lock, entity_id=entity.pk)
    standing = standing_of(partners, period)
    return [
        draft_for_partner(
            p, facts.get(p.pk, f.PartnerFacts(p.pk)), period, catalog, billed,
            credits.get(p.pk, []), adjustments.get(p.pk, []), standing,
        )
        for p in partners
    ]  # fmt: skip


def _add_activity(
    entity: Entity,
    period: Period,
    partners: Sequence[Partner],
    facts: dict[int, f.PartnerFacts],
    scope: Sequence[int] | None,
) -> None:
    rollup.gather_activity(entity.pk, period, scope, facts)
    for partner_id, overruns in cap_overruns(partners, period).items():
        facts.setdefault(partner_id, f.PartnerFacts(partner_id)).cap_overruns = overruns


def _already_invoiced(partners: Sequence[Partner], period: Period) -> set[int]:
    """The partners that have an active run document of exactly this period."""
    if not partners:
        return set()
    wanted = {p.pk for p in partners}
    which: dict[str, object] = (
        {"entity_id": partners[0].entity_id} if len(partners) > f.PARTNER_LIST_MAX else {"partner_id__in": wanted}
    )
    return wanted & set(
        Invoice.objects.filter(PERIOD_DOCUMENT, **which, period_start=period.start, period_end=period.end)
        .exclude(status=Status.VOID)
        .values_list("partner_id", flat=True)
    )


# --- issue -----------------------------------------------------------------------------


@dataclass
class RunResult:
    run: InvoiceRun
    issued: list[Invoice] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    held: dict[str, list[str]] = field(default_factory=dict)  # safety bounds: partner code -> reasons, not issued


def invoice_run_issue(
    *,
    actor: str,
    entity: Entity,
    period: Period,
    partners: Sequence[str] | None = None,
    issue_date: date | None = None,
    batch_size: int = 2000,
    draft: bool = False,
    allow_open_period: bool = False,
    run: InvoiceRun | None = None,
) -> RunResult:
    """Issue one document per partner with billable activity in the period.

    Partners are issued in batches, each batch in one transaction. If a batch fails
    (a concurrent run issued one of its partners, a constraint, a bug), it is rolled
    back whole and its partners are retried one transaction each, so one partner's
    failure leaves nothing partial and does not stop the others.

    With `draft=True` the documents are written as drafts for review: their leads,
    credits and adjustments are reserved, but they get no number and no issue date
    until `invoice_issue` (or `invoices_issue_drafts`) issues them.

    `run` is a run `invoice_run_start` queued; its summary shows progress batch by batch.
    """
    check_period_ended(entity, period, allow_open_period)
    issue_date = issue_date or today_in(entity)
    todo = run_partners(entity, partners)
    whole = partners is None and len(todo) <= batch_size
    if run is None:
        runs_mark_stale(timezone.now(), entity=entity)  # a killed run of this period is failed, not left running
        with transaction.atomic():
            run = InvoiceRun.objects.create(
                entity=entity, period_key=period.key, period_start=period.start, period_end=period.end,
                mode="issue", actor=actor, progress_at=timezone.now(),
            )  # fmt: skip
            audit_record(actor=actor, action="invoice_run.started", obj=run, entity=entity, period=period.key)
    result = RunResult(run)
    _progress(run, 0, len(todo))
    for i in range(0, len(todo), batch_size):
        batch = todo[i : i + batch_size]
        _issue_chunk(actor, entity, period, batch, run, issue_date, whole=whole, draft=draft, result=result)
        _progress(run, min(i + batch_size, len(todo)), len(todo))
    with transaction.atomic():
        run.finished_at = timezone.now()
        run.summary = {
            "period": period.key,
            "issued": [inv.number for inv in result.issued if inv.number],
            "drafts": [inv.pk for inv in result.issued if inv.status == Status.DRAFT],
            "skipped_already_invoiced": result.skipped,
            "failures": result.failures,
            "held": result.held,
            "total_minor_by_currency": _totals_by_currency(result.issued),
            "progress": {"done": len(todo), "total": len(todo)},
        }
        run.save(update_fields=["finished_at", "summary"])
        audit_record(
            actor=actor, action="invoice_run.finished", obj=run, entity=entity,
            issued=len(result.issued), failures=len(result.failures),
        )  # fmt: skip
    return result


def _issue_chunk(
    actor: str, entity: Entity, period: Period, batch: list[Partner], run: InvoiceRun, issue_date: date, *,
    whole: bool = False, draft: bool = False, result: RunResult,
) -> None:  # fmt: skip
    """Issue a batch in one transaction; if it fails, each partner in its own, so one failure stops no other."""
    held: dict[str, list[str]] = {}
    try:
        issued, skipped = _issue_batch(actor, entity, period, batch, run, issue_date, whole=whole, draft=draft,
                                       held=held)  # fmt: skip
    except Exception:
        issued, skipped, held = [], [], {}
        for partner in batch:
            try:
                one, skip = _issue_alone(actor, entity, period, partner, run, issue_date, draft=draft, held=held)
            except IntegrityError as exc:
                if _already_invoiced([partner], period):
                    skipped.append(partner.code)
                else:
                    logger.exception("run %s: partner %s refused by the database", run.pk, partner.code)
                    result.failures[partner.code] = f"database refused: {exc}"
            except Exception as exc:
                logger.exception("run %s: partner %s not issued", run.pk, partner.code)
                result.failures[partner.code] = f"{type(exc).__name__}: {exc}"
            else:
                issued += one
                skipped += skip
    result.issued += issued
    result.skipped += skipped
    result.held.update(held)


CONTENTION_TRIES = 3  # a partner that loses a deadlock this many times in a row is reported, not retried


def _issue_alone(
    actor: str, entity: Entity, period: Period, partner: Partner, run: InvoiceRun, issue_date: date, *,
    draft: bool, held: dict[str, list[str]],
) -> tuple[list[Invoice], list[str]]:  # fmt: skip
    """One partner in its own transaction, tried again when the database refused it for contention.

    A concurrent import counting late leads can deadlock with the run's summary update (its
    `UPDATE … FROM` cannot take rows in key order); the loser is rolled back whole, so it is
    simply issued again, after a moment, instead of being reported as failed.
    """
    for attempt in range(1, CONTENTION_TRIES + 1):
        try:
            return _issue_batch(actor, entity, period, [partner], run, issue_date, draft=draft, held=held)
        except OperationalError as exc:
            if not transient(exc) or attempt == CONTENTION_TRIES:
                raise
            logger.warning("run %s: partner %s met contention (%s); trying again", run.pk, partner.code, exc)
            time.sleep(0.05 * attempt + random.random() / 10)  # spread, not secrecy
    raise AssertionError("unreachable")


def invoice_run_issue_partners(
    *, run: InvoiceRun, partners: list[Partner], issue_date: date | None = None
) -> RunResult:
    """One worker's share of a background run (`invoicing.tasks`): issue these partners of the run."""
    entity = run.entity
    period = run_period(run)
    result = RunResult(run)
    _issue_chunk(run.actor, entity, period, partners, run, issue_date or today_in(entity), draft=run.draft,
                 result=result)  # fmt: skip
    return result


def run_period(run: InvoiceRun) -> Period:
    from leadbill.domain import periods

    return periods.parse(run.period_key, run.entity.timezone)


def check_period_ended(entity: Entity, period: Period, allow_open_period: bool, *, document: str = "invoice") -> None:
    """Issue (or pay out) only periods that are over, unless told otherwise: late deliveries would be missed."""
    if period.timezone != entity.timezone:
        raise DomainError(f"period must be in the entity's time zone {entity.timezone}", field="period")
    if period.end > timezone.now() and not allow_open_period:
        raise DomainError(
            f"{period.label()} has not ended yet (it ends {period.end.astimezone(zone(entity.timezone)):%Y-%m-%d %H:%M} "
            f"{entity.timezone}); deliveries still arriving would go to the next {document}. "
            "Preview it now, or allow an open period explicitly.",
            field="period",
        )


def _progress(run: InvoiceRun, done: int, total: int) -> None:
    """Partners handled so far, for the console's progress bar (its own tiny write), and the run's sign of life."""
    run.summary = {**run.summary, "progress": {"done": done, "total": total}}
    InvoiceRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(
        summary=run.summary, progress_at=timezone.now()
    )


# --- stale runs ---------------------------------------------------------------------------------


def stale_after() -> timedelta:
    """How long an unfinished run may go without progress before it is stale (LEADBILL_STALE_RUN_MINUTES)."""
    from django.conf import settings

    return timedelta(minutes=int(getattr(settings, "LEADBILL_STALE_RUN_MINUTES", 30)))


def runs_stale(now: datetime, *, entity: Entity | None = None) -> list[int]:
    """Unfinished issue runs with no progress for `stale_after()`: their process was killed or lost.

    Progress is the run's own `progress_at` (written with every batch or chunk), the last item a
    worker finished, or else its start.
    """
    runs = InvoiceRun.objects.filter(finished_at__isnull=True, mode="issue", started_at__lt=now - stale_after())
    if entity is not None:
        runs = runs.filter(entity=entity)
    last = Greatest(Coalesce("progress_at", "started_at"), Coalesce(Max("items__finished_at"), "started_at"))
    return list(
        runs.annotate(last=last).filter(last__lt=now - stale_after()).order_by("pk").values_list("pk", flat=True)
    )


def runs_mark_stale(now: datetime, *, entity: Entity | None = None) -> list[InvoiceRun]:
    """Mark stale runs failed, in one transaction with an audit row each; return them.

    What a stale run issued stays issued (each batch committed whole); its pending partners
    are marked failed. Running the period again finishes it: issue skips partners already
    invoiced. The update is conditional, so a run that finishes meanwhile is left alone.
    """
    stale = runs_stale(now, entity=entity)
    if not stale:
        return []
    minutes = int(stale_after().total_seconds() // 60)
    error = f"no progress for {minutes} minutes (the process was stopped); run the period again to finish it"
    marked = []
    with transaction.atomic():
        for run in InvoiceRun.objects.select_for_update().select_related("entity").filter(pk__in=stale).order_by("pk"):
            if run.finished_at is not None:
                continue
            invoices = Invoice.objects.filter(run=run)
            failures = dict(run.summary.get("failures") or {})
            for code in InvoiceRunItem.objects.filter(run=run, state=ItemState.PENDING).values_list(
                "partner__code", flat=True
            ):
                failures[code] = "not issued: the run went stale"
            summary = {
                **run.summary,
                "status": "failed",
                "stale": True,
                "error": error,
                "period": run.period_key,
                "issued": list(invoices.exclude(number=None).order_by("sequence").values_list("number", flat=True)),
                "drafts": list(invoices.filter(status=Status.DRAFT).order_by("pk").values_list("pk", flat=True)),
                "failures": failures,
            }
            if "queued" in summary:  # a background run: no longer waiting for a worker
                summary["queued"] = False
            InvoiceRunItem.objects.filter(run=run, state=ItemState.PENDING).update(
                state=ItemState.FAILED, error="the run went stale", finished_at=now
            )
            run.finished_at, run.summary = now, summary
            run.save(update_fields=["finished_at", "summary"])
            audit_record(actor="system:stale-runs", action="invoice_run.failed_stale", obj=run, entity=run.entity,
                         period=run.period_key, started_at=run.started_at.isoformat(), issued=len(summary["issued"]),
                         minutes=minutes)  # fmt: skip
            logger.warning("run %s (%s) marked failed: %s", run.pk, run.period_key, error)
            marked.append(run)
    return marked


def invoice_run_start(
    *, actor: str, entity: Entity, period: Period, draft: bool = False, send_email: bool = False,
    scope: dict[str, object] | None = None,
) -> InvoiceRun:  # fmt: skip
    """Queue an issue run as background work (inline by default); its page follows the progress.

    The run fans out: a coordinating task lists the partners (`InvoiceRunItem`) and queues
    them in chunks, so several workers share one run (`leadbill.invoicing.tasks`).
    """
    from leadbill.background import task_named
    from leadbill.engine.kick import enqueue_on_commit

    invoice_run_task = task_named("invoice_run_task")

    check_period_ended(entity, period, allow_open_period=False)
    runs_mark_stale(timezone.now(), entity=entity)
    with transaction.atomic():
        run = InvoiceRun.objects.create(
            entity=entity, period_key=period.key, period_start=period.start, period_end=period.end,
            mode="issue", actor=actor, draft=draft, send_email=send_email and not draft, scope=scope,
            progress_at=timezone.now(),
            summary={"queued": True, "draft": draft, "progress": {"done": 0, "total": None}},
        )  # fmt: skip
        audit_record(actor=actor, action="invoice_run.started", obj=run, entity=entity, period=period.key,
                     draft=draft, send_email=run.send_email)  # fmt: skip
        enqueue_on_commit(invoice_run_task, run.pk)
    return run


def _totals_by_currency(invoices: Sequence[Invoice]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for inv in invoices:
        totals[inv.currency] = totals.get(inv.currency, 0) + inv.total_minor
    return totals


def _issue_batch(
    actor: str,
    entity: Entity,
    period: Period,
    partners: list[Partner],
    run: InvoiceRun,
    issue_date: date,
    *,
    whole: bool = False,
    draft: bool = False,
    held: dict[str, list[str]] | None = None,
) -> tuple[list[Invoice], list[str]]:
    """Issue a batch in one transaction; partners the safety bounds hold back go to `held` instead."""
    with transaction.atomic():
        done = _already_invoiced(partners, period)
        skipped = [p.code for p in partners if p.pk in done]
        partners = [p for p in partners if p.pk not in done]
        ids = [p.pk for p in partners]
        if not ids:
            return [], skipped
        # A batch holding every buyer of the entity scans without a partner list.
        scope = None if whole and not done else ids
        try:
            # A savepoint: after a database error (a deadlock aborts the transaction) it is rolled back
            # to here, so the drop below runs and the error that reaches the caller is the real one.
            with transaction.atomic():
                f.tune_for_run()
                over = over_cap_of(entity, period, partners)
                f.mark_over_cap(over.ids)
                facts = f.materialise_billable(entity.pk, period, scope, over)
                _add_activity(entity, period, partners, facts, scope)
                drafts = _drafts(entity, period, partners, facts, lock=True)
                drafts = [d for d in drafts if d.draft.lines]
                drafts = _hold_back(drafts, held)
                invoices = _persist(actor, entity, period, drafts, run, issue_date, draft=draft)
        finally:
            f.drop_temp_tables()
    return invoices, skipped


def _hold_back(drafts: list[PartnerDraft], held: dict[str, list[str]] | None) -> list[PartnerDraft]:
    """The drafts that may be issued; the held ones are named in `held` (released: `invoicing.bounds`)."""
    if held is not None:
        held.update({d.partner.code: d.held for d in drafts if d.held})
    return [d for d in drafts if not d.held]


def _persist(
    actor: str,
    entity: Entity,
    period: Period,
    drafts: list[PartnerDraft],
    run: InvoiceRun | None,
    issue_date: date,
    *,
    draft: bool = False,
) -> list[Invoice]:
    """Number, write and allocate a batch of drafts inside the caller's transaction."""
    if not drafts:
        return []
    numbers: dict[str, tuple[str, int]] = {}
    for series in sorted({SERIES_OF_KIND[Kind(d.kind)] for d in drafts}):
        count = sum(1 for d in drafts if SERIES_OF_KIND[Kind(d.kind)] == series)
        numbers[series] = ("", 0) if draft else allocate_numbers(entity.pk, series, count)
    now = timezone.now()
    seller = seller_snapshot(entity)
    invoices = []
    offsets = dict.fromkeys(numbers, 0)
    for pd in drafts:
        series = SERIES_OF_KIND[Kind(pd.kind)]
        prefix, first = numbers[series]
        sequence = first + offsets[series]
        offsets[series] += 1
        inv = _invoice_from(entity, pd, period, run, issue_date, now, series, prefix, sequence, seller)
        if draft:
            _make_draft(inv)
        invoices.append(inv)
    bulk_insert(invoices)
    lines: list[InvoiceLine] = []
    for inv, pd in zip(invoices, drafts, strict=True):
        lines += _lines_from(inv, pd.draft.lines)
    bulk_insert(lines)
    by_invoice: dict[int, list[InvoiceLine]] = {}
    for line in lines:
        by_invoice.setdefault(line.invoice_id, []).append(line)
    bands = []
    for inv, pd in zip(invoices, drafts, strict=True):
        bands += _bands_for(inv, pd, by_invoice[inv.pk])
    if bands:
        f.allocate_billed_leads(bands)
        _check_allocation(invoices, lines)
    left_out = f.exclude_over_cap(
        {inv.partner_id: inv.pk for inv, pd in zip(invoices, drafts, strict=True) if pd.facts.excluded}
    )
    if bands or left_out:  # the leads just billed or left out are no longer open
        summary.record_issue(entity.pk, f.TMP_ALLOC if bands else None, f.TMP_BILLABLE, excluded=bool(left_out))
    _record_credits(invoices, drafts, by_invoice)
    _link_adjustments(invoices, drafts)
    if not draft:
        _book_issued(actor, invoices, period)
    audit_record_many(
        [
            audit_event(
                actor=actor, action=f"{inv.kind}.{'drafted' if draft else 'issued'}", obj=inv, entity=entity,
                number=inv.number,
                total_minor=inv.total_minor, currency=inv.currency, period=period.key,
            )
            for inv in invoices
        ]
    )  # fmt: skip
    return invoices


def _book_issued(actor: str, invoices: Sequence[Invoice], period: Period | None) -> None:
    """Put newly issued run documents on the partners' accounts: the one way, whether a run issues
    them at once or a draft of it is issued later (`invoice_issue`).

    A receipt is booked against the prepay balance, an invoice opens a receivable, a credit note
    (the period netted negative) settles the invoices it corrects, each its share, as a standalone
    credit note does (`_apply_credit_note`), the rest is credit on account; then credit is applied
    where the entity applies it automatically.
    """
    _book_receipts(actor, invoices, period)
    ledger.open_entries(invoices, actor=actor)
    for note in (inv for inv in invoices if inv.kind == Kind.CREDIT_NOTE):
        if not note.partner.is_prepay:
            left = _apply_credit_note(actor, note)  # first on the invoices it corrects, as any credit note
            if left > 0:
                ledger.credit_entries(actor=actor, partner=note.partner, currency=note.currency,
                                      kind=EntryKind.CREDIT_NOTE, amount_minor=left, target=None,
                                      occurred_on=note.issue_date, document=note)  # fmt: skip
    partners = list({inv.partner_id: inv.partner for inv in invoices}.values())
    ledger.apply_automatically(actor=actor, partners=partners,
                               currency_of={inv.partner_id: inv.currency for inv in invoices})  # fmt: skip


def issued_status(kind: str, total_minor: int) -> str:
    """What a document is the moment it is issued: a receipt is settled from the prepay balance; an
    invoice is what its ledger says with nothing settled yet (`domain.receivables.status_of`), so one
    that owes nothing (its credits cancel its charges) is paid; a credit note is issued."""
    if kind == Kind.RECEIPT:
        return Status.PAID
    if kind == Kind.INVOICE:
        return receivables_rules.status_of(total=total_minor, open_minor=total_minor, written_off=0, void=False)
    return Status.ISSUED


def _invoice_from(
    entity: Entity, pd: PartnerDraft, period: Period | None, run: InvoiceRun | None, issue_date: date,
    now: datetime, series: str, prefix: str, sequence: int, seller: dict[str, object] | None = None,
) -> Invoice:  # fmt: skip
    partner, draft = pd.partner, pd.draft
    terms = partner.payment_terms()
    is_bill = pd.kind == Kind.INVOICE
    return Invoice(
        entity=entity,
        partner=partner,
        run=run,
        kind=pd.kind,
        status=issued_status(pd.kind, pd.draft.total_minor),
        series=series,
        sequence=sequence,
        number=format_number(prefix, sequence),
        period_key=period.key if period else "",
        period_start=period.start if period else None,
        period_end=period.end if period else None,
        period_first_day=period.first_day if period else None,
        period_last_day=period.last_day if period else None,
        issue_date=issue_date,
        due_date=issue_date + timedelta(days=terms) if is_bill else None,
        currency=draft.currency,
        subtotal_minor=draft.subtotal_minor,
        tax_minor=draft.tax_minor,
        total_minor=draft.total_minor,
        paid_minor=draft.total_minor if pd.kind == Kind.RECEIPT else 0,
        taxes=[{"rate": str(t.rate), "net_minor": t.net_minor, "tax_minor": t.tax_minor} for t in draft.taxes],
        leads_billed=draft.leads_billed,
        leads_returned=draft.leads_credited + pd.facts.returned_unbilled,
        payment_terms_days=terms if is_bill else None,
        opening_balance_minor=pd.opening_balance_minor,
        topups_minor=pd.topups_minor,
        closing_balance_minor=pd.closing_balance_minor,
        seller=seller if seller is not None else seller_snapshot(entity),
        buyer=buyer_snapshot(partner),
        notes=pd.anomalies,
        issued_at=now,
    )


def _make_draft(inv: Invoice) -> None:
    """A document for review: everything but its number, dates and settlement."""
    inv.status = Status.DRAFT
    inv.sequence = inv.number = inv.issue_date = inv.due_date = inv.issued_at = None
    inv.paid_minor = 0


def _lines_from(inv: Invoice, lines: Sequence[generation.DraftLine]) -> list[InvoiceLine]:
    out = []
    for position, line in enumerate(lines, start=1):
        out.append(
            InvoiceLine(
                invoice_id=inv.pk,
                position=position,
                kind=line.kind,
                description=line.description[:300],
                quantity=line.quantity,
                unit_price_micros=line.unit_price_micros,
                amount_minor=line.amount_minor,
                tax_rate_bp=int(line.tax_rate * 100),
                scope=line.scope or "",
                bucket=line.bucket or "",
                plan_id=line.version_id,
                rank_from=line.rank_from,
                rank_to=line.rank_to,
            )
        )
    return out


def _bands_for(inv: Invoice, pd: PartnerDraft, lines: list[InvoiceLine]) -> list[f.BandRow]:
    """Map each usage line back to the SQL group and rank range its leads come from.

    SQL ranks start at 1 per plan version of a (scope, bucket); the draft's ranks run on
    across versions and after the leads already billed. A version's first band starts at
    its first rank, so the smallest `rank_from` of its lines gives the offset.
    """
    groups = {(g.scope, g.bucket_key, g.plan_id): g for g in pd.facts.groups}
    offsets: dict[tuple[str, str, int], int] = {}
    for line in lines:
        if line.rank_from is not None and line.plan_id is not None:
            key = (line.scope, line.bucket, line.plan_id)
            offsets[key] = min(offsets.get(key, line.rank_from), line.rank_from)
    divisor = micros_divisor(inv.currency)
    bands = []
    # Lines are written in the draft's order (`_lines_from`): the draft line says a delivered-price
    # line's price range.
    for line, drafted in zip(lines, pd.draft.lines, strict=True):
        if line.rank_from is None or line.rank_to is None or line.plan_id is None:
            continue
        key = (line.scope, line.bucket, line.plan_id)
        g = groups[key]
        bands.append(
            f.BandRow(
                g.partner_id, g.scope_profile, g.scope_type, g.bucket_invoice, g.plan_id, offsets[key] - 1,
                line.rank_from, line.rank_to, line.unit_price_micros, divisor, line.pk, inv.pk,
                over_cap=g.over_cap, price_low=drafted.price_low_micros, price_high=drafted.price_high_micros,
            )
        )  # fmt: skip
    return bands


def _check_allocation(invoices: Sequence[Invoice], lines: Sequence[InvoiceLine]) -> None:
    totals = f.line_totals([inv.pk for inv in invoices])
    for line in lines:
        if line.rank_from is None:
            continue
        got = totals.get(line.pk, (0, 0))
        if got != (line.quantity, line.amount_minor):
            raise AllocationMismatch(
                f"line {line.position} of invoice {line.invoice_id}: {got[0]} leads / {got[1]} allocated, "
                f"expected {line.quantity} / {line.amount_minor}"
            )


def _record_credits(
    invoices: Sequence[Invoice], drafts: Sequence[PartnerDraft], by_invoice: dict[int, list[InvoiceLine]]
) -> None:
    rows = []
    for inv, pd in zip(invoices, drafts, strict=True):
        if not pd.credits:
            continue
        credit_lines = [line for line in by_invoice[inv.pk] if line.kind == generation.RETURN_CREDIT]
        # Credit lines are one per lead type, in lead-type id order (drafting.return_credits).
        by_type: dict[int, list] = {}
        for credit in pd.credits:
            by_type.setdefault(credit.lead_type_id, []).append(credit)
        for line, (_, credits) in zip(credit_lines, sorted(by_type.items()), strict=True):
            rows += [
                CreditedLead(
                    delivery_id=c.delivery_id, ret_id=c.return_id, billed_id=c.billed_id,
                    invoice_id=inv.pk, line_id=line.pk, amount_minor=c.amount_minor,
                )
                for c in credits
            ]  # fmt: skip
    CreditedLead.objects.bulk_create(rows)


def _link_adjustments(invoices: Sequence[Invoice], drafts: Sequence[PartnerDraft]) -> None:
    for inv, pd in zip(invoices, drafts, strict=True):
        if pd.adjustments:
            Adjustment.objects.filter(pk__in=[a.pk for a in pd.adjustments], invoice__isnull=True).update(invoice=inv)


def _book_receipts(actor: str, invoices: Sequence[Invoice], period: Period | None) -> None:
    """A receipt's purchases are booked against the balance at the last instant of its period."""
    entries = [
        LedgerEntry(
            entity_id=inv.entity_id, partner_id=inv.partner_id, kind=LedgerKind.RECEIPT,
            amount_minor=-inv.total_minor, currency=inv.currency, invoice=inv, reference=inv.number or "",
            occurred_at=(period.end - timedelta(microseconds=1)) if period else inv.issued_at, created_by=actor,
        )
        for inv in invoices
        if inv.kind == Kind.RECEIPT
    ]  # fmt: skip
    LedgerEntry.objects.bulk_create(entries)
    if entries:
        from leadbill.mailing.services import low_balance_check

        low_balance_check(actor=actor, partners=[inv.partner for inv in invoices if inv.kind == Kind.RECEIPT])


# --- drafts: issue or discard ------------------------------------------------------------


def invoice_issue(*, actor: str, invoice: Invoice, issue_date: date | None = None) -> Invoice:
    """Issue a draft: number it, date it, freeze the parties' details as they are now."""
    with transaction.atomic():
        inv = _locked(invoice)
        if inv.status != Status.DRAFT:
            raise StateError(f"{inv.number or inv.pk} is {inv.status}; only drafts are issued")
        entity, partner = inv.entity, inv.partner
        prefix, sequence = allocate_numbers(entity.pk, inv.series)
        inv.sequence, inv.number = sequence, format_number(prefix, sequence)
        inv.issue_date = issue_date or today_in(entity)
        inv.due_date = (
            inv.issue_date + timedelta(days=inv.payment_terms_days or 0) if inv.kind == Kind.INVOICE else None
        )
        inv.status = issued_status(inv.kind, inv.total_minor)
        inv.paid_minor = inv.total_minor if inv.kind == Kind.RECEIPT else 0
        inv.issued_at = timezone.now()
        inv.seller, inv.buyer = seller_snapshot(entity), buyer_snapshot(partner)
        period = _period_of(inv)
        if inv.kind == Kind.RECEIPT and period is not None:
            from leadbill.invoicing.drafting import prepay_figures

            inv.opening_balance_minor, inv.topups_minor, inv.closing_balance_minor = prepay_figures(
                partner, period, inv.total_minor
            )
        inv.save()
        _book_issued(actor, [inv], period)
        audit_record(actor=actor, action=f"{inv.kind}.issued", obj=inv, number=inv.number,
                     total_minor=inv.total_minor, from_draft=True)  # fmt: skip
        invoice.refresh_from_db()
        return inv


def manual_invoice_create(
    *,
    actor: str,
    partner: Partner,
    period: Period,
    lines: Sequence[generation.ManualLine],
    issue: bool = False,
    issue_date: date | None = None,
) -> Invoice:
    """An invoice of typed lines for one partner and a service period (a set-up fee, a correction).

    Written as a draft, then issued (now, with `issue`, or later) by `invoice_issue`, the same
    path as a run's drafts: the number is allocated and the parties' details frozen at issue,
    and the e-invoices render from that snapshot. A manual invoice is not the partner's period
    invoice: it bills no deliveries and does not stop the period's run (`manual`, and no
    period instants, so the one-invoice-per-period rule leaves it alone).
    """
    if not partner.is_buyer:
        raise DomainError(f"{partner.code} is not a buyer; invoices are for buyers", field="partner")
    if period.timezone != partner.entity.timezone:
        raise DomainError(f"period must be in the entity's time zone {partner.entity.timezone}", field="period")
    lines = [replace(line, description=field_text(line.description, field=f"lines[{i}].description",
                                                  max_length=300)) for i, line in enumerate(lines)]  # fmt: skip
    draft = generation.manual_draft(currency=partner.currency, lines=lines)
    with transaction.atomic():
        partner = Partner.objects.select_for_update().select_related("entity").get(pk=partner.pk)
        entity = partner.entity
        terms = partner.payment_terms()
        inv = Invoice.objects.create(
            entity=entity, partner=partner, kind=Kind.INVOICE, status=Status.DRAFT, series=INVOICE_SERIES,
            manual=True, period_key=period.key, period_first_day=period.first_day, period_last_day=period.last_day,
            currency=draft.currency, subtotal_minor=draft.subtotal_minor, tax_minor=draft.tax_minor,
            total_minor=draft.total_minor,
            taxes=[{"rate": str(t.rate), "net_minor": t.net_minor, "tax_minor": t.tax_minor} for t in draft.taxes],
            payment_terms_days=terms, seller=seller_snapshot(entity), buyer=buyer_snapshot(partner),
        )  # fmt: skip
        InvoiceLine.objects.bulk_create(_lines_from(inv, draft.lines))
        audit_record(actor=actor, action="invoice.drafted", obj=inv, entity=entity, manual=True,
                     partner=partner.code, period=period.key, lines=len(draft.lines),
                     total_minor=inv.total_minor, currency=inv.currency)  # fmt: skip
        if issue:
            inv = invoice_issue(actor=actor, invoice=inv, issue_date=issue_date)
    return inv


def invoices_issue_drafts(
    *, actor: str, entity: Entity, period: Period | None = None, issue_date: date | None = None
) -> list[Invoice]:
    """Issue every draft of the entity (of one period if given), in partner order."""
    drafts = Invoice.objects.filter(entity=entity, status=Status.DRAFT).select_related("partner")
    if period is not None:
        drafts = drafts.filter(period_start=period.start, period_end=period.end)
    return [
        invoice_issue(actor=actor, invoice=d, issue_date=issue_date) for d in drafts.order_by("partner__code", "pk")
    ]


def invoice_discard(*, actor: str, invoice: Invoice) -> None:
    """Throw a draft away: its leads, credits and adjustments are free to be billed again."""
    with transaction.atomic():
        inv = _locked(invoice)
        if inv.status != Status.DRAFT:
            raise StateError(f"{inv.number} is {inv.status}; issued documents are voided, not discarded")
        audit_record(actor=actor, action=f"{inv.kind}.draft_discarded", obj=inv, partner=inv.partner.code,
                     period=inv.period_key, total_minor=inv.total_minor)  # fmt: skip
        tz = inv.entity.timezone
        days = summary.touched_days(tz, summary.INVOICE_LEADS, [inv.pk, inv.pk])
        BilledLead.objects.filter(invoice=inv).delete()
        ExcludedLead.objects.filter(invoice=inv).delete()
        summary.refresh_days(inv.entity_id, tz, days)  # its leads are open again
        CreditedLead.objects.filter(invoice=inv).delete()
        Adjustment.objects.filter(invoice=inv).update(invoice=None)
        inv.lines.all().delete()
        inv.delete()


def _period_of(inv: Invoice) -> Period | None:
    """The document's period as it was billed: from its key, which keeps a billing window's times
    (Friday 18:00 to Friday 18:00); whole days only for a document whose key does not say."""
    if inv.period_key:
        try:
            period = parse_period(inv.period_key, inv.entity.timezone)
        except DomainError:
            period = None
        if period is not None and (period.start, period.end) == (inv.period_start, inv.period_end):
            return period
    if inv.period_first_day is None or inv.period_last_day is None:
        return None
    return Period(inv.period_first_day, inv.period_last_day + timedelta(days=1), inv.entity.timezone)


# --- after issue: payments, voids, credit notes, adjustments, top-ups ------------------


def _locked(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().select_related("entity", "partner").get(pk=invoice.pk)


def payment_record(*, actor: str, invoice: Invoice, amount_minor: int, paid_on: date, reference: str = "") -> Payment:
    """Record a full or partial payment against an invoice; what exceeds its open amount is credit on account."""
    with transaction.atomic():
        inv = _locked(invoice)
        if inv.kind != Kind.INVOICE:
            raise StateError(f"{inv.number} is a {inv.get_kind_display().lower()}; only invoices are paid")
        if inv.status not in OPEN_STATUSES:
            raise StateError(f"{inv.number} is {inv.get_status_display().lower()}; only open invoices take payments")
        if amount_minor <= 0:
            raise DomainError("a payment must be positive", field="amount")
        reference = field_text(reference, field="reference", max_length=200)
        payment = Payment.objects.create(
            invoice=inv, amount_minor=amount_minor, paid_on=paid_on, reference=reference, recorded_by=actor
        )
        entries = ledger.credit_entries(
            actor=actor, partner=inv.partner, currency=inv.currency, kind=EntryKind.PAYMENT,
            amount_minor=amount_minor, target=inv, occurred_on=paid_on, payment=payment, reason=reference,
        )  # fmt: skip
        on_account = -sum(e.amount_minor for e in entries if e.invoice_id is None)
        audit_record(
            actor=actor, action="payment.recorded", obj=inv, number=inv.number, amount_minor=amount_minor,
            paid_on=paid_on.isoformat(), reference=reference, status=inv.status, on_account_minor=on_account,
        )  # fmt: skip
        if on_account:
            ledger.apply_automatically(actor=actor, partners=[inv.partner], currency_of={inv.partner_id: inv.currency})
        invoice.refresh_from_db()
        return payment


VOID_LEADS = ("rebill", "cancel")


@dataclass(frozen=True)
class PaymentItem:
    """One payment of a batch (a bank statement): which invoice, how much, when, with which reference."""

    invoice_id: int
    amount_minor: int
    paid_on: date
    reference: str = ""


def payments_record_many(*, actor: str, items: Sequence[PaymentItem]) -> list[Payment]:
    """Record many payments in one transaction, with the same rules as `payment_record`.

    Why: a bank statement of 10,000 credits recorded one by one costs ~12 queries each. Here the
    invoices are locked in one query (in id order, as every other writer locks them), the
    payments, ledger entries and audit rows are written in bulk, and each touched invoice's
    status is set once. Any refused item refuses the whole batch (the caller falls back to
    recording one by one, so a bad line costs only itself).
    """
    if not items:
        return []
    from leadbill.domain import receivables as r
    from leadbill.receivables.models import Entry
    from leadbill.receivables.selectors import open_by_invoice

    with transaction.atomic():
        ids = sorted({item.invoice_id for item in items})
        invoices = {inv.pk: inv for inv in Invoice.objects.select_for_update().filter(pk__in=ids)
                    .select_related("entity", "partner").order_by("pk")}  # fmt: skip
        for item in items:
            inv = invoices.get(item.invoice_id)
            if inv is None or inv.kind != Kind.INVOICE:
                raise StateError(f"document {item.invoice_id} is not an invoice; only invoices are paid")
            if inv.status not in OPEN_STATUSES:
                raise StateError(
                    f"{inv.number} is {inv.get_status_display().lower()}; only open invoices take payments"
                )
            if item.amount_minor <= 0:
                raise DomainError("a payment must be positive", field="amount")
        payments = [
            Payment(invoice=invoices[item.invoice_id], amount_minor=item.amount_minor, paid_on=item.paid_on,
                    reference=field_text(item.reference, field="reference", max_length=200), recorded_by=actor)
            for item in items
        ]  # fmt: skip
        bulk_insert(payments)
        opens = open_by_invoice(ids)
        entries: list[Entry] = []
        with_credit: dict[int, Partner] = {}
        status_after: list[str] = []  # each payment's audit row says the status it left (one "paid" per invoice)
        for payment in payments:
            inv = payment.invoice
            split = r.split_credit(payment.amount_minor, opens.get(inv.pk, 0))
            opens[inv.pk] = opens.get(inv.pk, 0) - split.applied
            inv.paid_minor += split.applied
            status_after.append(r.status_of(total=inv.total_minor, open_minor=opens[inv.pk], written_off=0, void=False))
            for amount, target in ((split.applied, inv), (split.on_account, None)):
                if amount:
                    entries.append(Entry(entity_id=inv.entity_id, partner_id=inv.partner_id, currency=inv.currency,
                                         kind=EntryKind.PAYMENT, amount_minor=-amount, invoice=target, payment=payment,
                                         due_on=target.due_date if target else None,
                                         occurred_on=payment.paid_on, reason=payment.reference, created_by=actor))  # fmt: skip
            if split.on_account:
                with_credit[inv.partner_id] = inv.partner
        bulk_insert(entries)
        for inv in invoices.values():
            inv.status = r.status_of(total=inv.total_minor, open_minor=opens.get(inv.pk, 0), written_off=0, void=False)
        bulk_set(Invoice, ["status", "paid_minor"], [(i.pk, i.status, i.paid_minor) for i in invoices.values()])
        audit_record_many([
            audit_event(actor=actor, action="payment.recorded", obj=payment.invoice, number=payment.invoice.number,
                        amount_minor=payment.amount_minor, paid_on=payment.paid_on.isoformat(),
                        reference=payment.reference, status=status)
            for payment, status in zip(payments, status_after, strict=True)
        ])  # fmt: skip
        if with_credit:
            ledger.apply_automatically(actor=actor, partners=list(with_credit.values()),
                                       currency_of={i.partner_id: i.currency for i in invoices.values()})  # fmt: skip
    return payments


def invoice_void(
    *, actor: str, invoice: Invoice, reason: str, issue_date: date | None = None, leads: str = "rebill"
) -> Invoice:
    """Void an issued invoice or receipt: a credit note reverses it.

    `leads` says what voiding means: "rebill" (a correction: the leads are billed again on the
    next run, and the preview says they come back from this invoice) or "cancel" (they are not
    billable: they stay with the void invoice and no run bills them again).
    """
    if leads not in VOID_LEADS:
        raise DomainError("say whether the leads are re-billed (rebill) or not billable (cancel)", field="leads")
    reason = field_text(reason, field="reason", max_length=500)
    if not reason:
        raise DomainError("say why the document is voided", field="reason")
    with transaction.atomic():
        inv = _locked(invoice)
        if inv.kind == Kind.CREDIT_NOTE:
            raise StateError(f"{inv.number} is a credit note; credit notes are not voided")
        if inv.status == Status.DRAFT:
            raise StateError("a draft is discarded, not voided")
        voidable = OPEN_STATUSES if inv.kind == Kind.INVOICE else (Status.PAID,)
        if inv.kind == Kind.INVOICE and inv.total_minor == 0:
            voidable = (*OPEN_STATUSES, Status.PAID)  # owed nothing, so "paid" from the moment it was issued
        if inv.status not in voidable:
            raise StateError(
                f"{inv.number} is {inv.get_status_display().lower()}; only unpaid issued invoices can be voided"
            )
        if inv.paid_minor and inv.kind == Kind.INVOICE:
            raise StateError(f"{inv.number} has payments recorded; issue a credit note instead")
        if inv.kind == Kind.INVOICE and ledger.written_off_before(inv):
            raise StateError(f"{inv.number} was written off; issue a credit note instead")
        _refuse_credits_on_drafts(inv)
        note = _reversal_note(actor, inv, issue_date or today_in(inv.entity), reason)
        inv.status, inv.voided_at, inv.void_reason, inv.void_leads = Status.VOID, timezone.now(), reason, leads
        inv.save(update_fields=["status", "voided_at", "void_reason", "void_leads"])
        ledger.transfers_undo(actor=actor, document=inv, day=note.issue_date)
        if ledger.in_ledger(inv):  # the reversal settles what is open; credit already given goes on account
            ledger.credit_entries(
                actor=actor, partner=inv.partner, currency=inv.currency, kind=EntryKind.CREDIT_NOTE,
                amount_minor=inv.total_minor, target=inv, occurred_on=note.issue_date, document=note,
                reason=f"reverses {inv.number}",
            )  # fmt: skip
            # what the reversal frees beyond what was open (credit already given) is spent where due
            ledger.apply_automatically(actor=actor, partners=[inv.partner], currency_of={inv.partner_id: inv.currency})
        _recover_credits_given_elsewhere(actor, inv)
        if leads == "rebill":  # its over-cap leads are decided again too
            BilledLead.objects.filter(invoice=inv).update(voided=True)
            ExcludedLead.objects.filter(invoice=inv).update(voided=True)
            summary.refresh(inv.entity_id, inv.entity.timezone, summary.INVOICE_LEADS, [inv.pk, inv.pk])
        CreditedLead.objects.filter(invoice=inv).update(voided=True)
        Adjustment.objects.filter(invoice=inv).update(invoice=None)
        if inv.kind == Kind.RECEIPT:
            LedgerEntry.objects.create(
                entity=inv.entity, partner=inv.partner, kind=LedgerKind.REVERSAL, amount_minor=inv.total_minor,
                currency=inv.currency, invoice=note, reference=f"void {inv.number}", occurred_at=timezone.now(),
                created_by=actor,
            )  # fmt: skip
        audit_record(actor=actor, action=f"{inv.kind}.voided", obj=inv, number=inv.number, reason=reason,
                     credit_note=note.number, leads=leads)  # fmt: skip
        invoice.refresh_from_db()
        return note


def _refuse_credits_on_drafts(inv: Invoice) -> None:
    """A draft that credits `inv` is discarded before `inv` is voided (`selectors.drafts_crediting`).

    The draft's lines and totals were drafted with that credit; once `inv` is void the
    credit is for a charge that no longer stands. Discarding the draft first (the next run
    drafts it again without the credit) keeps every document true; taking the credit back
    with a debit instead would outlive the draft if it were then discarded.
    """
    names = drafts_crediting(inv)
    if names:
        raise StateError(f"{names} credits {inv.number}; discard {names} before voiding {inv.number}")


def _recover_credits_given_elsewhere(actor: str, inv: Invoice) -> None:
    """Leads of a voided invoice that were returned and credited on a later issued document.

    The credit note reverses every charge of the voided invoice, so those credits were
    given for charges that no longer stand: a debit adjustment takes them back on the
    partner's next document, naming the documents involved. (A draft carrying such a
    credit refuses the void: `_refuse_credits_on_drafts`.)
    """
    credited = (
        CreditedLead.objects.filter(billed__invoice=inv, voided=False)
        .exclude(invoice=inv)
        .exclude(invoice__status=Status.DRAFT)
        .select_related("invoice")
        .order_by("invoice__sequence")
    )
    by_document: dict[str, int] = {}
    for credit in credited:
        key = credit.invoice.number or f"draft-{credit.invoice_id}"
        by_document[key] = by_document.get(key, 0) + credit.amount_minor
    for number, amount in by_document.items():
        adjustment_create(
            actor=actor, partner=inv.partner, amount_minor=amount,
            reason=f"Credit on {number} for returned leads of {inv.number}, which is void",
        )  # fmt: skip


def _reversal_note(actor: str, inv: Invoice, issue_date: date, reason: str) -> Invoice:
    prefix, sequence = allocate_numbers(inv.entity_id, CREDIT_NOTE_SERIES)
    note = Invoice.objects.create(
        entity=inv.entity, partner=inv.partner, kind=Kind.CREDIT_NOTE, status=Status.ISSUED,
        series=CREDIT_NOTE_SERIES, sequence=sequence, number=format_number(prefix, sequence),
        period_key=inv.period_key, period_start=inv.period_start, period_end=inv.period_end,
        period_first_day=inv.period_first_day, period_last_day=inv.period_last_day, issue_date=issue_date,
        currency=inv.currency, subtotal_minor=-inv.subtotal_minor, tax_minor=-inv.tax_minor,
        total_minor=-inv.total_minor,
        taxes=[{**t, "net_minor": -t["net_minor"], "tax_minor": -t["tax_minor"]} for t in inv.taxes],
        leads_billed=0, leads_returned=0, corrects=inv, seller=inv.seller, buyer=inv.buyer,
        notes=[f"Reverses {inv.number}: {reason}"], issued_at=timezone.now(),
    )  # fmt: skip
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                invoice=note, position=line.position, kind=line.kind, description=line.description,
                quantity=line.quantity, unit_price_micros=line.unit_price_micros, amount_minor=-line.amount_minor,
                tax_rate_bp=line.tax_rate_bp, scope=line.scope, bucket=line.bucket, plan_id=line.plan_id,
            )
            for line in inv.lines.all()
        ]
    )  # fmt: skip
    audit_record(actor=actor, action="credit_note.issued", obj=note, number=note.number, corrects=inv.number,
                 total_minor=note.total_minor)  # fmt: skip
    return note


def credit_note_issue(
    *,
    actor: str,
    partner: Partner,
    issue_date: date | None = None,
    returns: bool = True,
    adjustments: bool = True,
) -> Invoice:
    """A standalone credit note now, for returns accepted after billing and/or open credit adjustments."""
    with transaction.atomic():
        partner = Partner.objects.select_for_update().select_related("entity").get(pk=partner.pk)
        entity = partner.entity
        credits = credits_due([partner.pk], lock=True).get(partner.pk, []) if returns else []
        adjs = [a for a in open_adjustments([partner.pk], lock=True).get(partner.pk, []) if a.amount_minor < 0]
        adjs = adjs if adjustments else []
        if not credits and not adjs:
            raise StateError(f"nothing to credit for {partner.code}: no returns or credit adjustments are open")
        catalog = Catalog(entity, [])
        draft = generation.generate(
            currency=partner.currency,
            tax_rate=rate_from_bp(partner.tax_rate()),
            credits=return_credits(credits, catalog.lead_types),
            adjustments=[generation.Adjustment(a.pk, a.amount_minor, a.reason) for a in adjs],
        )
        pd = PartnerDraft(partner, f.PartnerFacts(partner.pk), draft, Kind.CREDIT_NOTE, list(credits), list(adjs))
        prefix, sequence = allocate_numbers(entity.pk, CREDIT_NOTE_SERIES)
        issue_date = issue_date or today_in(entity)
        inv = _invoice_from(entity, pd, None, None, issue_date, timezone.now(), CREDIT_NOTE_SERIES, prefix, sequence)
        inv.save()
        lines = _lines_from(inv, draft.lines)
        InvoiceLine.objects.bulk_create(lines)
        _record_credits([inv], [pd], {inv.pk: lines})
        _link_adjustments([inv], [pd])
        left = _apply_credit_note(actor, inv)
        if left > 0 and partner.is_prepay:  # back to the prepay balance
            LedgerEntry.objects.create(
                entity=entity, partner=partner, kind=LedgerKind.REFUND, amount_minor=left, currency=inv.currency,
                invoice=inv, reference=inv.number or "", occurred_at=timezone.now(), created_by=actor,
            )  # fmt: skip
        elif left > 0:
            ledger.credit_entries(actor=actor, partner=partner, currency=inv.currency, kind=EntryKind.CREDIT_NOTE,
                                  amount_minor=left, target=None, occurred_on=inv.issue_date, document=inv)  # fmt: skip
            ledger.apply_automatically(actor=actor, partners=[partner], currency_of={partner.pk: inv.currency})
        audit_record(actor=actor, action="credit_note.issued", obj=inv, number=inv.number,
                     total_minor=inv.total_minor, returns=len(credits), adjustments=len(adjs))  # fmt: skip
        return inv


def _apply_credit_note(actor: str, note: Invoice) -> int:
    """Apply a credit note to what it corrects; returns what is left for the partner (not yet booked).

    Each invoice the note corrects (that billed its returned leads, or that a credit adjustment on
    it names) takes its own share of the note, oldest first: first what is open on it, then, if it
    was written off, the loss (never paid, so never refundable). One invoice's share never settles
    another's. What is left, with the share of adjustments that name no invoice, belongs to the
    partner. The note's credits are read as recorded (`_record_credits`, `_link_adjustments`): a
    standalone credit note and a run's (a period that netted negative) are applied alike; a run's
    charges and debits only make the total shared smaller.
    """
    shares = credit_note_shares(note)
    targets = Invoice.objects.in_bulk([k for k in shares if k is not None])
    left = shares.get(None, 0)
    for key, share in shares.items():
        if key is None:
            continue
        target = targets[key]
        if target.kind == Kind.INVOICE and target.status in OPEN_STATUSES:
            take = min(share, open_minor(target))
            if take > 0:
                ledger.credit_entries(actor=actor, partner=note.partner, currency=note.currency,
                                      kind=EntryKind.CREDIT_NOTE, amount_minor=take, target=target,
                                      occurred_on=note.issue_date, document=note)  # fmt: skip
                share -= take
        if target.kind == Kind.INVOICE and target.status == Status.WRITTEN_OFF and share > 0:
            share -= ledger.credit_written_off(actor=actor, invoice=target, amount_minor=share, document=note)
        left += share
    return left


def adjustment_create(
    *, actor: str, partner: Partner, amount_minor: int, reason: str, corrects: Invoice | None = None
) -> Adjustment:
    """A manual credit (negative) or debit (positive), billed on the partner's next document.

    `corrects`: the partner's issued invoice it corrects; a credit note that carries it is then
    applied to that invoice (a credit on the next invoice nets there, as any line).
    """
    if corrects is not None and (corrects.partner_id != partner.pk or corrects.kind != Kind.INVOICE
                                 or corrects.status == Status.DRAFT):  # fmt: skip
        raise DomainError(
            f"{corrects.number or 'a draft'} is not an issued invoice of {partner.code}", field="corrects"
        )
    if amount_minor == 0:
        raise DomainError("an adjustment cannot be zero", field="amount")
    reason = field_text(reason, field="reason", max_length=500)
    if not reason:
        raise DomainError("say why (it is printed on the invoice)", field="reason")
    with transaction.atomic():
        adj = Adjustment.objects.create(
            entity_id=partner.entity_id, partner=partner, amount_minor=amount_minor, currency=partner.currency,
            reason=reason.strip(), created_by=actor, corrects=corrects,
        )  # fmt: skip
        audit_record(actor=actor, action="adjustment.created", obj=adj, entity=partner.entity,
                     amount_minor=amount_minor, reason=reason,
                     corrects=corrects.number if corrects else None)  # fmt: skip
        return adj


def topup_record(
    *, actor: str, partner: Partner, amount_minor: int, occurred_at: datetime, reference: str = ""
) -> LedgerEntry:
    """Money a prepay partner paid in ahead of its purchases."""
    if not partner.is_prepay:
        raise DomainError(f"{partner.code} is billed on credit; top-ups are for prepay partners")
    if amount_minor <= 0:
        raise DomainError("a top-up must be positive", field="amount")
    if occurred_at.tzinfo is None:
        raise DomainError("give the time zone of the top-up time", field="occurred_at")
    reference = field_text(reference, field="reference", max_length=200)
    with transaction.atomic():
        entry = LedgerEntry.objects.create(
            entity_id=partner.entity_id, partner=partner, kind=LedgerKind.TOPUP, amount_minor=amount_minor,
            currency=partner.currency, reference=reference, occurred_at=occurred_at, created_by=actor,
        )  # fmt: skip
        audit_record(actor=actor, action="topup.recorded", obj=entry, entity=partner.entity,
                     amount_minor=amount_minor, reference=reference)  # fmt: skip
        from leadbill.mailing.services import low_balance_check

        low_balance_check(actor=actor, partners=[partner])  # a top-up above the threshold clears the alert
        return entry
