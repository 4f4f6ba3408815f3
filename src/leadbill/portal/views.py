"""The partner portal: every query starts from the signed-in user's partner, so others' data is 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode

from leadbill.console.forms import PartnerForm
from leadbill.console.views.invoices import download, fmt_of, invoice_filters, keyset
from leadbill.deliveries.models import Delivery, Return
from leadbill.deliveries.services import return_request
from leadbill.documents.models import Format
from leadbill.domain.errors import DomainError
from leadbill.invoicing.models import Invoice, Status
from leadbill.invoicing.selectors import partner_balance
from leadbill.invoicing.services import today_in
from leadbill.loader.schema import SetupFileError
from leadbill.loader.services import partner_apply
from leadbill.partners.models import Partner
from leadbill.partners.selectors import partner_as_dict
from leadbill.payouts.services import onboarding_due
from leadbill.receivables.selectors import open_minor, partner_accounts, reversed_payments
from leadbill.web.access import actor_of, portal_view
from leadbill.web.reports import report_page

ACCOUNT_FIELDS = ("contact_name", "contact_email", "contact_phone", "billing_emails", "line1", "line2", "postal_code",
                  "city", "country", "tax_id", "buyer_reference", "legal_name")  # fmt: skip


def partner_of(request: HttpRequest) -> Partner:
    return request.partner  # type: ignore[attr-defined,no-any-return]


def own_documents(partner: Partner) -> Any:
    """The partner's issued documents; drafts are the business's work in progress, never shown."""
    return Invoice.objects.filter(partner=partner).exclude(status=Status.DRAFT).select_related("partner")


def own_document(partner: Partner, ref: str) -> Invoice:
    invoice = own_documents(partner).filter(number=ref).first()
    if invoice is None:
        raise Http404("no such document")
    return invoice


@portal_view
def invoices(request: HttpRequest) -> HttpResponse:
    partner = partner_of(request)
    if request.partner_user.is_main_contact and onboarding_due(partner):
        return redirect("portal:onboarding")
    today = today_in(partner.entity)
    qs, chosen = invoice_filters(own_documents(partner), request.GET, today)
    rows, after = keyset(qs, request.GET.get("after"))
    query = {k: v for k, v in chosen.items() if v}
    context = {"rows": rows, "chosen": chosen, "today": today, "nav": "invoices",
               "balance": partner_balance(partner) if partner.is_prepay else None,
               "accounts": list(partner_accounts(partner, today).values()),
               "next_url": "?" + urlencode({**query, "after": after}) if after else None}  # fmt: skip
    return render(request, "portal/invoices.html", context)


@portal_view
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


@portal_view
def invoice(request: HttpRequest, ref: str) -> HttpResponse:
    partner = partner_of(request)
    inv = own_document(partner, ref)
    inv.open_minor = open_minor(inv)  # read once; the page shows it twice
    context = {"inv": inv, "lines": inv.lines.all(), "payments": inv.payments.order_by("paid_on", "pk"),
               "reversed_payments": reversed_payments(inv), "today": today_in(partner.entity), "nav": "invoices",
               **how_to_pay(inv)}  # fmt: skip
    return render(request, "portal/invoice.html", context)


@portal_view
def invoice_pdf(request: HttpRequest, ref: str) -> HttpResponse:
    return download(request, own_document(partner_of(request), ref), Format.PDF)


@portal_view
def invoice_einvoice(request: HttpRequest, ref: str) -> HttpResponse:
    fmt = fmt_of(request)
    if fmt is None:
        return HttpResponse("format is ubl or facturx", status=400, content_type="text/plain")
    return download(request, own_document(partner_of(request), ref), fmt)


@portal_view
def report(request: HttpRequest) -> HttpResponse:
    return report_page(request, partner_of(request), "portal/report.html", {"nav": "report"})


@portal_view
def returns(request: HttpRequest) -> HttpResponse:
    """The partner's return requests, and a form to return a lead (its policy decides)."""
    partner = partner_of(request)
    error = ""
    if request.method == "POST":
        if not partner.returns_allowed:
            raise Http404("returns are not allowed for this partner")
        lead = request.POST.get("lead", "").strip()
        reason = request.POST.get("reason", "").strip()
        delivery = (Delivery.objects.filter(partner=partner, lead_id=lead).order_by("-delivered_at").first()
                    or Delivery.objects.filter(partner=partner, external_id=lead).first()) if lead else None  # fmt: skip
        if delivery is None:
            error = f"No lead {lead!r} was delivered to {partner.name}." if lead else "Give the lead's id."
        elif not reason:
            error = "Say why the lead is returned."
        else:
            try:
                ret = return_request(actor=actor_of(request), delivery=delivery, reason=reason[:200])
            except DomainError as exc:
                error = str(exc.message)
            else:
                messages.success(
                    request, f"Return of lead {lead} {'accepted' if ret.status == 'accepted' else 'requested'}."
                )
                return redirect("portal:returns")
    rows = (
        Return.objects.filter(delivery__partner=partner)
        .select_related("delivery")
        .order_by("-requested_at", "-pk")[:200]
    )
    status = 400 if error else 200
    return render(request, "portal/returns.html", {"rows": rows, "error": error, "nav": "returns",
                                                   "form": request.POST if error else {}}, status=status)  # fmt: skip


@portal_view
def account(request: HttpRequest) -> HttpResponse:
    """Contacts and billing details; the terms (prices, mode, caps) stay the business's to set."""
    partner = partner_of(request)
    mapping = partner_as_dict(partner)
    initial = PartnerForm.initial_from(mapping)
    form = PartnerForm(request.POST or None, initial=initial)
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
        form = PartnerForm(data, initial=initial)
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
