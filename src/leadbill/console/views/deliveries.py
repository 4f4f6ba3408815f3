"""The deliveries log (keyset pages over millions of rows), its CSV export (streamed) and CSV import (a task)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from leadbill.catalog.models import LeadType
from leadbill.console.lookups import cursor_read, cursor_text, day_or_none, entity_of, partner_choices
from leadbill.deliveries.importing import DELIVERY_COLUMNS, DELIVERY_OPTIONAL_COLUMNS
from leadbill.deliveries.models import DeliveryImport
from leadbill.deliveries.selectors import (
    DELIVERY_STATUS_LABELS,
    DELIVERY_STATUSES,
    SUMMARY_MAX_ROWS,
    deliveries_log,
    deliveries_summary,
    deliveries_totals,
)
from leadbill.deliveries.services import MAX_UPLOAD_BYTES, delivery_import_queue
from leadbill.documents.formatting import Formatter
from leadbill.domain import csvsafe, periods
from leadbill.domain.errors import DomainError
from leadbill.domain.money import micros_to_unit_price
from leadbill.entities.models import Entity
from leadbill.invoicing.selectors import DRAFT_PREFIX
from leadbill.partners.models import Partner, Profile
from leadbill.web.access import actor_of, console_view

PAGE = 50
EXPORT_CHUNK = 5_000
STATUS_SCAN = 20_000  # deliveries probed for a status per page: bounds the page's time on any table size


def _filters(entity: Entity, params: Any) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Query-string filters resolved to objects; unknown codes are reported, never ignored silently."""
    chosen = {k: params.get(k, "").strip() for k in ("partner", "profile", "lead_type", "from", "to", "status")}
    problems = []
    kwargs: dict[str, Any] = {}
    partner = None
    if chosen["partner"]:
        partner = Partner.objects.filter(entity=entity, code=chosen["partner"]).first()
        if partner is None:
            problems.append(f"no partner {chosen['partner']!r}")
        kwargs["partner"] = partner
    if chosen["profile"]:
        profiles = Profile.objects.filter(partner__entity=entity, code=chosen["profile"])
        if partner is not None:
            profiles = profiles.filter(partner=partner)
        profile = profiles.first()
        if profile is None:
            problems.append(f"no profile {chosen['profile']!r}")
        kwargs["profile"] = profile
    if chosen["lead_type"]:
        lead_type = LeadType.objects.filter(entity=entity, code=chosen["lead_type"]).first()
        if lead_type is None:
            problems.append(f"no lead type {chosen['lead_type']!r}")
        kwargs["lead_type"] = lead_type
    tz = periods.zone(entity.timezone)
    for key, name, shift in (("from", "start", 0), ("to", "end", 1)):
        if chosen[key]:
            day = day_or_none(chosen[key])
            if day is None:
                problems.append(f"{key}: not a date (YYYY-MM-DD)")
            else:
                kwargs[name] = periods.local_midnight(day + timedelta(days=shift), tz)
    if chosen["status"]:
        if chosen["status"] in DELIVERY_STATUSES:
            kwargs["status"] = chosen["status"]
        else:
            problems.append(f"unknown status {chosen['status']!r}")
    return kwargs, chosen, problems


@console_view()
def deliveries(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    kwargs, chosen, problems = _filters(entity, request.GET)
    rows: list[Any] = []
    next_url = scanned_to = None
    summary: list[dict[str, Any]] = []
    summary_capped = summary_whole = False
    if not problems:
        before = cursor_read(request.GET.get("after"))
        window: list[Any] = []
        selection = deliveries_log(entity, before=before, scan=STATUS_SCAN, window=window, **kwargs)
        page = list(selection[: PAGE + 1])
        if not before:  # totals of the whole selection, shown on its first page
            totals = deliveries_totals(entity, **{k: v for k, v in kwargs.items() if k != "status"},
                                       status=kwargs.get("status") or "")  # fmt: skip
            if totals is not None:  # the billing summary answers it, whatever the number of deliveries
                summary, summary_whole = totals, True
            else:
                bounds = deliveries_log(entity, partner=kwargs.get("partner"), start=kwargs.get("start"),
                                        end=kwargs.get("end"))  # fmt: skip
                summary, summary_capped = deliveries_summary(selection, bounds=bounds)
            counts = Formatter(entity.locale, entity.currency)
            for group in summary:
                group["count_text"], group["billed_text"] = counts.count(group["count"]), counts.count(group["billed"])
        rows = page[:PAGE]
        for row in rows:
            row.billed_invoice_ref = row.billed_invoice_number or f"{DRAFT_PREFIX}{row.billed_invoice_id}"
        query = {k: v for k, v in chosen.items() if v}
        if len(page) > PAGE:
            last = rows[-1]
            next_url = "?" + urlencode({**query, "after": cursor_text(last.delivered_at, last.pk)})
        elif window:  # the status probe stopped at its window: offer to search older deliveries
            scanned_to = window[0][0]
            next_url = "?" + urlencode({**query, "after": cursor_text(*window[0])})
    context = {
        "rows": rows, "chosen": chosen, "problems": problems, "next_url": next_url,
        "statuses": [(s, DELIVERY_STATUS_LABELS[s]) for s in DELIVERY_STATUSES],
        "summary": summary, "summary_capped": summary_capped, "summary_whole": summary_whole,
        "summary_max": Formatter(entity.locale, entity.currency).count(SUMMARY_MAX_ROWS),
        "paged": bool(request.GET.get("after")), "scanned_to": scanned_to, "scan": STATUS_SCAN,
        "partners": partner_choices(entity),
        "lead_types": LeadType.objects.filter(entity=entity).order_by("name"),
        "export_url": reverse("console:deliveries_export", kwargs={"entity": entity.slug}) + "?" + urlencode({k: v for k, v in chosen.items() if v}),
        "nav": "deliveries",
    }  # fmt: skip
    return render(request, "console/deliveries.html", context)


EXPORT_HEADER = ["delivered_at", "external_id", "lead_id", "partner", "profile", "lead_type", "price", "currency",
                 "status"]  # fmt: skip


def _status(row: Any) -> str:
    if row.is_returned:
        return "returned"
    if row.return_requested:
        return "return requested"
    return "billed" if row.is_billed else "unbilled"


@console_view()
def deliveries_export(request: HttpRequest) -> HttpResponse:
    """Every delivery the filters select, as CSV, in keyset chunks: memory stays flat.

    Text cells a spreadsheet would run as formulas are neutralised (csvsafe); the price is a Decimal, a number.
    """
    entity = entity_of(request)
    kwargs, _, problems = _filters(entity, request.GET)
    if problems:
        return HttpResponse("; ".join(problems), status=400, content_type="text/plain; charset=utf-8")
    tz = periods.zone(entity.timezone)

    def chunks() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csvsafe.writer(buffer, lineterminator="\n")
        writer.writerow(EXPORT_HEADER)
        before = None
        while True:
            page = list(deliveries_log(entity, before=before, **kwargs)[:EXPORT_CHUNK])
            for d in page:
                writer.writerow([d.delivered_at.astimezone(tz).isoformat(), d.external_id, d.lead_id, d.partner.code,
                                 d.profile.code if d.profile else "", d.lead_type.code,
                                 micros_to_unit_price(d.price_micros) if d.price_micros is not None else "",
                                 d.currency, _status(d)])  # fmt: skip
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            if len(page) < EXPORT_CHUNK:
                return
            before = (page[-1].delivered_at, page[-1].pk)

    name = f"deliveries-{entity.slug}.csv"
    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@console_view()
def deliveries_import(request: HttpRequest) -> HttpResponse:
    """Upload a delivery CSV (the CLI's format, docs/csv-import.md); the import runs as a task."""
    entity = entity_of(request)
    problem = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise DomainError("choose a CSV file", field="file")
            if upload.size and upload.size > MAX_UPLOAD_BYTES:  # before reading it
                raise DomainError(f"{upload.name} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; "
                                  "import it with `leadbill import deliveries`", field="file")  # fmt: skip
            queued = delivery_import_queue(actor=actor_of(request), entity=entity,
                                           content=upload.read(MAX_UPLOAD_BYTES + 1), file_name=upload.name or "")  # fmt: skip
        except DomainError as exc:
            problem = exc.message
        else:
            return redirect("console:deliveries_import_status", entity=entity.slug, pk=queued.pk)
    recent = DeliveryImport.objects.filter(entity=entity).defer("content").order_by("-created_at", "-pk")[:10]
    context = {"problem": problem, "recent": recent, "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024), "nav": "deliveries",
               "columns": DELIVERY_COLUMNS, "optional": DELIVERY_OPTIONAL_COLUMNS}  # fmt: skip
    return render(request, "console/deliveries_import.html", context, status=400 if problem else 200)


SHOWN_ERRORS = 500


@console_view()
def deliveries_import_status(request: HttpRequest, pk: int) -> HttpResponse:
    """An upload's progress (htmx polls it while it runs) and then its result, bad rows by row and field."""
    entity = entity_of(request)
    upload = get_object_or_404(DeliveryImport.objects.defer("content"), pk=pk, entity=entity)
    result = upload.result or {}
    errors = result.get("errors", [])
    context = {"upload": upload, "result": result, "errors": errors[:SHOWN_ERRORS],
               "more_errors": max(0, result.get("bad_rows", 0) - min(len(errors), SHOWN_ERRORS)), "nav": "deliveries"}  # fmt: skip
    template = (
        "console/_import_progress.html"
        if request.headers.get("HX-Request")
        else "console/deliveries_import_status.html"
    )
    return render(request, template, context)
