"""Invoices: history with filters, the document with its PDF inline, downloads, payments, void, send."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import Any

from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from leadbill.audit.models import AuditEvent
from leadbill.console.lookups import (
    cursor_read,
    cursor_text,
    day_input,
    entity_of,
    invoice_or_404,
    partner_choices,
    perform,
)
from leadbill.documents.models import Format
from leadbill.documents.services import document_file
from leadbill.domain import csvsafe
from leadbill.domain.errors import DomainError
from leadbill.domain.money import amount_from_text, minor_to_decimal
from leadbill.entities.models import Entity
from leadbill.invoicing import services as billing
from leadbill.invoicing.models import OPEN_STATUSES, Invoice, Kind
from leadbill.invoicing.selectors import display_number
from leadbill.mailing.services import invoice_send
from leadbill.receivables.selectors import open_minor, overdue_q, reversed_payments, with_open
from leadbill.selfbilling.models import SelfBilledDocument
from leadbill.web.access import actor_of, console_view
from leadbill.web.templatetags.leadbill import invoice_state

PAGE = 50
STATUS_FILTERS = ("draft", "open", "issued", "partially_paid", "overdue", "paid", "void", "written_off")


def invoice_filters(qs: Any, params: Any, today: date) -> tuple[Any, dict[str, str]]:
    """Filters shared by the console and the portal (status, kind, period, number)."""
    chosen = {k: params.get(k, "").strip() for k in ("status", "kind", "period", "number")}
    qs = with_open(qs)
    if chosen["status"] == "overdue":
        qs = qs.filter(overdue_q(today))
    elif chosen["status"] == "open":
        qs = qs.filter(status__in=OPEN_STATUSES, kind=Kind.INVOICE)
    elif chosen["status"] in STATUS_FILTERS:
        qs = qs.filter(status=chosen["status"])
    if chosen["kind"] in Kind.values:
        qs = qs.filter(kind=chosen["kind"])
    if chosen["period"]:
        qs = qs.filter(period_key=chosen["period"])
    if chosen["number"]:
        qs = qs.filter(number__icontains=chosen["number"])
    return qs, chosen


def keyset(qs: Any, after: str | None) -> tuple[list[Any], str | None]:
    """Newest first by id: one index range scan per page, whatever the table's size."""
    cursor = cursor_read(after)
    if cursor is not None:
        qs = qs.filter(pk__lt=cursor[1])
    rows = list(qs.order_by("-pk")[: PAGE + 1])
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return rows, cursor_text(None, rows[-1].pk) if more else None


def _listed(request: HttpRequest, entity: Entity, today: date) -> tuple[Any, dict[str, str]]:
    """The entity's documents the list's filters select (the page and its CSV export alike)."""
    qs = Invoice.objects.filter(entity=entity).select_related("partner")
    partner_code = request.GET.get("partner", "").strip()[:60]
    if partner_code:
        qs = qs.filter(partner__code=partner_code)
    qs, chosen = invoice_filters(qs, request.GET, today)
    chosen["partner"] = partner_code
    return qs, chosen


def list_totals(qs: Any) -> list[dict[str, Any]]:
    """Count, total and still open per kind and currency of everything `qs` selects: one aggregate query.

    Per kind because a credit note's total is money going the other way; the open amount is
    the receivables ledger's (`with_open`), as on every row.
    """
    labels = {Kind.INVOICE: "Invoices", Kind.RECEIPT: "Prepay receipts", Kind.CREDIT_NOTE: "Credit notes"}
    rows = (
        qs.order_by()
        .values("kind", "currency")
        .annotate(count=Count("pk"), total=Sum("total_minor"), open=Sum("open_minor"))
        .order_by("kind", "currency")
    )
    return [{**r, "label": labels.get(r["kind"], r["kind"])} for r in rows]


@console_view()
def invoice_list(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    today = billing.today_in(entity)
    qs, chosen = _listed(request, entity, today)
    rows, after = keyset(qs, request.GET.get("after"))
    query = {k: v for k, v in chosen.items() if v}
    context = {
        "rows": rows, "chosen": chosen, "today": today, "statuses": STATUS_FILTERS, "kinds": Kind.choices,
        "next_url": "?" + urlencode({**query, "after": after}) if after else None,
        "first_url": "?" + urlencode(query) if request.GET.get("after") else None,
        "partners": partner_choices(entity), "nav": "invoices", "totals": list_totals(qs),
        "export_url": reverse("console:invoices_export", kwargs={"entity": entity.slug})
        + ("?" + urlencode(query) if query else ""),
    }  # fmt: skip
    return render(request, "console/invoices.html", context)


EXPORT_HEADER = ["number", "kind", "status", "partner", "partner_name", "period", "issue_date", "due_date", "currency",
                 "net", "tax", "total", "open"]  # fmt: skip
EXPORT_CHUNK = 2000


@console_view()
def invoice_export(request: HttpRequest) -> HttpResponse:
    """The documents the list's filters select, as CSV, newest first, in keyset chunks (flat memory).

    Every text cell goes through csvsafe (a partner named "=cmd" stays text); amounts are
    Decimals in major units, numbers a spreadsheet sums.
    """
    entity = entity_of(request)
    today = billing.today_in(entity)
    qs, _ = _listed(request, entity, today)

    def chunks() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csvsafe.writer(buffer, lineterminator="\n")
        writer.writerow(EXPORT_HEADER)
        before: int | None = None
        while True:
            page = list((qs.filter(pk__lt=before) if before else qs).order_by("-pk")[:EXPORT_CHUNK])
            for inv in page:
                c = inv.currency
                open_amount = minor_to_decimal(inv.open_minor, c) if inv.kind == Kind.INVOICE else None
                writer.writerow([display_number(inv), inv.get_kind_display(), invoice_state(inv, today),
                                 inv.partner.code, inv.partner.name, inv.period_key,
                                 inv.issue_date.isoformat() if inv.issue_date else "",
                                 inv.due_date.isoformat() if inv.due_date else "", c,
                                 minor_to_decimal(inv.subtotal_minor, c), minor_to_decimal(inv.tax_minor, c),
                                 minor_to_decimal(inv.total_minor, c), open_amount])  # fmt: skip
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            if len(page) < EXPORT_CHUNK:
                return
            before = page[-1].pk

    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="invoices-{entity.slug}-{today.isoformat()}.csv"'
    return response


def history(inv: Invoice) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="invoicing.invoice", object_id=str(inv.pk)).order_by("at", "pk"))


@console_view()
def invoice_detail(request: HttpRequest, ref: str) -> HttpResponse:
    entity = entity_of(request)
    inv = invoice_or_404(entity, ref)
    inv.open_minor = open_minor(inv)  # read once; the page shows it three times
    context = {
        "inv": inv, "ref": display_number(inv), "lines": inv.lines.all(), "payments": inv.payments.order_by("paid_on", "pk"), "reversed_payments": reversed_payments(inv),
        "history": history(inv), "corrections": Invoice.objects.filter(corrects=inv).order_by("pk"),
        "today": billing.today_in(entity), "nav": "invoices",
        "recipients": list(inv.partner.billing_emails or []) or [inv.partner.contact_email],
        "sends": inv.sends.order_by("-pk")[:20],
    }  # fmt: skip
    return render(request, "console/invoice.html", context)


def download(request: HttpRequest, inv: Invoice | SelfBilledDocument, fmt: str) -> HttpResponse:
    """The archived bytes of a document, ours or self-billed (the first download archives them)."""
    try:
        file = document_file(inv, fmt, actor=actor_of(request))
    except DomainError as exc:
        return HttpResponse(
            f"cannot produce this document: {exc}", status=409, content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(file.content, content_type=file.media_type)
    inline = request.GET.get("inline") == "1" and fmt != Format.UBL
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{file.name}"'
    response["ETag"] = f'"{file.sha256}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response


def fmt_of(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format", "ubl")
    return fmt if fmt in (Format.UBL, Format.FACTURX) else None


@console_view()
def invoice_pdf(request: HttpRequest, ref: str) -> HttpResponse:
    return download(request, invoice_or_404(entity_of(request), ref), Format.PDF)


@console_view()
def invoice_einvoice(request: HttpRequest, ref: str) -> HttpResponse:
    fmt = fmt_of(request)
    if fmt is None:
        return HttpResponse("format is ubl or facturx", status=400, content_type="text/plain")
    return download(request, invoice_or_404(entity_of(request), ref), fmt)


def _back(entity: Entity, inv: Invoice) -> HttpResponse:
    return redirect("console:invoice", entity=entity.slug, ref=display_number(inv))


@require_POST
@console_view()
def invoice_pay(request: HttpRequest, ref: str) -> HttpResponse:
    entity = entity_of(request)
    inv = invoice_or_404(entity, ref)
    text = request.POST.get("amount", "").strip()

    def pay() -> str:
        minor = amount_from_text(text, inv.currency, locale=entity.locale) if text else inv.balance_due_minor
        if minor <= 0:
            raise DomainError("a payment must be more than zero", field="amount")
        paid_on = day_input(request.POST.get("paid_on"), "paid_on", billing.today_in(entity))
        billing.payment_record(actor=actor_of(request), invoice=inv, amount_minor=minor, paid_on=paid_on,
                               reference=request.POST.get("reference", "").strip()[:200])  # fmt: skip
        return "Payment recorded."

    return perform(request, pay, refused="Payment not recorded", then=lambda: _back(entity, inv))


@require_POST
@console_view()
def invoice_void(request: HttpRequest, ref: str) -> HttpResponse:
    entity = entity_of(request)
    inv = invoice_or_404(entity, ref)

    def void() -> str:
        note = billing.invoice_void(actor=actor_of(request), invoice=inv, reason=request.POST.get("reason", ""),
                                    leads=request.POST.get("leads", ""))  # fmt: skip
        return f"{inv.number} is void; credit note {note.number} reverses it."

    return perform(request, void, refused="Not voided", then=lambda: _back(entity, inv))


@require_POST
@console_view()
def invoice_send_view(request: HttpRequest, ref: str) -> HttpResponse:
    entity = entity_of(request)
    inv = invoice_or_404(entity, ref)

    def send() -> str:
        return f"Sent {inv.number} to {', '.join(invoice_send(actor=actor_of(request), invoice=inv).recipients)}."

    return perform(request, send, refused="Not sent", then=lambda: _back(entity, inv))


@require_POST
@console_view()
def invoice_issue_draft(request: HttpRequest, ref: str) -> HttpResponse:
    entity = entity_of(request)
    inv = invoice_or_404(entity, ref)

    def issue() -> str:
        return f"Issued as {billing.invoice_issue(actor=actor_of(request), invoice=inv).number}."

    return perform(request, issue, refused="Not issued", then=lambda: _back(entity, inv))


@require_POST
@console_view()
def invoice_discard(request: HttpRequest, ref: str) -> HttpResponse:
    entity = entity_of(request)
    inv = invoice_or_404(entity, ref)

    def discard() -> str:
        billing.invoice_discard(actor=actor_of(request), invoice=inv)
        return "Draft discarded; its leads can be billed again."

    discarded = Invoice.objects.filter(pk=inv.pk).exists
    return perform(request, discard, refused="Not discarded",
                   then=lambda: _back(entity, inv) if discarded() else redirect("console:invoices", entity=entity.slug))  # fmt: skip
