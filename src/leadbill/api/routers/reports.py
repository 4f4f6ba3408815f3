"""The invoice report: every lead of one partner in a date range, streamed as CSV (or a PDF)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Router

from leadbill.api.auth import READ_DOCUMENTS, require
from leadbill.api.common import day_range, lead_type_for, partner_for
from leadbill.api.problems import ApiProblem, error_item
from leadbill.api.schemas import ERRORS, Day, Problem
from leadbill.documents.report import ReportQuery, csv_chunks, report_pdf

router = Router(tags=["reports"])


@router.get(
    "/partners/{code}/report",
    response={ERRORS: Problem},
    openapi_extra={
        "responses": {
            200: {
                "description": "CSV streamed as it is read (any size), or a PDF (up to 20,000 leads)",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
    summary="The invoice report of a partner",
)
def get_report(
    request: HttpRequest, code: str, first_day: Day, last_day: Day, lead_type: str | None = None,
    format: str = "csv",
) -> HttpResponse:  # fmt: skip
    key = require(request, *READ_DOCUMENTS)
    partner = partner_for(key, code)
    if format not in ("csv", "pdf"):
        message = f"format must be csv or pdf, not {format!r}"
        raise ApiProblem(422, "invalid", message, errors=[{**error_item(message, "format"), "in": "query"}])
    day_range(first_day, last_day)
    query = ReportQuery(partner, first_day, last_day, lead_type_for(key, lead_type))
    name = f"report-{partner.code}-{first_day}-{last_day}"
    if format == "pdf":
        response = HttpResponse(report_pdf(query), content_type="application/pdf")
    else:
        response = StreamingHttpResponse(csv_chunks(query), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{format}"'
    return response
