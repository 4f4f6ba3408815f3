"""Invoice runs: pick a period, review the delivery summary with its anomalies, issue with progress.

After a run: "Email all" and "Download all" (a zip of the PDFs) as background tasks whose
progress the run page polls (`scheduling.run_actions`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from leadbill.console.lookups import entity_of, partner_or_404, perform
from leadbill.console.runs_support import PICKER_KINDS, anomaly_links, billed_in, pick_period, picker_values
from leadbill.domain import periods
from leadbill.domain.errors import DomainError
from leadbill.domain.numbers import whole_number
from leadbill.entities.models import Entity
from leadbill.invoicing.bounds import safety_release
from leadbill.invoicing.models import Invoice, InvoiceRun
from leadbill.invoicing.selectors import preview_as_dict, preview_totals
from leadbill.invoicing.services import invoice_run_preview, invoice_run_start, today_in
from leadbill.partners.models import Partner
from leadbill.scheduling.models import RunAction, RunActionKind, Schedule
from leadbill.scheduling.run_actions import email_progress, run_action_start, zip_chunks, zip_name
from leadbill.scheduling.selectors import scheduler_status, weekly_windows
from leadbill.web.access import actor_of, console_view

RECENT_RUNS = 20


def _recent_months(entity: Entity, count: int = 12) -> list[periods.Period]:
    today = today_in(entity)
    period = periods.month(today.year, today.month, entity.timezone)
    out = []
    for _ in range(count):
        out.append(period)
        period = period.previous()
    return out


def _picker(entity: Entity, values: dict[str, str], problems: dict[str, str] | None = None) -> dict[str, Any]:
    """The picker's choices, with what was chosen (or typed) kept."""
    months = _recent_months(entity)
    today = today_in(entity)
    last_week = periods.week(today, entity.timezone).previous()
    chosen = dict(values)
    chosen["kind"] = chosen.get("kind") or "month"
    chosen["month"] = chosen.get("month") or months[1].key
    chosen["week"] = chosen.get("week") or last_week.key
    code = chosen.get("partner")
    return {
        "months": months,
        "windows": weekly_windows(entity),
        "picked": chosen,
        "problems": problems or {},
        "now": timezone.now(),
        "kinds": PICKER_KINDS,
        "for_partner": Partner.objects.filter(entity=entity, code=code).first() if code else None,
    }


@console_view()
def runs(request: HttpRequest) -> HttpResponse:
    return _runs_page(request, entity_of(request), picker_values(request.GET))


def _runs_page(request: HttpRequest, entity: Entity, values: dict[str, str],
               problems: dict[str, str] | None = None) -> HttpResponse:  # fmt: skip
    context = {**_picker(entity, values, problems), **_runs_list(entity), "nav": "runs"}
    return render(request, "console/runs.html", context, status=400 if problems else 200)


def _runs_list(entity: Entity) -> dict[str, Any]:
    recent = list(InvoiceRun.objects.filter(entity=entity, mode="issue").order_by("-pk")[:RECENT_RUNS])
    scheduled = Schedule.objects.filter(entity=entity).exclude(frequency="manual").exists()
    return {"recent": recent, "scheduled": scheduled, "heartbeat": scheduler_status() if scheduled else None}


@console_view()
def run_preview(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    if not (request.GET.get("kind") or request.GET.get("period")):  # "Invoice now" from a partner: pick first
        return _runs_page(request, entity, picker_values(request.GET))
    picked = pick_period(entity, request.GET)
    if picked.problems or picked.period is None:
        return _runs_page(request, entity, picked.values, picked.problems)
    period, partner = picked.period, picked.partner
    if request.GET.get("kind"):  # the picker's fields: to the period's own address, which can be bookmarked
        query = {"period": period.key, **({"partner": partner.code} if partner else {})}
        return redirect(reverse("console:run_preview", kwargs={"entity": entity.slug}) + "?" + urlencode(query))
    preview = invoice_run_preview(entity=entity, period=period, partners=[partner.code] if partner else None)
    summary = preview_as_dict(preview)
    totals = preview_totals(preview, without_held=True)  # held documents wait for a release
    to_issue = sum(t["documents"] for t in totals.values())
    held = [{"code": d.partner.code, "name": d.partner.name, "reasons": d.held, "total_minor": d.draft.total_minor,
             "currency": d.draft.currency} for d in preview.drafts if d.held]  # fmt: skip
    for p in summary["partners"]:
        p["anomaly_links"] = anomaly_links(entity, period, p["partner"], p["anomalies"])
    context = {
        "summary": summary, "period": period, "partner": partner, "to_issue": to_issue, "totals": totals, "held": held,
        "anomalies": sum(1 for p in summary["partners"] if p["anomalies"]),
        "billed": billed_in(entity, period, summary["already_invoiced"]),
        "open": period.end > timezone.now(), "issue_and_send": entity.issue_and_send, "nav": "runs",
    }  # fmt: skip
    return render(request, "console/run_preview.html", context)


@require_POST
@console_view()
def run_issue(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    picked = pick_period(entity, request.POST)
    back = reverse("console:runs", kwargs={"entity": entity.slug})
    if picked.problems or picked.period is None:
        messages.error(request, "Not issued: " + "; ".join(f"{k}: {v}" for k, v in picked.problems.items()))
        return redirect(back)
    draft = request.POST.get("draft") == "1"
    scope: dict[str, object] | None = {"partners": [picked.partner.code]} if picked.partner else None
    try:
        run = invoice_run_start(actor=actor_of(request), entity=entity, period=picked.period, draft=draft,
                                send_email=entity.issue_and_send and not draft, scope=scope)  # fmt: skip
    except DomainError as exc:
        messages.error(request, f"Not issued: {exc}")
        query = {"period": picked.period.key, **({"partner": picked.partner.code} if picked.partner else {})}
        return redirect(reverse("console:run_preview", kwargs={"entity": entity.slug}) + "?" + urlencode(query))
    return redirect("console:run", entity=entity.slug, pk=run.pk)


@require_POST
@console_view()
def run_release(request: HttpRequest) -> HttpResponse:
    """Release a document the safety bounds held back: the next run issues it as the page showed it."""
    entity = entity_of(request)
    picked = pick_period(entity, request.POST)
    if picked.problems or picked.period is None:
        messages.error(request, "Not released: " + "; ".join(f"{k}: {v}" for k, v in picked.problems.items()))
        return redirect("console:runs", entity=entity.slug)
    period = picked.period
    held = partner_or_404(entity, request.POST.get("held_partner", ""))
    query = {"period": period.key, **({"partner": picked.partner.code} if picked.partner else {})}
    back = reverse("console:run_preview", kwargs={"entity": entity.slug}) + "?" + urlencode(query) + "#held"

    def release() -> str:
        safety_release(actor=actor_of(request), entity=entity, partner=held, period=period,
                       reason=request.POST.get("reason", ""),
                       seen_total_minor=whole_number(request.POST.get("seen_total", "")))  # fmt: skip
        return f"{held.name}'s document for {period.label()} is released: the next run issues it as shown."

    return perform(request, release, refused="Not released", then=lambda: redirect(back))


def _actions(run: InvoiceRun) -> dict[str, RunAction | None]:
    latest: dict[str, RunAction | None] = dict.fromkeys(RunActionKind.values)
    for action in RunAction.objects.filter(run=run).order_by("-pk")[:10]:
        latest[action.kind] = latest[action.kind] or action
    return latest


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
               "failures": run.summary.get("failures") or {}, "error": run.summary.get("error"), "nav": "runs",
               "held": run.summary.get("held") or {},
               "period_label": periods.parse(run.period_key, entity.timezone).label(),
               **_action_context(run)}  # fmt: skip
    template = "console/_run_progress.html" if request.headers.get("HX-Request") else "console/run.html"
    return render(request, template, context)


def _action_context(run: InvoiceRun) -> dict[str, Any]:
    actions = _actions(run)
    emailing = actions[RunActionKind.EMAIL]
    return {"email_action": emailing, "download_action": actions[RunActionKind.DOWNLOAD],
            "emails": email_progress(run) if emailing or run.send_email else {},
            "actions_busy": any(a is not None and a.finished_at is None for a in actions.values())}  # fmt: skip


@console_view()
def run_actions(request: HttpRequest, pk: int) -> HttpResponse:
    """The bulk actions' progress (htmx polls it while one is under way)."""
    run = get_object_or_404(InvoiceRun, entity=entity_of(request), pk=pk)
    return render(request, "console/_run_actions.html", {"run": run, "finished": run.finished_at is not None,
                                                          **_action_context(run)})  # fmt: skip


def _start(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    entity = entity_of(request)
    run = get_object_or_404(InvoiceRun, entity=entity, pk=pk)
    try:
        action = run_action_start(actor=actor_of(request), run=run, kind=kind)
    except DomainError as exc:
        messages.error(request, f"Not started: {exc}")
    else:
        label = "Emailing" if kind == RunActionKind.EMAIL else "Preparing the PDFs of"
        messages.success(request, f"{label} {action.total} document{'s' if action.total != 1 else ''}: "
                                  "progress below.")  # fmt: skip
    return redirect(reverse("console:run", kwargs={"entity": entity.slug, "pk": run.pk}) + "#run-actions")


@require_POST
@console_view()
def run_email_all(request: HttpRequest, pk: int) -> HttpResponse:
    return _start(request, pk, RunActionKind.EMAIL)


@require_POST
@console_view()
def run_download_all(request: HttpRequest, pk: int) -> HttpResponse:
    return _start(request, pk, RunActionKind.DOWNLOAD)


@console_view()
def run_zip(request: HttpRequest, pk: int) -> HttpResponse:
    """The zip of the run's PDFs as the last finished "Download all" prepared them, streamed from the archive."""
    entity = entity_of(request)
    run = get_object_or_404(InvoiceRun.objects.select_related("entity"), entity=entity, pk=pk)
    ready = RunAction.objects.filter(run=run, kind=RunActionKind.DOWNLOAD, finished_at__isnull=False).order_by("-pk")
    action = ready.first()
    if action is None:
        messages.error(request, "Prepare the PDFs first with Download all; the zip link appears when they are ready.")
        return redirect("console:run", entity=entity.slug, pk=pk)
    action.run = run
    response = StreamingHttpResponse(zip_chunks(action), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{zip_name(run)}"'
    return response
