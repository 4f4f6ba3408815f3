"""The partner portal: every query starts from the signed-in user's partner, so others' data is 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode

from leadbill.catalog.ratecard import current_period, rate_card
from leadbill.console.forms import PartnerForm
from leadbill.console.views.invoices import download, fmt_of, invoice_filters, keyset
from leadbill.documents.models import Format
from leadbill.documents.ratecard import rate_card_file_name, rate_card_pdf
from leadbill.domain.errors import DomainError
from leadbill.invoicing.models import PERIOD_DOCUMENT, Invoice, Kind, Status
from leadbill.invoicing.selectors import partner_balance, preview_totals
from leadbill.invoicing.services import invoice_run_preview, today_in
from leadbill.loader.schema import SetupFileError
from leadbill.loader.services import partner_apply
from leadbill.partners.models import Partner
from leadbill.partners.selectors import partner_as_dict
from leadbill.portal.returns import returns_page
from leadbill.receivables.selectors import open_minor, partner_accounts, reversed_payments
from leadbill.selfbilling.services import onboarding_due
from leadbill.web.access import actor_of, portal_view
from leadbill.web.reports import report_page

ACCOUNT_FIELDS = ("contact_name", "contact_email", "contact_phone", "billing_emails", "line1", "line2", "postal_code",
                  "city", "region", "country", "tax_id", "buyer_reference", "legal_name")  # fmt: skip


def partner_of(request: HttpRequest) -> Partner:
    return request.partner  # type: ignore[attr-defined,no-any-return]


def buyer_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page about leads bought (invoices, lead report, returns, rate card): 404 to a supplier-only partner."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not partner_of(request).is_buyer:
            raise Http404("this page is for partners who buy leads")
        return view(request, *args, **kwargs)

    return portal_view(wrapper)


def own_documents(partner: Partner) -> Any:
    """The partner's issued documents; drafts are the business's work in progress, never shown."""
    return Invoice.objects.filter(partner=partner).exclude(status=Status.DRAFT).select_related("partner")


def own_document(partner: Partner, ref: str) -> Invoice:
    invoice = own_documents(partner).filter(number=ref).first()
    if invoice is None:
        raise Http404("no such document")
    return invoice


def voiding_note(inv: Invoice) -> Invoice | None:
    """The credit note that reversed a void invoice (None for any other document)."""
    if inv.status != Status.VOID:
        return None
    return inv.corrections.filter(kind=Kind.CREDIT_NOTE).exclude(status=Status.DRAFT).order_by("pk").first()


@portal_view
def invoices(request: HttpRequest) -> HttpResponse:
    partner = partner_of(request)
    if request.partner_user.is_main_contact and onboarding_due(partner):
        return redirect("portal:onboarding")
    if not partner.is_buyer:  # a supplier-only partner's home is its payouts
        return redirect("portal:payouts")
    today = today_in(partner.entity)
    qs, chosen = invoice_filters(own_documents(partner), request.GET, today)
    notes = Invoice.objects.filter(kind=Kind.CREDIT_NOTE).exclude(status=Status.DRAFT).only("number", "corrects_id")
    qs = qs.prefetch_related(Prefetch("corrections", queryset=notes, to_attr="credit_notes"))
    rows, after = keyset(qs, request.GET.get("after"))
    query = {k: v for k, v in chosen.items() if v}
    context = {"rows": rows, "chosen": chosen, "today": today, "nav": "invoices",
               "balance": partner_balance(partner) if partner.is_prepay else None,
               "accounts": list(partner_accounts(partner, today).values()),
               "next_url": "?" + urlencode({**query, "after": after}) if after else None}  # fmt: skip
    return render(request, "portal/invoices.html", context)


@buyer_view
def to_date(request: HttpRequest) -> HttpResponse:
    """Leads and amount so far this billing period: the console's run preview for this one partner."""
    partner = partner_of(request)
    period = current_period(partner, timezone.now())
    try:
        preview = invoice_run_preview(entity=partner.entity, period=period, partners=[partner.code])
    except DomainError as exc:
        return render(request, "portal/_to_date.html", {"period": period, "problem": exc.message})
    totals = preview_totals(preview).get(partner.currency, {"leads": 0, "late": 0, "total_minor": 0})
    already = own_documents(partner).filter(PERIOD_DOCUMENT, period_start=period.start,
                                            period_end=period.end).exclude(status=Status.VOID).first()  # fmt: skip
    return render(request, "portal/_to_date.html", {"period": period, "totals": totals, "already": already})


@buyer_view
def statement(request: HttpRequest) -> HttpResponse:
    """The partner's own statement of account (PDF, or CSV with ?format=csv)."""
    from leadbill.console.views.receivables import statement_response

    return statement_response(partner_of(request), request)


def how_to_pay(inv: Invoice) -> dict[str, Any]:
    """The payment details printed on the invoice, for the portal page: account, remit-to, RF reference."""
    from leadbill.documents.build import payment_account, remit_to
    from leadbill.domain.payment_reference import rf_printed, rf_reference

    if inv.kind != "invoice" or not inv.number:
        return {}
    return {"pay_account": payment_account(inv.seller, inv.currency), "remit_to": remit_to(inv.seller),
            "payment_reference": rf_printed(rf_reference(inv.number))}  # fmt: skip


@buyer_view
def invoice(request: HttpRequest, ref: str) -> HttpResponse:
    partner = partner_of(request)
    inv = own_document(partner, ref)
    inv.open_minor = open_minor(inv)  # read once; the page shows it twice
    context = {"inv": inv, "lines": inv.lines.all(), "payments": inv.payments.order_by("paid_on", "pk"),
               "reversed_payments": reversed_payments(inv), "today": today_in(partner.entity), "nav": "invoices",
               "voided_by": voiding_note(inv), **how_to_pay(inv)}  # fmt: skip
    return render(request, "portal/invoice.html", context)


@buyer_view
def invoice_pdf(request: HttpRequest, ref: str) -> HttpResponse:
    """The archived PDF. A void invoice's original never changes, so the download first says it is void.

    The notice page links to the original (`?original=1`); the page's own viewer (`?inline=1`)
    sits under the VOID heading of the invoice page and gets the file directly.
    """
    inv = own_document(partner_of(request), ref)
    wanted = request.GET.get("original") == "1" or request.GET.get("inline") == "1"
    if inv.status == Status.VOID and not wanted:
        return render(request, "portal/void_download.html", {"inv": inv, "voided_by": voiding_note(inv),
                                                             "nav": "invoices"})  # fmt: skip
    response = download(request, inv, Format.PDF)
    if inv.status == Status.VOID and response.status_code == 200:
        name = response["Content-Disposition"].split('filename="', 1)[1].rstrip('"')
        disposition = response["Content-Disposition"].split(";", 1)[0]
        response["Content-Disposition"] = f'{disposition}; filename="VOID-{name}"'
    return response


@buyer_view
def invoice_einvoice(request: HttpRequest, ref: str) -> HttpResponse:
    fmt = fmt_of(request)
    if fmt is None:
        return HttpResponse("format is ubl or facturx", status=400, content_type="text/plain")
    return download(request, own_document(partner_of(request), ref), fmt)


@buyer_view
def report(request: HttpRequest) -> HttpResponse:
    return report_page(request, partner_of(request), "portal/report.html", {"nav": "report"})


@buyer_view
def returns(request: HttpRequest) -> HttpResponse:
    """The partner's leads to pick from, an upload of lead ids, and its return requests so far."""
    return returns_page(request, partner_of(request))


@buyer_view
def ratecard(request: HttpRequest) -> HttpResponse:
    """What the partner pays and on which terms, with the price changes already scheduled."""
    partner = partner_of(request)
    return render(request, "portal/ratecard.html", {"card": rate_card(partner, timezone.now()), "nav": "ratecard"})


@buyer_view
def ratecard_pdf(request: HttpRequest) -> HttpResponse:
    partner = partner_of(request)
    card = rate_card(partner, timezone.now())
    try:
        content = rate_card_pdf(card)
    except DomainError as exc:
        return HttpResponse(
            f"cannot produce the rate card: {exc}", status=409, content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{rate_card_file_name(card)}"'
    return response


@portal_view
def account(request: HttpRequest) -> HttpResponse:
    """Contacts and billing details; the terms (prices, mode, caps) stay the business's to set."""
    partner = partner_of(request)
    mapping = partner_as_dict(partner)
    locale = partner.entity.locale
    initial = PartnerForm.initial_from(mapping, locale)
    form = PartnerForm(request.POST or None, initial=initial, locale=locale)
    if request.method == "POST":
        data = request.POST.copy()
        for name in form.fields:  # everything but the account fields keeps its current value
            if name not in ACCOUNT_FIELDS:
                value = initial.get(name)
                if isinstance(value, bool):
                    if value:
                        data[name] = "on"
                    else:
                        data.pop(name, None)
                else:
                    data[name] = "" if value is None else str(value)
        form = PartnerForm(data, initial=initial, locale=locale)
        if form.is_valid():
            try:
                partner_apply(actor=actor_of(request), entity=partner.entity, code=partner.code, raw=form.as_mapping())
            except SetupFileError as exc:
                for problem in exc.problems:
                    field = form.field_for(problem.path)
                    form.add_error(field if field in ACCOUNT_FIELDS else None, problem.message)
            else:
                messages.success(request, "Your details are saved; new invoices use them.")
                return redirect("portal:account")
    fields = [form[name] for name in ACCOUNT_FIELDS]
    users = partner.users.select_related("user").order_by("user__email")
    return render(request, "portal/account.html", {"form": form, "fields": fields, "nav": "account", "users": users})
