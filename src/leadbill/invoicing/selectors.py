"""Reads of invoicing, shaped for people and tools (the CLI's --json, later the API)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet, Sum

from leadbill.audit.models import AuditEvent
from leadbill.domain.money import minor_to_decimal, unit_price_text
from leadbill.domain.numbers import whole_number
from leadbill.domain.periods import local_midnight, zone
from leadbill.entities.models import Entity
from leadbill.invoicing.models import Adjustment, CreditedLead, Invoice, InvoiceRun, LedgerEntry, Status
from leadbill.partners.models import Partner

if TYPE_CHECKING:
    from leadbill.invoicing.services import RunPreview


def money(minor: int | None, currency: str) -> str | None:
    """Money as a decimal string with the currency's decimals ("12.50"), never a float."""
    return None if minor is None else str(minor_to_decimal(minor, currency))


DRAFT_PREFIX = "draft-"


def display_number(inv: Invoice) -> str:
    """Drafts have no number yet; they are named draft-<id> until issued."""
    return inv.number or f"{DRAFT_PREFIX}{inv.pk}"


def by_reference(qs: QuerySet[Invoice], reference: str) -> QuerySet[Invoice]:
    """`qs` narrowed to the document a person names: its number, or draft-<id> for a draft."""
    pk = whole_number(reference[len(DRAFT_PREFIX) :]) if reference.startswith(DRAFT_PREFIX) else None
    return qs.filter(pk=pk, status="draft") if pk is not None else qs.filter(number=reference)


def invoice_by_number(entity: Entity | None, number: str) -> Invoice:
    qs = by_reference(Invoice.objects.select_related("partner", "entity"), number)
    if entity is not None:
        qs = qs.filter(entity=entity)
    matches = list(qs[:2])
    if not matches:
        raise LookupError(f"no document numbered {number!r}")
    if len(matches) > 1:
        raise LookupError(f"{number!r} exists in several entities; give --entity")
    return matches[0]


def invoices_list(
    entity: Entity, *, partner: Partner | None = None, status: str | None = None, period_key: str | None = None
) -> QuerySet[Invoice]:
    qs = Invoice.objects.filter(entity=entity).select_related("partner").order_by("series", "sequence")
    if partner is not None:
        qs = qs.filter(partner=partner)
    if status:
        qs = qs.filter(status=status)
    if period_key:
        qs = qs.filter(period_key=period_key)
    return qs


def documents_crediting(inv: Invoice) -> QuerySet[Invoice]:
    """The documents, in any state, that net a credit for `inv`'s charges: returns of its leads, or a
    credit adjustment correcting it."""
    ids = set(
        CreditedLead.objects.filter(billed__invoice=inv, voided=False).exclude(invoice=inv)
        .values_list("invoice_id", flat=True)
    ) | set(
        Adjustment.objects.filter(corrects=inv, amount_minor__lt=0, invoice__isnull=False)
        .values_list("invoice_id", flat=True)
    )  # fmt: skip
    return Invoice.objects.filter(pk__in=ids)


def drafts_crediting(inv: Invoice) -> str:
    """The drafts that net a credit for `inv` (`documents_crediting`), named as the console names drafts
    ("draft-12, draft-15"); empty when there are none.

    Voiding or writing off `inv` waits for them to be discarded: they were drafted while `inv` stood
    as it was, and issued afterwards they would credit charges that no longer stand or were never paid.
    """
    drafts = documents_crediting(inv).filter(status=Status.DRAFT).values_list("pk", flat=True)
    return ", ".join(f"draft-{pk}" for pk in sorted(drafts))


def invoice_as_dict(inv: Invoice) -> dict[str, Any]:
    c = inv.currency
    return {
        "number": inv.number,
        "reference": display_number(inv),
        "kind": inv.kind,
        "status": inv.status,
        "entity": inv.entity.slug,
        "partner": inv.partner.code,
        "seller": inv.seller,
        "buyer": inv.buyer,
        "period": period_as_dict(inv),
        "manual": inv.manual,
        "issue_date": inv.issue_date,
        "due_date": inv.due_date,
        "payment_terms_days": inv.payment_terms_days,
        "currency": c,
        "leads_purchased": inv.leads_billed,
        "leads_returned": inv.leads_returned,
        "lines": [
            {
                "position": line.position,
                "kind": line.kind,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": unit_price_text(line.unit_price_micros, c)
                if line.unit_price_micros is not None
                else None,
                "amount": money(line.amount_minor, c),
                "tax_rate": str(line.tax_rate_bp / 100) if line.tax_rate_bp % 100 else str(line.tax_rate_bp // 100),
            }
            for line in inv.lines.all()
        ],
        "subtotal": money(inv.subtotal_minor, c),
        "taxes": [
            {"rate": t["rate"], "net": money(t["net_minor"], c), "tax": money(t["tax_minor"], c)} for t in inv.taxes
        ],
        "tax": money(inv.tax_minor, c),
        "total": money(inv.total_minor, c),
        "paid": money(inv.paid_minor, c),
        "balance_due": money(inv.balance_due_minor, c) if inv.kind == "invoice" else None,
        "prepay": {
            "opening_balance": money(inv.opening_balance_minor, c),
            "topups": money(inv.topups_minor, c),
            "closing_balance": money(inv.closing_balance_minor, c),
        }
        if inv.kind == "receipt"
        else None,
        "corrects": inv.corrects.number if inv.corrects_id and inv.corrects else None,
        "notes": inv.notes,
        "issued_at": inv.issued_at,
        "voided_at": inv.voided_at,
        "void_reason": inv.void_reason or None,
        "history": [
            {"at": e.at, "actor": e.actor, "action": e.action, "data": e.data}
            for e in AuditEvent.objects.filter(object_type="invoicing.invoice", object_id=str(inv.pk)).order_by(
                "at", "pk"
            )
        ],
        "payments": [
            {"id": p.pk, "amount": money(p.amount_minor, c), "paid_on": p.paid_on, "reference": p.reference}
            for p in inv.payments.order_by("paid_on", "pk")
        ],
    }


def period_as_dict(inv: Invoice) -> dict[str, Any] | None:
    """The billed period; a manual invoice's service period has days only, its instants are the local midnights."""
    if inv.period_first_day is None or inv.period_last_day is None:
        return None
    start, end = inv.period_start, inv.period_end
    if start is None or end is None:
        tz = zone(inv.entity.timezone)
        start, end = (
            local_midnight(inv.period_first_day, tz),
            local_midnight(inv.period_last_day + timedelta(days=1), tz),
        )
    return {"key": inv.period_key, "first_day": inv.period_first_day, "last_day": inv.period_last_day,
            "start": start, "end": end}  # fmt: skip


def run_as_dict(run: InvoiceRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "entity": run.entity.slug,
        "period": run.period_key,
        "mode": run.mode,
        "actor": run.actor,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        **run.summary,
        "state": run.state,
    }


def partner_balance(partner: Partner) -> int:
    return int(LedgerEntry.objects.filter(partner=partner).aggregate(s=Sum("amount_minor"))["s"] or 0)


def preview_as_dict(preview: RunPreview) -> dict[str, Any]:
    """The delivery summary of a preview run: per partner, what would be billed and why to look twice."""
    return {
        "entity": preview.entity.slug,
        "period": {"key": preview.period.key, "label": preview.period.label(),
                   "start": preview.period.start, "end": preview.period.end},
        "already_invoiced": [p.code for p in preview.already_invoiced],
        "partners": [
            {
                "partner": d.partner.code,
                "name": d.partner.name,
                "billing_mode": d.partner.billing_mode,
                "document": d.kind if d.draft.lines else None,
                "currency": d.draft.currency,
                "delivered": d.facts.delivered,
                "returned": d.facts.returned_unbilled + d.draft.leads_credited,
                "billable": d.billable,
                "late": d.facts.late,
                "subtotal": money(d.draft.subtotal_minor, d.draft.currency),
                "tax": money(d.draft.tax_minor, d.draft.currency),
                "total": money(d.draft.total_minor, d.draft.currency),
                "closing_balance": money(d.closing_balance_minor, d.draft.currency),
                "anomalies": d.anomalies,
                "held": d.held,
                "cap_effect": {
                    "policy": d.cap_effect.policy, "leads": d.cap_effect.leads,
                    "amount": money(d.cap_effect.amount_minor, d.draft.currency),
                    "price": unit_price_text(d.cap_effect.price_micros, d.draft.currency)
                    if d.cap_effect.price_micros is not None else None,
                } if d.cap_effect else None,
                "lines": [
                    {"kind": line.kind, "description": line.description, "quantity": line.quantity,
                     "unit_price": unit_price_text(line.unit_price_micros, d.draft.currency)
                     if line.unit_price_micros is not None else None,
                     "amount": money(line.amount_minor, d.draft.currency)}
                    for line in d.draft.lines
                ],
            }
            for d in preview.drafts
        ],
    }  # fmt: skip


# --- console reads ---------------------------------------------------------------------------

BILLED_STATUSES = ("issued", "partially_paid", "paid", "written_off")


def billed_by_month(entity: Entity, months: list[tuple[int, int]]) -> dict[tuple[int, int, str], int]:
    """Invoiced amounts (invoices and receipts, less credit notes) per period month and currency.

    A credit note without a period (issued on demand) counts in the month of its issue date. The
    credit note that reverses a void document is left out, as the void document is.
    """
    from django.db.models import DateField, Q
    from django.db.models.functions import Coalesce, ExtractMonth, ExtractYear

    first = months[0]
    documents = Q(kind__in=["invoice", "receipt"]) | Q(kind="credit_note", corrects__isnull=True)
    rows = (
        Invoice.objects.filter(documents, entity=entity, status__in=BILLED_STATUSES)
        .annotate(day=Coalesce("period_first_day", "issue_date", output_field=DateField()))
        .filter(day__gte=f"{first[0]:04d}-{first[1]:02d}-01")
        .annotate(y=ExtractYear("day"), m=ExtractMonth("day"))
        .values("y", "m", "currency")
        .annotate(total=Sum("total_minor"))
    )
    return {(r["y"], r["m"], r["currency"]): int(r["total"] or 0) for r in rows}


def receivables(entity: Entity, today: Any) -> dict[str, Any]:
    """Open and overdue invoices per currency, from the receivables ledger (one selector for every screen)."""
    from leadbill.receivables.selectors import entity_receivables

    return entity_receivables(entity, today)


def preview_totals(preview: RunPreview, *, without_held: bool = False) -> dict[str, dict[str, int]]:
    """Per currency: documents the run would issue, their billable and earlier-period leads, and total.

    `without_held`: leave out the documents the safety bounds hold back (a run issues them once released).
    """
    totals: dict[str, dict[str, int]] = {}
    for d in preview.drafts:
        if not d.draft.lines or (without_held and d.held):
            continue
        t = totals.setdefault(d.draft.currency, {"documents": 0, "leads": 0, "late": 0, "total_minor": 0})
        t["documents"] += 1
        t["leads"] += d.billable
        t["late"] += d.facts.late
        t["total_minor"] += d.draft.total_minor
    return totals
