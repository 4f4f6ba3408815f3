"""Invoices, receipts and credit notes: history, documents, payments, voids and credits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja import Status as Reply

from leadbill.api.auth import FULL, READ_DOCUMENTS, require
from leadbill.api.common import (
    DEFAULT_PAGE,
    amount_minor,
    attachment,
    invoice_for,
    invoices_for,
    keyset_page,
    partner_for,
    partner_in_body,
    period_for,
    same_currency,
)
from leadbill.api.invoice_schemas import (
    AdjustmentIn,
    AdjustmentOut,
    AdjustmentPage,
    CreditNoteIn,
    InvoiceOut,
    InvoicePage,
    IssueIn,
    ManualInvoiceIn,
    PaymentIn,
    PaymentOut,
    PaymentSaved,
    VoidIn,
    VoidOut,
)
from leadbill.api.models import Scope
from leadbill.api.problems import ApiProblem, error_item
from leadbill.api.schemas import ERRORS, Day, Problem, binary
from leadbill.documents.models import Format
from leadbill.documents.services import document_file
from leadbill.domain.errors import DomainError
from leadbill.domain.generation import ManualLine
from leadbill.domain.money import parse_decimal
from leadbill.invoicing.models import Adjustment, Invoice, Kind, Payment, Status
from leadbill.invoicing.selectors import display_number, invoice_as_dict, money
from leadbill.invoicing.services import (
    adjustment_create,
    credit_note_issue,
    invoice_discard,
    invoice_issue,
    invoice_void,
    manual_invoice_create,
    payment_record,
)
from leadbill.receivables.selectors import overdue_q

router = Router(tags=["invoices"])


def invoice_out(request: HttpRequest, invoice: Invoice) -> dict[str, Any]:
    data = invoice_as_dict(invoice)
    if request.auth.scope == Scope.PARTNER:  # type: ignore[attr-defined]
        data["history"] = None  # the audit trail names staff and systems
    return data


def payment_as_dict(payment: Payment, currency: str) -> dict[str, Any]:
    return {"id": payment.pk, "amount": money(payment.amount_minor, currency), "paid_on": payment.paid_on,
            "reference": payment.reference}  # fmt: skip


def invoice_summary(inv: Invoice) -> dict[str, Any]:
    c = inv.currency
    return {
        "number": inv.number,
        "reference": display_number(inv),
        "kind": inv.kind,
        "status": inv.status,
        "partner": inv.partner.code,
        "period": inv.period_key,
        "issue_date": inv.issue_date,
        "due_date": inv.due_date,
        "currency": c,
        "total": money(inv.total_minor, c),
        "paid": money(inv.paid_minor, c),
        "balance_due": money(inv.balance_due_minor, c) if inv.kind == Kind.INVOICE else None,
    }


@router.get("/invoices", response={200: InvoicePage, ERRORS: Problem}, summary="List documents, newest first")
def list_invoices(
    request: HttpRequest, partner: str | None = None, status: str | None = None, kind: str | None = None,
    period: str | None = None, number: str | None = None, issued_from: Day | None = None,
    issued_to: Day | None = None, overdue: bool | None = None, limit: int = DEFAULT_PAGE, cursor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    key = require(request, *READ_DOCUMENTS)
    qs = invoices_for(key)
    if partner:
        qs = qs.filter(partner=partner_for(key, partner))
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if period:
        qs = qs.filter(period_key=period)
    if number:
        qs = qs.filter(number=number)
    if issued_from:
        qs = qs.filter(issue_date__gte=issued_from)
    if issued_to:
        qs = qs.filter(issue_date__lte=issued_to)
    if overdue is not None:
        from leadbill.invoicing.services import today_in

        late = overdue_q(today_in(key.entity))
        qs = qs.filter(late) if overdue else qs.exclude(late)
    return keyset_page(qs, limit=limit, cursor=cursor, shape=invoice_summary)


@router.get("/invoices/{number}", response={200: InvoiceOut, ERRORS: Problem}, summary="Get a document")
def get_invoice(request: HttpRequest, number: str) -> dict[str, Any]:
    key = require(request, *READ_DOCUMENTS)
    return invoice_out(request, invoice_for(key, number))


def _file(request: HttpRequest, number: str, fmt: str) -> HttpResponse:
    key = require(request, *READ_DOCUMENTS)
    invoice = invoice_for(key, number)
    if invoice.status == Status.DRAFT:
        raise ApiProblem(409, "draft", f"{display_number(invoice)} is a draft; documents exist once it is issued")
    try:
        doc = document_file(invoice, fmt, actor=key.actor)
    except DomainError as exc:  # the stored data cannot make this format (e.g. no Peppol id): not the request's fault
        raise ApiProblem(409, "document", f"{display_number(invoice)} cannot be rendered as {fmt}: {exc}") from None
    return attachment(doc.content, doc.media_type, doc.name, doc.sha256)


@router.get(
    "/invoices/{number}/pdf",
    response={ERRORS: Problem},
    openapi_extra=binary("application/pdf", "the PDF (archived at first download, identical ever after)"),
    summary="Download the PDF",
)
def get_pdf(request: HttpRequest, number: str) -> HttpResponse:
    return _file(request, number, Format.PDF)


@router.get(
    "/invoices/{number}/einvoice",
    response={ERRORS: Problem},
    openapi_extra={
        "responses": {
            200: {
                "description": "UBL 2.1 (Peppol BIS Billing 3.0) XML, or a Factur-X (EN 16931) PDF",
                "content": {
                    "application/xml": {"schema": {"type": "string"}},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
    summary="Download the e-invoice",
)
def get_einvoice(request: HttpRequest, number: str, format: str = "ubl") -> HttpResponse:
    if format not in (Format.UBL, Format.FACTURX):
        message = f"format must be ubl or facturx, not {format!r}"
        raise ApiProblem(422, "invalid", message, errors=[{**error_item(message, "format"), "in": "query"}])
    return _file(request, number, format)


@router.get("/invoices/{number}/payments", response={200: list[PaymentOut], ERRORS: Problem}, summary="Payments")
def list_payments(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    key = require(request, *READ_DOCUMENTS)
    invoice = invoice_for(key, number)
    return [payment_as_dict(p, invoice.currency) for p in invoice.payments.order_by("paid_on", "pk")]


@router.post(
    "/invoices/{number}/payments",
    response={201: PaymentSaved, ERRORS: Problem},
    summary="Record a payment (without amount: the whole balance, marking it paid)",
)
def post_payment(request: HttpRequest, number: str, payload: PaymentIn) -> Reply[dict[str, Any]]:
    key = require(request, *FULL)
    invoice = invoice_for(key, number)
    same_currency(payload.currency, invoice.currency, f"{display_number(invoice)}")
    amount = amount_minor(payload.amount, invoice.currency) if payload.amount is not None else invoice.balance_due_minor
    payment = payment_record(
        actor=key.actor, invoice=invoice, amount_minor=amount, paid_on=payload.paid_on, reference=payload.reference
    )
    # payment_record refreshed `invoice`: its amounts and status are the ones just written
    return Reply(201, {"payment": payment_as_dict(payment, invoice.currency), "invoice": invoice_out(request, invoice)})


@router.post(
    "/invoices/{number}/void", response={200: VoidOut, ERRORS: Problem}, summary="Void (a credit note reverses it)"
)
def void(request: HttpRequest, number: str, payload: VoidIn) -> dict[str, Any]:
    key = require(request, *FULL)
    invoice = invoice_for(key, number)
    note = invoice_void(actor=key.actor, invoice=invoice, reason=payload.reason, issue_date=payload.issue_date,
                        leads=payload.leads)  # fmt: skip
    return {
        "voided": invoice_out(request, invoice_for(key, number)),
        "credit_note": invoice_out(request, invoice_for(key, note.number or "")),
    }


@router.post("/invoices/{number}/issue", response={200: InvoiceOut, ERRORS: Problem}, summary="Issue a draft")
def issue_draft(request: HttpRequest, number: str, payload: IssueIn) -> dict[str, Any]:
    key = require(request, *FULL)
    issued = invoice_issue(actor=key.actor, invoice=invoice_for(key, number), issue_date=payload.issue_date)
    return invoice_out(request, invoice_for(key, issued.number or ""))


@router.post("/invoices/{number}/discard", response={204: None, ERRORS: Problem}, summary="Discard a draft")
def discard_draft(request: HttpRequest, number: str) -> Reply[None]:
    key = require(request, *FULL)
    invoice_discard(actor=key.actor, invoice=invoice_for(key, number))
    return Reply(204, None)


@router.post(
    "/credit-notes",
    response={201: InvoiceOut, ERRORS: Problem},
    summary="Issue a credit note now, for accepted returns and open credit adjustments",
)
def post_credit_note(request: HttpRequest, payload: CreditNoteIn) -> Reply[dict[str, Any]]:
    key = require(request, *FULL)
    partner = partner_in_body(key, payload.partner)
    note = credit_note_issue(
        actor=key.actor, partner=partner, issue_date=payload.issue_date,
        returns=payload.returns, adjustments=payload.adjustments,
    )  # fmt: skip
    return Reply(201, invoice_out(request, invoice_for(key, note.number or "")))


@router.post(
    "/manual-invoices",
    response={201: InvoiceOut, ERRORS: Problem},
    summary="A manual invoice of typed lines for one partner and period (a draft, or issued now)",
)
def post_manual_invoice(request: HttpRequest, payload: ManualInvoiceIn) -> Reply[dict[str, Any]]:
    key = require(request, *FULL)
    partner = partner_in_body(key, payload.partner)
    same_currency(payload.currency, partner.currency, f"partner {partner.code!r}")
    rate = Decimal(partner.tax_rate()).scaleb(-2)
    lines = [
        ManualLine(line.description, line.quantity, parse_decimal(line.unit_price, field=f"lines[{i}].unit_price"),
                   parse_decimal(line.tax_rate, field=f"lines[{i}].tax_rate") if line.tax_rate is not None else rate)
        for i, line in enumerate(payload.lines)
    ]  # fmt: skip
    inv = manual_invoice_create(actor=key.actor, partner=partner, period=period_for(key, payload.period),
                                lines=lines, issue=payload.issue, issue_date=payload.issue_date)  # fmt: skip
    return Reply(201, invoice_out(request, invoice_for(key, display_number(inv))))


def adjustment_as_dict(adj: Adjustment) -> dict[str, Any]:
    return {
        "id": adj.pk,
        "partner": adj.partner.code,
        "amount": money(adj.amount_minor, adj.currency),
        "currency": adj.currency,
        "reason": adj.reason,
        "created_at": adj.created_at,
        "invoice": display_number(adj.invoice) if adj.invoice_id and adj.invoice else None,
    }


@router.post(
    "/adjustments",
    response={201: AdjustmentOut, ERRORS: Problem},
    tags=["payments and balances"],
    summary="A manual credit or debit, billed on the partner's next document",
)
def post_adjustment(request: HttpRequest, payload: AdjustmentIn) -> Reply[dict[str, Any]]:
    key = require(request, *FULL)
    partner = partner_in_body(key, payload.partner)
    same_currency(payload.currency, partner.currency, f"partner {partner.code!r}")
    adj = adjustment_create(
        actor=key.actor, partner=partner, amount_minor=amount_minor(payload.amount, partner.currency),
        reason=payload.reason, corrects=invoice_for(key, payload.corrects) if payload.corrects else None,
    )  # fmt: skip
    return Reply(201, adjustment_as_dict(adj))


@router.get(
    "/adjustments",
    response={200: AdjustmentPage, ERRORS: Problem},
    tags=["payments and balances"],
    summary="Adjustments not yet billed (open), or all of a partner",
)
def list_adjustments(
    request: HttpRequest, partner: str | None = None, open: bool = True, limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    key = require(request, *FULL)
    qs = Adjustment.objects.filter(entity=key.entity).select_related("partner", "invoice")
    if partner:
        qs = qs.filter(partner=partner_for(key, partner))
    if open:
        qs = qs.filter(invoice__isnull=True)
    return keyset_page(qs, limit=limit, cursor=cursor, shape=adjustment_as_dict)
