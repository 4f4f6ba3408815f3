"""Bank statements in the console: upload a camt.053/054 or CSV, match what was not matched."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from leadbill.console.lookups import entity_of, perform
from leadbill.domain.errors import DomainError
from leadbill.invoicing.models import OPEN_STATUSES, Invoice
from leadbill.invoicing.selectors import invoice_by_number
from leadbill.receivables.bank_models import BankEntry
from leadbill.receivables.bankfiles import parse_columns
from leadbill.receivables.statements import bank_entries, bank_entry_match, bank_statement_import, unmatched_entries
from leadbill.web.access import actor_of, console_view

MAX_UPLOAD = 20 * 1024 * 1024


@console_view()
def bank(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    open_invoices = (
        Invoice.objects.filter(entity=entity, kind="invoice", status__in=OPEN_STATUSES)
        .order_by("number")
        .values_list("number", "currency")[:2000]
    )
    context = {
        "unmatched": unmatched_entries(entity)[:200],
        "recent": bank_entries(entity, "matched").select_related("invoice").order_by("-imported_at", "-pk")[:20],
        "open_invoices": list(open_invoices), "nav": "bank",
    }  # fmt: skip
    return render(request, "console/bank.html", context)


def _to_bank(request: HttpRequest) -> HttpResponse:
    return redirect("console:bank", entity=entity_of(request).slug)


@require_POST
@console_view()
def bank_import(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    upload = request.FILES.get("file")

    def load() -> str:
        if upload is None:
            raise DomainError("choose a statement file", field="file")
        if upload.size > MAX_UPLOAD:
            raise DomainError(f"{upload.name} is larger than {MAX_UPLOAD // (1024 * 1024)} MB", field="file")
        fmt = request.POST.get("format") or None
        text = request.POST.get("columns", "").strip()
        result = bank_statement_import(
            actor=actor_of(request), entity=entity, content=upload.read(), file_name=upload.name or "statement",
            format=fmt if fmt in ("camt", "csv") else None, columns=parse_columns(text) if text else None,
        )  # fmt: skip
        c = result.counts()
        refused = f"; {len(result.problems)} rows refused: {result.problems[0]}" if result.problems else ""
        return (f"{result.file_name}: {c['new']} new entries ({c['matched']} matched, {c['unmatched']} unmatched, "
                f"{c['ignored']} debits ignored), {c['duplicate']} imported before{refused}")  # fmt: skip

    return perform(request, load, refused="Statement not imported", then=lambda: _to_bank(request))


@require_POST
@console_view()
def bank_match(request: HttpRequest, pk: int) -> HttpResponse:
    entity = entity_of(request)
    entry = get_object_or_404(BankEntry, pk=pk, entity=entity)

    def match() -> str:
        number = request.POST.get("invoice", "").strip()
        try:
            invoice = invoice_by_number(entity, number)
        except LookupError:
            raise DomainError(f"no invoice numbered {number!r} here", field="invoice") from None
        bank_entry_match(actor=actor_of(request), entry=entry, invoice=invoice)
        return f"{entry.reference} recorded as a payment of {invoice.number}."

    return perform(request, match, refused="Not matched", then=lambda: _to_bank(request))
