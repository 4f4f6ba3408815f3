"""Receivables in the console: aging, statements, and the finance actions on credit and payments.

Every amount on these pages comes from `leadbill.receivables.selectors`; every action calls one
service of `leadbill.receivables.services` (one transaction, one audit row).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from leadbill.console.lookups import entity_of, invoice_or_404, partner_or_404, perform
from leadbill.documents.statement import statement_csv, statement_file_name, statement_pdf
from leadbill.domain.errors import DomainError
from leadbill.domain.money import amount_from_text, check_currency
from leadbill.invoicing.models import OPEN_STATUSES, Invoice, Payment
from leadbill.invoicing.selectors import display_number
from leadbill.invoicing.services import today_in
from leadbill.partners.models import Partner
from leadbill.receivables import dunning
from leadbill.receivables import services as ledger
from leadbill.receivables.reminder_models import ReminderPause
from leadbill.receivables.selectors import AGING_BUCKETS, aging, entity_receivables, statement, write_off_outcome
from leadbill.web.access import actor_of, console_view
from leadbill.web.inputs import day_input


@console_view()
def receivables(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    today = today_in(entity)
    rows = aging(entity, today)
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        t = totals.setdefault(row["currency"], {name: 0 for name, _, _ in AGING_BUCKETS} | {"total": 0})
        for name, _, _ in AGING_BUCKETS:
            t[name] += row[name]
        t["total"] += row["total"]
    chart = [
        {"currency": c, "bars": [{"bucket": name, "minor": t[name], "share": round(100 * t[name] / t["total"])
                                  if t["total"] else 0} for name, _, _ in AGING_BUCKETS]}
        for c, t in sorted(totals.items())
    ]  # fmt: skip
    context = {"rows": rows, "buckets": [name for name, _, _ in AGING_BUCKETS], "totals": totals, "chart": chart,
               "figures": entity_receivables(entity, today), "today": today, "nav": "receivables",
               "policy": dunning.policy_of(entity),
               "paused": ReminderPause.objects.filter(partner__entity=entity).select_related("partner")}  # fmt: skip
    return render(request, "console/receivables.html", context)


@require_POST
@console_view()
def reminders_switch(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    on = request.POST.get("enabled") == "on"

    def switch() -> str:
        dunning.policy_set(actor=actor_of(request), entity=entity, enabled=on)
        return "Reminders are on." if on else "Reminders are off."

    return perform(request, switch, refused="Reminders not changed",
                   then=lambda: redirect("console:receivables", entity=entity.slug))  # fmt: skip


@require_POST
@console_view()
def reminders_pause(request: HttpRequest, code: str) -> HttpResponse:
    partner = partner_or_404(entity_of(request), code)

    def pause() -> str:
        if request.POST.get("action") == "resume":
            dunning.reminders_resume(actor=actor_of(request), partner=partner)
            return "Reminders are on again."
        dunning.reminders_pause(actor=actor_of(request), partner=partner, reason=request.POST.get("reason", ""))
        return "Reminders are paused."

    return perform(request, pause, refused="Reminders not changed", then=lambda: _to_partner(partner))


def statement_range(request: HttpRequest, today: date, oldest_open: date | None = None) -> tuple[date, date]:
    """The range asked for (from, to); by default the last three months up to today, reaching back
    to the oldest invoice still open, so every open invoice is a line of the statement."""
    last = day_input(request.GET.get("to"), "to", today)
    default_first = (last.replace(day=1) - timedelta(days=62)).replace(day=1)
    if oldest_open is not None:
        default_first = min(default_first, oldest_open)
    first = day_input(request.GET.get("from"), "from", default_first)
    if first > last:
        raise DomainError("the range starts after it ends", field="from")
    return first, last


def statement_response(partner: Partner, request: HttpRequest) -> HttpResponse:
    """The partner's statement as PDF (default) or CSV; shared by the console and the portal."""
    today = today_in(partner.entity)
    oldest = (
        Invoice.objects.filter(partner=partner, kind="invoice", status__in=OPEN_STATUSES)
        .order_by("issue_date")
        .values_list("issue_date", flat=True)
        .first()
    )
    try:
        first, last = statement_range(request, today, oldest)
        currency = check_currency(request.GET.get("currency") or partner.currency)
    except DomainError as exc:
        return HttpResponse(f"{exc}", status=400, content_type="text/plain; charset=utf-8")
    st = statement(partner, currency, first, last)
    if request.GET.get("format") == "csv":
        response = HttpResponse(statement_csv(st), content_type="text/csv; charset=utf-8")
        name = statement_file_name(st, "csv")
    else:
        try:
            response = HttpResponse(statement_pdf(st), content_type="application/pdf")
        except DomainError as exc:
            return HttpResponse(f"cannot produce the statement: {exc}", status=409, content_type="text/plain")
        name = statement_file_name(st, "pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@console_view()
def partner_statement(request: HttpRequest, code: str) -> HttpResponse:
    return statement_response(partner_or_404(entity_of(request), code), request)


def _to_partner(partner: Partner) -> HttpResponse:
    return redirect("console:partner", entity=partner.entity.slug, code=partner.code)


@require_POST
@console_view()
def credit_apply(request: HttpRequest, code: str) -> HttpResponse:
    partner = partner_or_404(entity_of(request), code)
    number = request.POST.get("invoice", "").strip()
    text = request.POST.get("amount", "").strip()

    def apply() -> str:
        target = invoice_or_404(partner.entity, number, partner=partner) if number else None
        currency = target.currency if target else partner.currency
        minor = amount_from_text(text, currency, locale=partner.entity.locale) if text else None
        spent = ledger.credit_apply(actor=actor_of(request), partner=partner, currency=currency, invoice=target,
                                    amount_minor=minor)  # fmt: skip
        return "Credit applied to " + ", ".join(display_number(inv) for inv, _ in spent) + "."

    return perform(request, apply, refused="Credit not applied", then=lambda: _to_partner(partner))


@require_POST
@console_view()
def credit_refund(request: HttpRequest, code: str) -> HttpResponse:
    partner = partner_or_404(entity_of(request), code)

    def refund() -> str:
        minor = amount_from_text(request.POST.get("amount", ""), partner.currency, locale=partner.entity.locale)
        ledger.credit_refund(actor=actor_of(request), partner=partner, currency=partner.currency, amount_minor=minor,
                             reference=request.POST.get("reference", ""))  # fmt: skip
        return "Refund recorded."

    return perform(request, refund, refused="Refund not recorded", then=lambda: _to_partner(partner))


def _to_invoice(inv: Invoice) -> HttpResponse:
    return redirect("console:invoice", entity=inv.entity.slug, ref=display_number(inv))


@require_POST
@console_view()
def invoice_write_off(request: HttpRequest, ref: str) -> HttpResponse:
    inv = invoice_or_404(entity_of(request), ref)

    def write_off() -> str:
        ledger.invoice_write_off(actor=actor_of(request), invoice=inv, reason=request.POST.get("reason", ""))
        return write_off_outcome(inv) + "."

    return perform(request, write_off, refused="Not written off", then=lambda: _to_invoice(inv))


@require_POST
@console_view()
def payment_reverse(request: HttpRequest, ref: str, pk: int) -> HttpResponse:
    inv = invoice_or_404(entity_of(request), ref)
    payment = get_object_or_404(Payment, pk=pk, invoice=inv)

    def reverse() -> str:
        ledger.payment_reverse(actor=actor_of(request), payment=payment, reason=request.POST.get("reason", ""))
        return f"Payment reversed; {display_number(inv)} is open again."

    return perform(request, reverse, refused="Payment not reversed", then=lambda: _to_invoice(inv))
