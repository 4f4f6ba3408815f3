"""Payouts to suppliers: the list, computing a period, payouts by hand, the lifecycle and the self-billed documents."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_POST

from leadbill.audit.models import AuditEvent
from leadbill.console.forms import ManualPayoutForm
from leadbill.console.lookups import day_input, entity_of, partner_choices, payout_or_404, perform
from leadbill.console.views.invoices import download, fmt_of, keyset
from leadbill.console.views.payment_files import KIND_CHOICES
from leadbill.documents.models import Format
from leadbill.domain import payouts as lifecycle
from leadbill.domain import periods
from leadbill.domain.errors import DomainError
from leadbill.entities.models import Entity
from leadbill.invoicing.services import today_in
from leadbill.partners.models import Partner
from leadbill.payouts import services
from leadbill.payouts.models import Payout
from leadbill.payouts.selectors import payout_amounts, payouts_of
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument, SupplierInvoice
from leadbill.selfbilling.selectors import acceptance_blockers, type_code
from leadbill.web.access import actor_of, console_view

# What each move is called on its button, and what it asks for.
MOVES = {
    lifecycle.PENDING: "Submit for review",
    lifecycle.DRAFT: "Back to draft",
    lifecycle.READY: "Approve: ready to pay",
    lifecycle.PAID: "Mark paid",
    lifecycle.CANCELLED: "Cancel payout",
}


def _suppliers(entity: Entity) -> list[Partner] | None:
    return partner_choices(entity, suppliers=True)


def _last_month(entity: Entity) -> periods.Period:
    today = today_in(entity)
    return periods.month(today.year, today.month, entity.timezone).previous()


@console_view()
def payout_list(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    chosen = {k: request.GET.get(k, "").strip() for k in ("partner", "status", "period")}
    qs = payouts_of(entity).annotate(document_count=Count("documents"))
    if chosen["partner"]:
        qs = qs.filter(partner__code=chosen["partner"])
    if chosen["status"] in lifecycle.STATUSES:
        qs = qs.filter(status=chosen["status"])
    if chosen["period"]:
        qs = qs.filter(period_key=chosen["period"])
    rows, after = keyset(qs, request.GET.get("after"))
    shown = payout_amounts(rows)
    for po in rows:
        po.shown = shown[po.pk]  # type: ignore[attr-defined]
    estimated = any(a.estimated and a.self_billed for a in shown.values())
    query = {k: v for k, v in chosen.items() if v}
    suppliers = _suppliers(entity)
    context = {
        "rows": rows, "chosen": chosen, "statuses": lifecycle.STATUSES, "partners": suppliers,
        "form": _manual_form(entity, suppliers, None),
        "next_url": "?" + urlencode({**query, "after": after}) if after else None,
        "first_url": "?" + urlencode(query) if request.GET.get("after") else None,
        "default_period": _last_month(entity).key, "nav": "payouts", "estimated": estimated,
        "has_ready": any(po.status == lifecycle.READY for po in rows), "kinds": KIND_CHOICES,
        "today": today_in(entity), "sheet_query": urlencode(query),
    }  # fmt: skip
    return render(request, "console/payouts.html", context)


def _list_url(entity: Entity, **query: str) -> str:
    url = reverse("console:payouts", kwargs={"entity": entity.slug})
    return url + ("?" + urlencode(query) if query else "")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' * (n != 1)}"


def compute_summary(period: periods.Period, result: services.ComputeResult) -> str:
    """One sentence for the console: what computing the period did."""
    parts = [f"{len(result.created)} created", f"{len(result.refreshed)} refreshed"]
    if result.kept:
        parts.append(f"{len(result.kept)} kept as they are (past draft: "
                     f"{', '.join(f'{po.partner.code} {po.status}' for po in result.kept)})")  # fmt: skip
    if result.empty:
        parts.append(f"{_count(len(result.empty), 'supplier')} with nothing to pay ({', '.join(result.empty)})")
    return f"Payouts for {period.key}: {'; '.join(parts)}."


@require_POST
@console_view()
def payout_compute(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    post = request.POST
    done: dict[str, str] = {}

    def compute() -> str:
        period = periods.parse(post.get("period", ""), entity.timezone)
        partners = None
        code = post.get("partner", "").strip()
        if code:
            partner = Partner.objects.filter(entity=entity, code=code).first()
            if partner is None:
                raise DomainError(f"no partner {code!r}", field="partner")
            partners = [partner]
        result = services.payout_compute(actor=actor_of(request), entity=entity, period=period, partners=partners,
                                         allow_open_period=post.get("allow_open_period") == "on")  # fmt: skip
        flagged = [po for po in result.created + result.refreshed if po.anomalies]
        if flagged:
            messages.warning(request, f"{_count(len(flagged), 'payout')} with anomalies (leads left out): "
                                      f"{', '.join(po.partner.code for po in flagged)}; see each payout.")  # fmt: skip
        done["period"] = period.key
        return compute_summary(period, result)

    return perform(request, compute, refused="Not computed", then=lambda: redirect(_list_url(entity, **done)))


@console_view()
def payout_new(request: HttpRequest) -> HttpResponse:
    """A payout by hand: the form, and on POST the payout (or the form again with the reason)."""
    entity = entity_of(request)
    form = _manual_form(entity, _suppliers(entity), request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        rows: list[tuple[int, services.ManualLine]] = []
        try:
            partner = Partner.objects.filter(entity=entity, code=data["partner"]).first()
            if partner is None:
                raise DomainError(f"no partner {data['partner']!r}", field="partner")
            period = periods.parse(data["period"], entity.timezone)
            rows = form.lines()
            payout = services.payout_create(actor=actor_of(request), partner=partner, period=period,
                                            lines=[line for _, line in rows], currency=data["currency"].upper() or None,
                                            note=data["note"])  # fmt: skip
        except DomainError as exc:
            if exc.field in form.fields:
                form.add_error(exc.field, exc.message)
            else:
                form.add_error(None, _line_problem(exc, rows))
        else:
            messages.success(request, f"Payout {payout.pk} created as a draft for {partner.name}, {period.key}.")
            return redirect("console:payout", entity=entity.slug, pk=payout.pk)
    return render(request, "console/payout_new.html", {"form": form, "nav": "payouts"})


def _manual_form(entity: Entity, suppliers: list[Partner] | None, data: object) -> ManualPayoutForm:
    choices = None if suppliers is None else [(p.code, p.name) for p in suppliers]
    return ManualPayoutForm(data, suppliers=choices, locale=entity.locale, initial={"period": _last_month(entity).key})


def _line_problem(exc: DomainError, rows: list[tuple[int, services.ManualLine]]) -> str:
    """The service numbers the lines it was given from 0; the person sees the form's row numbers."""
    found = re.fullmatch(r"lines\[(\d+)\]\.(\w+)", exc.field or "")
    if found and int(found[1]) < len(rows):
        return f"line {rows[int(found[1])][0]} {found[2].replace('_', ' ')}: {exc.message}"
    return str(exc)


def history(payout: Payout, documents: list[SelfBilledDocument]) -> list[AuditEvent]:
    """The payout's audit trail, with its self-billed documents' (issued, archived)."""
    mine = Q(object_type="payouts.payout", object_id=str(payout.pk))
    # older rows name the model's app before self-billing had its own (issue 21)
    types = ["selfbilling.selfbilleddocument", "payouts.selfbilleddocument"]
    docs = Q(object_type__in=types, object_id__in=[str(d.pk) for d in documents])
    return list(AuditEvent.objects.filter(mine | docs).order_by("at", "pk"))


@console_view()
def payout_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entity = entity_of(request)
    payout = payout_or_404(entity, pk)
    documents = list(payout.documents.order_by("pk"))
    uploads = list(payout.supplier_invoices.defer("content").order_by("pk"))
    lines = list(payout.lines.all())
    before_ready = payout.status in (lifecycle.DRAFT, lifecycle.PENDING)
    in_files = list(payout.payment_file_items.select_related("file").order_by("-file__created_at"))
    context = {
        "payout": payout, "lines": lines, "uploads": uploads, "history": history(payout, documents),
        "documents": [{"doc": d, "type_code": type_code(d)} for d in documents],
        "moves": [(to, MOVES[to]) for to in lifecycle.NEXT[payout.status]],
        # No generate action while the switch is off (the service refuses too): it could only fail.
        "can_generate": entity.self_billing and payout.status in (lifecycle.READY, lifecycle.PAID)
        and not any(d.is_live for d in documents) and not uploads, "shown": payout_amounts([payout])[payout.pk],
        "pay_blockers": acceptance_blockers(payout) if entity.self_billing_require_acceptance
        and payout.status == lifecycle.READY else [],
        "foreseen": _foreseen(payout, lines, uploads) if before_ready else None, "before_ready": before_ready,
        "today": today_in(entity), "nav": "payouts", "in_files": in_files,
        "held_by": next((i.file for i in in_files if i.active and i.file.status == "created"), None),
    }  # fmt: skip
    return render(request, "console/payout.html", context)


def _foreseen(payout: Payout, lines: list[object], uploads: list[SupplierInvoice]) -> str:
    """Before "ready": '' if it would get a self-invoice as things stand, else why not."""
    if uploads:
        return "The partner uploaded its own invoice for this payout."
    if not lines:
        return "The payout has no lines, so nothing to invoice."
    return sbs.why_no_self_invoice(payout)


def _back(entity: Entity, payout: Payout) -> Callable[[], HttpResponse]:
    return lambda: redirect("console:payout", entity=entity.slug, pk=payout.pk)


@require_POST
@console_view()
def payout_move(request: HttpRequest, pk: int) -> HttpResponse:
    entity = entity_of(request)
    payout = payout_or_404(entity, pk)
    post = request.POST
    to = post.get("to", "")

    def move() -> str:
        paid_on = day_input(post.get("paid_on"), "paid_on", today_in(entity)) if to == lifecycle.PAID else None
        moved = services.payout_transition(actor=actor_of(request), payout=payout, to=to, reason=post.get("reason", ""),
                                           reference=post.get("reference", ""), paid_on=paid_on)  # fmt: skip
        said = f"Payout {moved.pk} is {moved.status}."
        if to == lifecycle.READY:
            issued = [d.number for d in moved.documents.order_by("pk")]
            said += f" Self-billed: {', '.join(issued)}." if issued else f" No self-invoice: {moved.self_billing}"
        elif to == lifecycle.CANCELLED:
            reversals = [d.number for d in moved.documents.filter(role__endswith="_reversal").order_by("pk")]
            if reversals:
                said += f" Reversed by {', '.join(reversals)}."
        return said

    return perform(request, move, refused="Not changed", then=_back(entity, payout))


@require_POST
@console_view()
def payout_self_bill(request: HttpRequest, pk: int) -> HttpResponse:
    entity = entity_of(request)
    payout = payout_or_404(entity, pk)

    def generate() -> str:
        docs = sbs.self_billing_generate(actor=actor_of(request), payout=payout)
        if not docs:
            return "Nothing to self-bill: the payout has no lines."
        return f"Self-billed: {', '.join(d.number for d in docs)}."

    return perform(request, generate, refused="No self-invoice", then=_back(entity, payout))


def _self_billed_or_404(entity: Entity, pk: int) -> SelfBilledDocument:
    return get_object_or_404(SelfBilledDocument.objects.select_related("partner", "payout"), entity=entity, pk=pk)


@console_view()
def self_billed_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return download(request, _self_billed_or_404(entity_of(request), pk), Format.PDF)


@console_view()
def self_billed_einvoice(request: HttpRequest, pk: int) -> HttpResponse:
    fmt = fmt_of(request)
    if fmt is None:
        return HttpResponse("format is ubl or facturx", status=400, content_type="text/plain")
    return download(request, _self_billed_or_404(entity_of(request), pk), fmt)


@console_view()
def supplier_invoice_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The partner's own invoice, as uploaded."""
    return supplier_invoice_response(get_object_or_404(SupplierInvoice, payout__entity=entity_of(request), pk=pk))


def supplier_invoice_response(upload: SupplierInvoice) -> HttpResponse:
    """An uploaded invoice as an attachment (never rendered by the browser), for console and portal alike."""
    response = HttpResponse(bytes(upload.content), content_type=upload.media_type)
    response["Content-Disposition"] = content_disposition_header(True, upload.name or "invoice")
    response["X-Content-Type-Options"] = "nosniff"
    return response
