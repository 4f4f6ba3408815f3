"""The Books page: the account mapping form, exports for a date range, and the batches made so far."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from leadbill.books import selectors
from leadbill.books.services import export_create, mapping_update
from leadbill.catalog.models import LeadType
from leadbill.console.lookups import entity_of, perform
from leadbill.domain.errors import DomainError
from leadbill.domain.numbers import whole_number
from leadbill.invoicing.services import today_in
from leadbill.web.access import actor_of, console_view

ACCOUNT_FIELDS = (
    ("receivables", "Receivables (customers)"), ("payables", "Payables (suppliers)"), ("cash", "Bank"),
    ("revenue", "Revenue (default)"), ("cost", "Cost of leads (default)"),
    ("contra_revenue", "Credit notes (contra-revenue; blank: the revenue account)"),
    ("tax_payable", "Output tax (default)"), ("tax_receivable", "Input tax (default)"), ("other", "Write-offs"),
)  # fmt: skip
DATEV_FIELDS = (("consultant", "DATEV Beraternummer", "datev_consultant"), ("client", "DATEV Mandantennummer",
                "datev_client"), ("fiscal_year_start_month", "First month of the fiscal year", "fiscal_year_start_month"))  # fmt: skip


def _to_books(request: HttpRequest) -> HttpResponse:
    return redirect("console:books", entity=entity_of(request).slug)


@console_view()
def books(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    columns = selectors.mapping_columns(entity)
    lead_types = list(LeadType.objects.filter(entity=entity).order_by("code").values_list("code", "name"))
    today = today_in(entity)
    context = {
        "nav": "books", "columns": columns, "batches": selectors.batches_of(entity),
        "accounts": [(key, label, columns[key]) for key, label in ACCOUNT_FIELDS],
        "datev": [(key, label, columns[column]) for key, label, column in DATEV_FIELDS],
        "lead_types": [(code, name, columns["revenue_by_lead_type"].get(code, ""),
                        columns["cost_by_lead_type"].get(code, "")) for code, name in lead_types],
        "first": today.replace(day=1).isoformat(), "last": today.isoformat(),
        "tax_rates": columns["tax_rates"],
    }  # fmt: skip
    return render(request, "console/books.html", context)


def posted_mapping(post: Any, current: dict[str, Any]) -> dict[str, Any]:
    """The `books:` keys of the fields the form showed (and only those); per lead type merged into the current."""
    raw: dict[str, Any] = {key: post[key].strip() for key, _ in ACCOUNT_FIELDS if key in post}
    datev = {key: post[f"datev_{key}"].strip() for key, _, _ in DATEV_FIELDS if f"datev_{key}" in post}
    if datev:
        numbers = {k: whole_number(v) for k, v in datev.items() if v}
        raw["datev"] = {k: datev[k] if n is None else n for k, n in numbers.items()}
    for key in ("revenue_by_lead_type", "cost_by_lead_type"):
        shown = {name.split(":", 1)[1]: post[name].strip() for name in post if name.startswith(f"{key}:")}
        if shown:
            merged = {**current[key], **shown}
            raw[key] = {code: account for code, account in merged.items() if account}
    return raw


@require_POST
@console_view()
def books_accounts(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)

    def save() -> str:
        raw = posted_mapping(request.POST, selectors.mapping_columns(entity))
        mapping_update(actor=actor_of(request), entity=entity, raw=raw)
        return "Account mapping saved."

    return perform(request, save, refused="Not saved", then=lambda: _to_books(request))


@require_POST
@console_view()
def books_export(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)

    def run() -> str:
        try:
            first, last = (
                date.fromisoformat(request.POST.get("from", "")),
                date.fromisoformat(request.POST.get("to", "")),
            )
        except ValueError:
            raise DomainError("give the range as two dates, YYYY-MM-DD", field="from") from None
        result = export_create(actor=actor_of(request), entity=entity, target=request.POST.get("target", ""),
                               first=first, last=last, all_documents=request.POST.get("all") == "on")  # fmt: skip
        if result.batch is None:
            return f"{result.summary}: nothing to export (tick “all” to export the range again)."
        return f"Batch {result.batch.pk}: {result.batch.file_name}, {result.summary}."

    return perform(request, run, refused="Not exported", then=lambda: _to_books(request))


@console_view()
def books_batch(request: HttpRequest, pk: int) -> HttpResponse:
    entity = entity_of(request)
    try:
        batch = selectors.batch_of(entity, pk)
    except selectors.ExportBatch.DoesNotExist:
        raise Http404("no such export") from None
    response = HttpResponse(bytes(batch.content), content_type=batch.media_type)
    response["Content-Disposition"] = f'attachment; filename="{batch.file_name}"'
    response["ETag"] = f'"{batch.sha256}"'
    return response
