"""Payment files for ready payouts (from the payouts list), their pages, the ACH settings, and payout spreadsheets."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from leadbill.audit.models import AuditEvent
from leadbill.console.lookups import day_or_none, entity_of
from leadbill.domain import payouts as lifecycle
from leadbill.domain.errors import DomainError
from leadbill.domain.numbers import whole_number
from leadbill.invoicing.services import today_in
from leadbill.payment_files import services
from leadbill.payment_files.builders import sheets
from leadbill.payment_files.builders.nacha import ACH_HELP
from leadbill.payment_files.models import Kind, PaymentFile, Status
from leadbill.payment_files.selectors import ach_originator_of, file_of, files_of, items_of, sheet_payouts, sheet_rows
from leadbill.web.access import actor_of, console_view
from leadbill.web.inputs import day_input

LIST_MAX = 200


def attachment(content: bytes, media_type: str, name: str, sha256: str) -> HttpResponse:
    """A download, never shown inline, its SHA-256 as the ETag."""
    response = HttpResponse(content, content_type=media_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["ETag"] = f'"{sha256}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _file_or_404(request: HttpRequest, pk: int) -> PaymentFile:
    file = file_of(entity_of(request), pk)
    if file is None:
        raise Http404("no such payment file")
    return file


def _ids(values: list[str]) -> list[int]:
    """Payout ids from checkboxes; anything not a whole number is dropped (the service names unknown ids)."""
    ids = [whole_number(v, max_digits=18) for v in values[: services.MAX_PAYOUTS + 1]]
    return [i for i in ids if i is not None]


@console_view()
def file_list(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    files = list(files_of(entity)[:LIST_MAX])
    return render(request, "console/payment_files.html", {"files": files, "nav": "payouts",
                                                          "ach": ach_originator_of(entity)})  # fmt: skip


@require_POST
@console_view()
def file_new(request: HttpRequest) -> HttpResponse:
    """From the payouts list: the ticked ready payouts into one file of the chosen kind."""
    entity = entity_of(request)
    post = request.POST
    ids = _ids(post.getlist("payout"))
    back = redirect(reverse("console:payouts", kwargs={"entity": entity.slug}) + "?status=ready")
    try:
        day = day_input(post.get("execution_date"), "execution_date", today_in(entity))
        file = services.payment_file_create(actor=actor_of(request), entity=entity, kind=post.get("kind", ""),
                                            payout_ids=ids, execution_date=day,
                                            skip_invalid=post.get("skip_invalid") == "on")  # fmt: skip
    except services.PaymentFileError as exc:
        messages.error(request, "No payment file was made." if "no payment file" in str(exc) else "Nothing to pay.")
        for problem in exc.problems:
            messages.error(request, str(problem))
        return back
    except DomainError as exc:
        messages.error(request, f"No payment file: {exc}")
        return back
    said = f"Payment file {file.message_id} made: {file.count} payment{'s' * (file.count != 1)}."
    if file.skipped:
        said += f" Left out, as asked: {len(file.skipped)} (see the file)."
    messages.success(request, said)
    return redirect("console:payment_file", entity=entity.slug, pk=file.pk)


def history(file: PaymentFile) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(Q(object_type="payment_files.paymentfile", object_id=str(file.pk)))
                .order_by("at", "pk"))  # fmt: skip


@console_view()
def file_detail(request: HttpRequest, pk: int) -> HttpResponse:
    file = _file_or_404(request, pk)
    context = {"file": file, "items": items_of(file), "history": history(file), "today": today_in(entity_of(request)),
               "nav": "payouts"}  # fmt: skip
    return render(request, "console/payment_file.html", context)


@console_view()
def file_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The file as it was made: the stored bytes, whatever changed since."""
    file = _file_or_404(request, pk)
    return attachment(bytes(file.content), file.media_type, file.name, file.sha256)


@require_POST
@console_view()
def file_sent(request: HttpRequest, pk: int) -> HttpResponse:
    file = _file_or_404(request, pk)
    try:
        day = day_input(request.POST.get("sent_on"), "sent_on", today_in(entity_of(request)))
        done = services.payment_file_mark_sent(actor=actor_of(request), file=file, sent_on=day)
    except services.PaymentFileError as exc:
        messages.error(request, f"Not marked sent, nothing paid: the payouts service refused {len(exc.problems)}.")
        for problem in exc.problems:
            messages.error(request, str(problem))
    except DomainError as exc:
        messages.error(request, f"Not marked sent: {exc}")
    else:
        if done.already:
            messages.info(request, f"{file.message_id} was already sent on {done.file.sent_on}; nothing changed.")
        else:
            messages.success(request, f"{file.message_id} sent on {done.file.sent_on}: {len(done.paid)} payout"
                                      f"{'s' * (len(done.paid) != 1)} paid.")  # fmt: skip
    return redirect("console:payment_file", entity=entity_of(request).slug, pk=file.pk)


@require_POST
@console_view()
def file_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    file = _file_or_404(request, pk)
    try:
        services.payment_file_cancel(actor=actor_of(request), file=file, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, f"Not cancelled: {exc}")
    else:
        messages.success(request, f"{file.message_id} cancelled: its payouts can go into another file.")
    return redirect("console:payment_file", entity=entity_of(request).slug, pk=file.pk)


@console_view()
def ach_settings(request: HttpRequest) -> HttpResponse:
    """The ACH originator details: the form, and on POST only the fields it shows."""
    entity = entity_of(request)
    current = ach_originator_of(entity)
    values = {f: getattr(current, f) if current else "" for f in services.ACH_FIELDS}
    problems: dict[str, str] = {}
    if request.method == "POST":
        given = {f: request.POST.get(f, "") for f in services.ACH_FIELDS if f in request.POST}
        try:
            services.ach_originator_set(actor=actor_of(request), entity=entity, values=given)
        except services.AchSettingsError as exc:
            problems = exc.problems
            values.update(given)
        else:
            messages.success(request, "ACH settings saved.")
            return redirect("console:ach_settings", entity=entity.slug)
    fields = [{"name": f, "label": f.replace("_", " ").capitalize(), "value": values[f], "help": ACH_HELP[f], "error": problems.get(f, "")}
              for f in services.ACH_FIELDS]  # fmt: skip
    return render(request, "console/ach_settings.html", {"fields": fields, "nav": "payouts"})


@console_view()
def payout_sheet(request: HttpRequest) -> HttpResponse:
    """Payouts with their lines as xlsx or CSV: the payouts list's filters, or a range of period ends."""
    entity = entity_of(request)
    get = request.GET
    fmt = "csv" if get.get("format") == "csv" else "xlsx"
    status = get.get("status", "")
    qs = sheet_payouts(entity, ids=_ids(get.getlist("payout")) or None, first_day=day_or_none(get.get("from")),
                       last_day=day_or_none(get.get("to")),
                       status=status if status in lifecycle.STATUSES else None)  # fmt: skip
    if get.get("partner"):
        qs = qs.filter(partner__code=get["partner"])
    if get.get("period"):
        qs = qs.filter(period_key=get["period"])
    rows = sheet_rows(qs)
    content = sheets.xlsx_bytes(rows) if fmt == "xlsx" else sheets.csv_bytes(rows)
    name = f"{entity.slug}-payouts.{fmt}"
    return attachment(content, sheets.XLSX if fmt == "xlsx" else sheets.CSV, name, hashlib.sha256(content).hexdigest())


KIND_CHOICES = [(k.value, k.label) for k in Kind]
__all__ = ["KIND_CHOICES", "Status"]
