"""Invoice runs: pick a period, review the delivery summary with its anomalies, issue with progress."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from leadbill.console.lookups import entity_of
from leadbill.domain import periods
from leadbill.domain.errors import DomainError
from leadbill.entities.models import Entity
from leadbill.invoicing.models import Invoice, InvoiceRun
from leadbill.invoicing.selectors import preview_as_dict, preview_totals
from leadbill.invoicing.services import invoice_run_preview, invoice_run_start, today_in
from leadbill.web.access import actor_of, console_view


def _recent_months(entity: Entity, count: int = 12) -> list[periods.Period]:
    today = today_in(entity)
    period = periods.month(today.year, today.month, entity.timezone)
    out = []
    for _ in range(count):
        out.append(period)
        period = period.previous()
    return out


@console_view()
def runs(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    months = _recent_months(entity)
    recent = InvoiceRun.objects.filter(entity=entity, mode="issue").order_by("-pk")[:20]
    context = {"months": months, "default": months[1].key, "recent": recent, "nav": "runs"}
    return render(request, "console/runs.html", context)


def _period(entity: Entity, text: str) -> periods.Period:
    return periods.parse(text or "", entity.timezone)


@console_view()
def run_preview(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    try:
        period = _period(entity, request.GET.get("period", ""))
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("console:runs", entity=entity.slug)
    preview = invoice_run_preview(entity=entity, period=period)
    summary = preview_as_dict(preview)
    totals = preview_totals(preview)
    to_issue = sum(t["documents"] for t in totals.values())
    anomalies = sum(1 for p in summary["partners"] if p["anomalies"])
    context = {
        "summary": summary, "period": period, "to_issue": to_issue, "anomalies": anomalies, "totals": totals,
        "open": period.end > timezone.now(), "nav": "runs",
    }  # fmt: skip
    return render(request, "console/run_preview.html", context)


@require_POST
@console_view()
def run_issue(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    try:
        period = _period(entity, request.POST.get("period", ""))
        run = invoice_run_start(actor=actor_of(request), entity=entity, period=period,
                                draft=request.POST.get("draft") == "1")  # fmt: skip
    except DomainError as exc:
        messages.error(request, f"Not issued: {exc}")
        return redirect("console:runs", entity=entity.slug)
    return redirect("console:run", entity=entity.slug, pk=run.pk)


@console_view()
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entity = entity_of(request)
    run = get_object_or_404(InvoiceRun, entity=entity, pk=pk)
    progress = run.summary.get("progress") or {}
    total = progress.get("total") or 0
    done = progress.get("done") or 0
    invoices = Invoice.objects.filter(run=run).select_related("partner").order_by("series", "sequence", "pk")
    context = {"run": run, "done": done, "total": total, "percent": int(100 * done / total) if total else 0,
               "finished": run.finished_at is not None, "invoices": invoices[:500], "count": invoices.count(),
               "failures": run.summary.get("failures") or {}, "error": run.summary.get("error"), "nav": "runs"}  # fmt: skip
    template = "console/_run_progress.html" if request.headers.get("HX-Request") else "console/run.html"
    return render(request, template, context)
