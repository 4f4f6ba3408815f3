"""The invoice report page, shared by the console (any partner of the entity) and the portal (its own)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from leadbill.catalog.models import LeadType
from leadbill.documents.report import ReportQuery, csv_chunks, report_pdf
from leadbill.domain.errors import DomainError
from leadbill.partners.models import Partner
from leadbill.web.inputs import day_input


def _day(text: str, field: str, problems: dict[str, str]) -> date | None:
    try:
        return day_input(text, field)
    except DomainError as exc:
        problems[field] = exc.message
    return None


def report_page(request: HttpRequest, partner: Partner, template: str, context: dict[str, Any]) -> HttpResponse:
    """The form, or with `download` in the query the CSV (streamed) or PDF; errors name their field."""
    params = request.GET
    lead_types = list(LeadType.objects.filter(entity_id=partner.entity_id).order_by("name"))
    chosen = {k: params.get(k, "").strip() for k in ("lead_type", "from", "to", "format")}
    problems: dict[str, str] = {}
    if "download" in params:
        first, last = _day(chosen["from"], "from", problems), _day(chosen["to"], "to", problems)
        lead_type = next((t for t in lead_types if t.code == chosen["lead_type"]), None)
        if chosen["lead_type"] and lead_type is None:
            problems["lead_type"] = f"no lead type {chosen['lead_type']!r}"
        fmt = chosen["format"] or "csv"
        if fmt not in ("csv", "pdf"):
            problems["format"] = "csv or pdf"
        if not problems and first and last:
            try:
                query = ReportQuery(partner, first, last, lead_type)
                name = f"report-{partner.code}-{first}-{last}.{fmt}"
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
                                      "problems": problems}, status=status)  # fmt: skip
