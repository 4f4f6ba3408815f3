"""Reads for the books: an entity's account mapping, and the journal facts of a date range.

`period_facts(entity, first, last)` gathers every document and money event whose date (in the
entity's time zone) falls in the range, as `domain.journal.Facts`, reading the billing apps'
tables without changing them:

- invoices, prepay receipts and credit notes (`invoicing.Invoice`, issued: every status but draft;
  a voided invoice stays, its reversing credit note is a document of its own), by issue date;
- payments received (`invoicing.Payment`) by the day paid; payment reversals, refunds of credit
  and write-offs from the receivables ledger by the day they occurred;
- prepay top-ups (`invoicing.LedgerEntry` kind topup) by their local day;
- self-billed documents (389 and 261) by issue date; payouts paid, by the day the money left.

Documents are presented as the journal wants them: amounts positive. A credit note stored with
negative amounts is negated; an invoice whose total is negative is journalled as a credit note.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from leadbill.books.charts import default_columns
from leadbill.books.models import AccountMapping, ExportBatch, ExportedDocument
from leadbill.domain import journal as j
from leadbill.domain.periods import local_midnight, zone
from leadbill.entities.models import Entity
from leadbill.invoicing.models import Invoice, InvoiceLine, LedgerEntry, LedgerKind, Payment, Status
from leadbill.payouts.models import Payout, PayoutLine
from leadbill.receivables.models import Entry, EntryKind
from leadbill.selfbilling.models import SelfBilledDocument, SelfBilledLine

MAPPING_FIELDS = ("chart", "receivables", "payables", "cash", "cash_by_currency", "revenue", "revenue_by_lead_type",
                  "cost", "cost_by_lead_type", "contra_revenue", "tax_payable", "tax_receivable", "tax_rates", "other",
                  "datev_consultant", "datev_client", "fiscal_year_start_month", "account_length")  # fmt: skip


def mapping_columns(entity: Entity) -> dict[str, Any]:
    """The entity's mapping as columns: its own row, or the default chart of its currency."""
    row = AccountMapping.objects.filter(entity=entity).first()
    if row is None:
        return {"datev_consultant": None, "datev_client": None, "fiscal_year_start_month": 1,
                **default_columns(entity.currency)}  # fmt: skip
    return {name: getattr(row, name) for name in MAPPING_FIELDS}


def accounts_of(columns: dict[str, Any]) -> j.Accounts:
    return j.Accounts(
        receivables=columns["receivables"], payables=columns["payables"], cash=columns["cash"],
        revenue=columns["revenue"], cost=columns["cost"], tax_payable=columns["tax_payable"],
        tax_receivable=columns["tax_receivable"], other=columns["other"], contra_revenue=columns["contra_revenue"],
        cash_by_currency=dict(columns["cash_by_currency"] or {}),
        revenue_by_lead_type=dict(columns["revenue_by_lead_type"] or {}),
        cost_by_lead_type=dict(columns["cost_by_lead_type"] or {}),
        tax_rates=tuple(
            j.TaxAccount(int(t["rate_bp"]), t.get("payable", ""), t.get("receivable", ""), t.get("sales_code", ""),
                         t.get("purchase_code", ""))
            for t in columns["tax_rates"] or []
        ),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Party:
    """What the QBO/Xero files name of the customer or supplier, from the document's frozen snapshot."""

    name: str
    email: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    @classmethod
    def of(cls, snapshot: dict[str, Any]) -> Party:
        emails = snapshot.get("billing_emails") or []
        return cls(
            name=str(snapshot.get("name") or snapshot.get("legal_name") or snapshot.get("code") or ""),
            email=str(snapshot.get("email") or (emails[0] if emails else "") or snapshot.get("contact_email") or ""),
            address_line1=str(snapshot.get("address_line1") or ""), address_line2=str(snapshot.get("address_line2") or ""),
            city=str(snapshot.get("city") or ""), region=str(snapshot.get("region") or ""),
            postal_code=str(snapshot.get("postal_code") or ""), country=str(snapshot.get("country") or ""),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Period:
    """The facts of a range, with the parties of the documents (by fact key) for the files that name them."""

    entity: Entity
    first: date
    last: date
    facts: tuple[j.Facts, ...]
    parties: dict[str, Party]


def source_of(facts: j.Facts) -> tuple[str, int]:
    kind, _, source_id = facts.key.partition(":")
    return kind, int(source_id)


def _rate_bp(tax: dict[str, Any]) -> int:
    if "rate_bp" in tax:
        return int(tax["rate_bp"])
    return int(Decimal(str(tax["rate"])) * 100)


def _invoice_facts(entity: Entity, first: date, last: date, parties: dict[str, Party]) -> list[j.Facts]:
    issued = Invoice.objects.filter(
        entity=entity, issue_date__gte=first, issue_date__lte=last, number__isnull=False
    ).exclude(status=Status.DRAFT)
    invoices = list(issued.select_related("corrects").order_by("issue_date", "series", "sequence"))
    lines: dict[int, list[j.Line]] = defaultdict(list)
    rows = (  # a subquery, not a list of ids: a month of many invoices is no list of placeholders
        InvoiceLine.objects.filter(invoice__in=issued.values("pk"))
        .order_by("invoice_id", "position")
        .values_list("invoice_id", "amount_minor", "tax_rate_bp", "plan__lead_type__code", "description", "quantity")
    )
    for invoice_id, amount, rate_bp, lead_type, description, quantity in rows:
        lines[invoice_id].append(j.Line(amount, rate_bp, lead_type or "", description, quantity))
    out = []
    for inv in invoices:
        kind = {"invoice": j.INVOICE, "receipt": j.RECEIPT, "credit_note": j.CREDIT_NOTE}[inv.kind]
        sign = -1 if inv.total_minor < 0 else 1
        if sign < 0:  # a credit note stored negative, or an invoice whose credits exceed its charges
            kind = j.CREDIT_NOTE
        key = f"{kind}:{inv.pk}"
        parties[key] = Party.of(inv.buyer or {})
        out.append(j.Facts(
            kind, key, inv.number or "", inv.issue_date or first, inv.currency, sign * inv.total_minor,
            party=parties[key].name,
            lines=tuple(j.Line(sign * ln.net_minor, ln.tax_rate_bp, ln.lead_type, ln.description, ln.quantity)
                        for ln in lines[inv.pk]),
            taxes=tuple(j.Tax(_rate_bp(t), sign * int(t["net_minor"]), sign * int(t["tax_minor"])) for t in inv.taxes),
            due_on=inv.due_date, refers_to=(inv.corrects.number or "") if inv.corrects else "",
        ))  # fmt: skip
    return out


def _money_facts(entity: Entity, first: date, last: date, parties: dict[str, Party]) -> list[j.Facts]:
    out: list[j.Facts] = []
    payments = (
        Payment.objects.filter(invoice__entity=entity, paid_on__gte=first, paid_on__lte=last)
        .select_related("invoice")
        .order_by("paid_on", "pk")
    )
    for p in payments:
        key = f"{j.PAYMENT}:{p.pk}"
        parties[key] = Party.of(p.invoice.buyer or {})
        out.append(j.Facts(j.PAYMENT, key, p.reference or f"payment {p.pk}", p.paid_on, p.invoice.currency,
                           p.amount_minor, party=parties[key].name, refers_to=p.invoice.number or ""))  # fmt: skip
    entries = Entry.objects.filter(
        entity=entity, occurred_on__gte=first, occurred_on__lte=last,
        kind__in=[EntryKind.PAYMENT_REVERSAL, EntryKind.REFUND, EntryKind.WRITE_OFF],
    ).select_related("partner", "invoice")  # fmt: skip
    reversals = (
        entries.filter(kind=EntryKind.PAYMENT_REVERSAL)
        .values("payment_id", "currency", "occurred_on", "partner__name")
        .annotate(amount=Sum("amount_minor"))
        .order_by("occurred_on", "payment_id")
    )
    for r in reversals:
        key = f"{j.PAYMENT_REVERSAL}:{r['payment_id']}"
        parties[key] = Party(r["partner__name"])
        out.append(j.Facts(j.PAYMENT_REVERSAL, key, f"payment {r['payment_id']} reversed", r["occurred_on"],
                           r["currency"], abs(r["amount"]), party=r["partner__name"]))  # fmt: skip
    for e in entries.exclude(kind=EntryKind.PAYMENT_REVERSAL).order_by("occurred_on", "pk"):
        # a write-off closes a charge as a loss; a positive one lowers a loss (`credit_written_off`)
        loss = j.WRITE_OFF if e.amount_minor < 0 else j.WRITE_OFF_REVERSAL
        kind = j.REFUND if e.kind == EntryKind.REFUND else loss
        key = f"{kind}:{e.pk}"
        parties[key] = Party(e.partner.name)
        number = f"{kind.replace('_', '-')} {e.invoice.number if e.invoice else e.pk}"
        out.append(j.Facts(kind, key, number, e.occurred_on, e.currency, abs(e.amount_minor), party=e.partner.name))
    tz = zone(entity.timezone)
    topups = LedgerEntry.objects.filter(
        entity=entity, kind=LedgerKind.TOPUP, occurred_at__gte=local_midnight(first, tz),
        occurred_at__lt=local_midnight(last + timedelta(days=1), tz),
    ).select_related("partner").order_by("occurred_at", "pk")  # fmt: skip
    for t in topups:
        key = f"{j.TOPUP}:{t.pk}"
        parties[key] = Party(t.partner.name)
        out.append(j.Facts(j.TOPUP, key, t.reference or f"top-up {t.pk}", t.occurred_at.astimezone(tz).date(),
                           t.currency, t.amount_minor, party=t.partner.name))  # fmt: skip
    return out


def _lead_types_by_line(payout_ids: list[int]) -> dict[tuple[int, str, str], str]:
    """(payout, kind, description) -> lead type code, where the payout line's plan names exactly one."""
    found: dict[tuple[int, str, str], set[str]] = defaultdict(set)
    rows = PayoutLine.objects.filter(payout__in=payout_ids).values_list(
        "payout_id", "kind", "description", "plan__lead_type__code"
    )
    for payout_id, kind, description, code in rows:
        found[(payout_id, kind, description)].add(code or "")
    return {key: next(iter(codes)) for key, codes in found.items() if len(codes) == 1}


def _payable_facts(entity: Entity, first: date, last: date, parties: dict[str, Party]) -> list[j.Facts]:
    issued = SelfBilledDocument.objects.filter(entity=entity, issue_date__gte=first, issue_date__lte=last)
    docs = list(issued.order_by("issue_date", "series", "sequence"))
    lead_types = _lead_types_by_line(sorted({d.payout_id for d in docs}))
    lines: dict[int, list[j.Line]] = defaultdict(list)
    rows = (
        SelfBilledLine.objects.filter(document__in=issued.values("pk"))
        .order_by("document_id", "position")
        .values_list("document_id", "document__payout_id", "kind", "description", "amount_minor", "tax_rate_bp",
                     "quantity")
    )  # fmt: skip
    for doc_id, payout_id, kind, description, amount, rate_bp, quantity in rows:
        lead_type = lead_types.get((payout_id, kind, description), "")
        lines[doc_id].append(j.Line(amount, rate_bp, lead_type, description, quantity))
    out: list[j.Facts] = []
    for d in docs:
        kind = j.SELF_CREDIT if d.is_credit else j.SELF_INVOICE
        key = f"{kind}:{d.pk}"
        parties[key] = Party.of(d.seller or {})
        out.append(j.Facts(
            kind, key, d.number, d.issue_date, d.currency, d.total_minor, party=parties[key].name,
            lines=tuple(lines[d.pk]),
            taxes=tuple(j.Tax(_rate_bp(t), int(t["net_minor"]), int(t["tax_minor"])) for t in d.taxes),
            due_on=d.due_date, refers_to=", ".join(d.references or []),
        ))  # fmt: skip
    payouts = Payout.objects.filter(
        entity=entity, status="paid", paid_on__gte=first, paid_on__lte=last, total_minor__gt=0
    ).select_related("partner").order_by("paid_on", "pk")  # fmt: skip
    for po in payouts:
        key = f"{j.PAYOUT_PAID}:{po.pk}"
        parties[key] = Party(po.partner.legal_name or po.partner.name)
        number = po.paid_reference or f"payout {po.pk}"
        out.append(j.Facts(j.PAYOUT_PAID, key, number, po.paid_on or first, po.currency, po.total_minor,
                           party=parties[key].name))  # fmt: skip
    return out


def period_facts(entity: Entity, first: date, last: date) -> Period:
    """Every document and money event of the range, sales first, then money, then payables."""
    parties: dict[str, Party] = {}
    facts = [
        *_invoice_facts(entity, first, last, parties),
        *_money_facts(entity, first, last, parties),
        *_payable_facts(entity, first, last, parties),
    ]
    return Period(entity, first, last, tuple(facts), parties)


def exported_before(target: str, facts: tuple[j.Facts, ...]) -> dict[tuple[str, int], ExportedDocument]:
    """The documents of `facts` already exported to `target`, with the batch that carried them."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for f in facts:
        kind, source_id = source_of(f)
        by_kind[kind].append(source_id)
    found: dict[tuple[str, int], ExportedDocument] = {}
    for kind, ids in by_kind.items():
        for row in ExportedDocument.objects.filter(target=target, kind=kind, source_id__in=ids).select_related("batch"):
            found[(row.kind, row.source_id)] = row
    return found


def batches_of(entity: Entity) -> list[ExportBatch]:
    return list(ExportBatch.objects.filter(entity=entity).defer("content").order_by("-created_at", "-pk")[:200])


def batch_of(entity: Entity, batch_id: int) -> ExportBatch:
    return ExportBatch.objects.get(entity=entity, pk=batch_id)
