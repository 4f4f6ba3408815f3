"""The invoice report page, shared by the console (any partner of the entity) and the portal (its own).

Two ways to choose the leads: a date range (every lead delivered in it), or one invoice
(`?invoice=<number>`: exactly the leads that invoice billed, whatever their dates, so the
report's billed prices add up to its charge lines; a void invoice's rows read as void, unpriced).
The lead types offered are the ones the partner was delivered; the file name says the partner,
the invoice or range, and the lead type.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from leadbill.deliveries.selectors import lead_types_bought
from leadbill.documents.report import ReportQuery, csv_chunks, report_pdf
from leadbill.domain.errors import DomainError
from leadbill.invoicing.models import PERIOD_DOCUMENT, Invoice
from leadbill.partners.models import Partner
from leadbill.web.inputs import day_input


def _day(text: str, field: str, problems: dict[str, str]) -> date | None:
    try:
        return day_input(text, field)
    except DomainError as exc:
        problems[field] = exc.message
    return None


def report_invoice(partner: Partner, number: str) -> Invoice | None:
    """The partner's document with this number that bills leads, else None: an invoice, a prepay receipt, or
    the credit note a run issued for a period that netted negative (`PERIOD_DOCUMENT`; a credit note that
    corrects a document bills none)."""
    if not number or len(number) > 60:
        return None
    return Invoice.objects.filter(PERIOD_DOCUMENT, partner=partner, number=number).first()


def _range(invoice: Invoice) -> tuple[date, date]:
    """The invoice's period as days (its issue day when it has no period), for the report's heading."""
    first = invoice.period_first_day or invoice.issue_date or invoice.created_at.date()
    last = invoice.period_last_day or first
    return first, max(first, last)


def report_file_name(partner: Partner, fmt: str, *, lead_type: str, first: date, last: date,
                     invoice: Invoice | None) -> str:  # fmt: skip
    """report-<partner>-<invoice number or first-last>-<lead type or all-lead-types>.<csv|pdf>; ASCII only."""
    what = invoice.number if invoice is not None else f"{first}-{last}"
    parts = [partner.code, what or "", lead_type or "all-lead-types"]
    name = "-".join(p for p in parts if p)
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in name)
    return f"report-{safe}.{fmt}"


def report_page(request: HttpRequest, partner: Partner, template: str, context: dict[str, Any]) -> HttpResponse:
    """The form, or with `download` in the query the CSV (streamed) or PDF; errors name their field."""
    params = request.GET
    lead_types = list(lead_types_bought(partner))
    chosen = {k: params.get(k, "").strip() for k in ("lead_type", "from", "to", "format", "invoice")}
    problems: dict[str, str] = {}
    invoice = None
    first: date | None = None
    last: date | None = None
    if chosen["invoice"]:
        invoice = report_invoice(partner, chosen["invoice"])
        if invoice is None:
            problems["invoice"] = f"no invoice {chosen['invoice']!r} of {partner.name}"
    if "download" in params:
        if invoice is not None:
            first, last = _range(invoice)
        elif not chosen["invoice"]:
            first, last = _day(chosen["from"], "from", problems), _day(chosen["to"], "to", problems)
        lead_type = next((t for t in lead_types if t.code == chosen["lead_type"]), None)
        if chosen["lead_type"] and lead_type is None:
            problems["lead_type"] = f"{partner.name} was never delivered a lead type {chosen['lead_type']!r}"
        fmt = chosen["format"] or "csv"
        if fmt not in ("csv", "pdf"):
            problems["format"] = "csv or pdf"
        if not problems and first and last:
            try:
                query = ReportQuery(partner, first, last, lead_type, invoice_id=invoice.pk if invoice else None)
                name = report_file_name(partner, fmt, lead_type=lead_type.code if lead_type else "", first=first,
                                        last=last, invoice=invoice)  # fmt: skip
                if fmt == "pdf":
                    response: HttpResponse = HttpResponse(report_pdf(query), content_type="application/pdf")
                else:
                    response = StreamingHttpResponse(csv_chunks(query), content_type="text/csv; charset=utf-8")
            except DomainError as exc:
                problems[exc.field or "from"] = exc.message
            else:
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
    status = 400 if problems else 200
    return render(request, template, {**context, "partner": partner, "lead_types": lead_types, "chosen": chosen,
                                      "invoice": invoice, "problems": problems}, status=status)  # fmt: skip
