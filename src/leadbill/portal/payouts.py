"""Portal pages of a supplier: self-billing (onboarding and account), payouts and their documents.

Scoped like every portal page: each lookup starts from the signed-in user's partner. Only
the partner's main contact may accept or end the self-billing agreement; the acceptance
records who, when, from which address and which text.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from leadbill.console.views.invoices import download, fmt_of
from leadbill.console.views.payouts import supplier_invoice_response
from leadbill.documents.logos import logo_check
from leadbill.documents.models import Format
from leadbill.domain import selfbilling as sb
from leadbill.domain.errors import DomainError
from leadbill.domain.numbers import whole_number
from leadbill.partners.models import Partner
from leadbill.payouts.models import Payout
from leadbill.payouts.selectors import partner_payouts, payout_amounts
from leadbill.portal.forms import SellerDetailsForm
from leadbill.selfbilling import services
from leadbill.selfbilling.acceptance import PORTAL
from leadbill.selfbilling.agreement import VERSION, agreement_text
from leadbill.selfbilling.models import Agreement, SelfBilledDocument, SellerProfile, SupplierInvoice
from leadbill.selfbilling.selectors import awaiting_acceptance, type_code
from leadbill.web.access import actor_of, portal_view


def _partner(request: HttpRequest) -> Partner:
    return request.partner  # type: ignore[attr-defined,no-any-return]


def signer_of(request: HttpRequest) -> services.Signer:
    access = request.partner_user  # type: ignore[attr-defined]
    return services.Signer(
        email=request.user.get_username(), is_main_contact=access.is_main_contact,
        address=request.META.get("REMOTE_ADDR") or None, user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )  # fmt: skip


def _supplier(request: HttpRequest) -> Partner:
    partner = _partner(request)
    if not partner.is_supplier:
        raise Http404("payouts are for partners who supply leads")
    return partner


def _save_details(request: HttpRequest, form: SellerDetailsForm) -> bool:
    """Save the form's details through the service; field problems go back onto the form."""
    partner = _partner(request)
    if not form.is_valid():
        return False
    data = form.cleaned_data
    logo = None
    upload = request.FILES.get("logo")
    if upload is not None:
        try:
            checked = logo_check(upload.read(1_000_001), upload.name or "the upload")
        except DomainError as exc:
            form.add_error("logo", exc.message)
            return False
        logo = (checked.content, checked.media_type)
    try:
        services.seller_details_set(
            actor=actor_of(request), partner=partner, details=data, tax_rate=data.get("tax_rate") or "",
            footer=data.get("footer") or "", logo=logo, number_prefix=data.get("number_prefix") or "",
        )  # fmt: skip
    except services.DetailsError as exc:
        for key, message in exc.problems.items():
            form.add_error(key if key in form.fields else None, message)
        return False
    return True


def _self_billing_page(request: HttpRequest, *, onboarding: bool) -> HttpResponse:
    partner = _supplier(request)
    entity = partner.entity
    signer = signer_of(request)
    profile = SellerProfile.objects.filter(partner=partner).first()
    agreement = services.agreement_in_force(partner)
    form = SellerDetailsForm(initial=SellerDetailsForm.initial_from(profile, partner), locale=entity.locale)
    error = ""
    if request.method == "POST":
        if not signer.is_main_contact:
            raise PermissionDenied("only your main contact can change self-billing")
        action = request.POST.get("action", "save")
        target = "portal:onboarding" if onboarding else "portal:self_billing"
        if action == "postpone" and onboarding:
            services.onboarding_postpone(actor=actor_of(request), partner=partner)
            messages.info(request, "Self-billing can be set up any time from Account → Self-billing.")
            return redirect("portal:invoices")
        if action == "opt_out":
            try:
                services.self_billing_opt_out(actor=actor_of(request), partner=partner, signer=signer)
            except DomainError as exc:
                error = exc.message
            else:
                messages.success(request, "Self-billing is off: payouts from now on need your own invoice.")
                return redirect(target)
        else:
            form = SellerDetailsForm(request.POST, request.FILES, locale=entity.locale)
            if _save_details(request, form):
                if action == "opt_in":
                    try:
                        services.self_billing_opt_in(
                            actor=actor_of(request), partner=partner, signer=signer,
                            accepted=request.POST.get("accept") == "on",
                            version=request.POST.get("version", VERSION), via="onboarding" if onboarding else "account",
                            days=whole_number(request.POST.get("days", "")),
                        )  # fmt: skip
                    except (DomainError, LookupError) as exc:
                        error = getattr(exc, "message", str(exc))
                    else:
                        messages.success(request, "You have opted in: self-invoices are made on your ready payouts.")
                        return redirect("portal:payouts" if onboarding else target)
                else:
                    messages.success(request, "Your seller details are saved.")
                    return redirect(target)
    profile = SellerProfile.objects.filter(partner=partner).first()
    # What is missing from what the partner has saved; before its first save, from the details the
    # form shows (taken from its account), so the page never calls a filled-in field missing.
    shown = profile.details() if profile else SellerDetailsForm.suggested(partner)
    country = str((form.data.get("country") if form.is_bound else shown.get("country")) or "").strip().upper()
    required = SellerDetailsForm.required_for(country)
    context: dict[str, Any] = {
        "nav": "self_billing", "form": form, "profile": profile, "agreement": agreement, "error": error,
        "offered": entity.self_billing, "can_sign": signer.is_main_contact, "onboarding": onboarding,
        "missing": sb.missing_details(shown), "unsaved": profile is None,
        "required": required, "version": VERSION, "days": entity.self_billing_acceptance_days,
        "groups": _groups(form, required),
        "waiting": 0 if agreement else partner_payouts(partner).filter(
            status="ready", documents__isnull=True, supplier_invoices__isnull=True).count(),
        "text": agreement_text(entity=entity.legal_name, partner=partner.legal_name or partner.name,
                               days=entity.self_billing_acceptance_days),
        "history": Agreement.objects.filter(partner=partner).order_by("-accepted_at"),
    }  # fmt: skip
    return render(request, "portal/self_billing.html", context, status=400 if error or form.errors else 200)


FIELD_GROUPS = (
    ("Who you are", ("legal_name", "tax_id", "email", "phone", "peppol_id")),
    ("Address", ("address_line1", "address_line2", "postal_code", "city", "region", "country")),
    ("Where you are paid", ("iban", "bic", "routing_number", "account_number")),
    ("Your self-invoices", ("tax_rate", "number_prefix", "footer", "logo")),
)


def _groups(form: SellerDetailsForm, required: frozenset[str]) -> list[tuple[str, list[tuple[Any, bool]]]]:
    """The form's fields in the groups the page shows, each with whether a self-invoice needs it."""
    return [(title, [(form[name], name in required) for name in names]) for title, names in FIELD_GROUPS]


@portal_view
def self_billing(request: HttpRequest) -> HttpResponse:
    return _self_billing_page(request, onboarding=False)


@portal_view
def onboarding(request: HttpRequest) -> HttpResponse:
    """The onboarding step: opt in to self-billing now, or not now."""
    if not services.onboarding_due(_supplier(request)):
        return redirect("portal:self_billing")
    return _self_billing_page(request, onboarding=True)


@portal_view
def payouts(request: HttpRequest) -> HttpResponse:
    partner = _supplier(request)
    rows = list(partner_payouts(partner).order_by("-period_start", "-pk")[:200])
    shown = payout_amounts(rows)
    for po in rows:
        po.shown = shown[po.pk]  # type: ignore[attr-defined]
    estimated = any(a.estimated and a.self_billed for a in shown.values())
    waiting = awaiting_acceptance(rows)
    for po in rows:
        po.awaiting = waiting.get(po.pk, 0)  # type: ignore[attr-defined]
    return render(request, "portal/payouts.html", {"rows": rows, "nav": "payouts", "estimated": estimated,
                                                   "status": services.agreement_in_force(partner),
                                                   "awaiting": sum(waiting.values())})  # fmt: skip


def own_payout(partner: Partner, pk: int) -> Payout:
    payout = partner_payouts(partner).filter(pk=pk).first()
    if payout is None:
        raise Http404("no such payout")
    return payout


@portal_view
def payout(request: HttpRequest, pk: int) -> HttpResponse:
    partner = _supplier(request)
    po = own_payout(partner, pk)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("invoice")
        if upload is None:
            error = "Choose your invoice file (PDF or e-invoice XML)."
        else:
            try:
                services.supplier_invoice_upload(
                    actor=actor_of(request), payout=po, name=upload.name or "invoice",
                    content=upload.read(services.SUPPLIER_INVOICE_MAX_BYTES + 1),
                    reference=request.POST.get("reference", ""),
                )  # fmt: skip
            except DomainError as exc:
                error = exc.message
            else:
                messages.success(request, "Your invoice is uploaded.")
                return redirect("portal:payout", pk=po.pk)
    return _payout_page(request, po, error=error)


def _payout_page(
    request: HttpRequest, po: Payout, *, error: str = "", dispute: tuple[str, str] = ("", "")
) -> HttpResponse:
    """The payout with its documents; `dispute` (number, reason) keeps a refused dispute's typed reason."""
    documents = [(doc, type_code(doc)) for doc in po.documents.order_by("sequence")]
    context = {
        "po": po, "lines": po.lines.all(), "documents": documents, "shown": payout_amounts([po])[po.pk],
        "uploads": po.supplier_invoices.order_by("pk"), "dispute_number": dispute[0], "dispute_reason": dispute[1],
        # not while a disputed payout is reviewed: approving it again makes the corrected self-invoice
        "can_upload": not any(doc.is_live for doc, _ in documents) and not po.review_reason
        and po.status in ("pending", "ready", "paid"),
        "awaiting": any(doc.is_live and doc.acceptance == "pending" for doc, _ in documents),
        "error": error, "nav": "payouts",
    }  # fmt: skip
    return render(request, "portal/payout.html", context, status=400 if error else 200)


@portal_view  # first: a visitor not signed in is sent to sign in, whatever the method
@require_POST
def self_billed_acceptance(request: HttpRequest, number: str) -> HttpResponse:
    """The supplier accepts a self-billed document, or disputes it with its reason."""
    doc = own_self_billed(_supplier(request), number)
    decider = services.Decider(by=request.user.get_username(), via=PORTAL, address=request.META.get("REMOTE_ADDR"))
    action = request.POST.get("action")
    reason = request.POST.get("reason", "")
    try:
        if action == "accept":
            services.self_invoice_accept(actor=actor_of(request), doc=doc, decider=decider)
            messages.success(request, f"You accepted {doc.number}.")
        elif action == "dispute":
            services.self_invoice_dispute(actor=actor_of(request), doc=doc, decider=decider, reason=reason)
            reversal = doc.corrections.filter(role__in=sb.REVERSAL_OF.values()).first()
            messages.success(request, f"You disputed {doc.number}: it is cancelled by credit note "
                             f"{reversal.number if reversal else ''} and the payout is reviewed again.")  # fmt: skip
        else:
            return HttpResponse("action is accept or dispute", status=400, content_type="text/plain")
    except DomainError as exc:
        typed = "".join(ch for ch in reason[:500] if ch.isprintable() or ch in "\n\t")  # shown again, control codes out
        return _payout_page(request, doc.payout, error=f"{doc.number}: {exc.message}", dispute=(doc.number, typed))
    return redirect("portal:payout", pk=doc.payout_id)


def own_self_billed(partner: Partner, number: str) -> SelfBilledDocument:
    doc = SelfBilledDocument.objects.filter(partner=partner, number=number).first()
    if doc is None:
        raise Http404("no such document")
    return doc


@portal_view
def self_billed_pdf(request: HttpRequest, number: str) -> HttpResponse:
    return download(request, own_self_billed(_supplier(request), number), Format.PDF)


@portal_view
def self_billed_einvoice(request: HttpRequest, number: str) -> HttpResponse:
    fmt = fmt_of(request)
    if fmt is None:
        return HttpResponse("format is ubl or facturx", status=400, content_type="text/plain")
    return download(request, own_self_billed(_supplier(request), number), fmt)


@portal_view
def supplier_invoice(request: HttpRequest, pk: int, upload: int) -> HttpResponse:
    po = own_payout(_supplier(request), pk)
    file = SupplierInvoice.objects.filter(payout=po, pk=upload).first()
    if file is None:
        raise Http404("no such upload")
    return supplier_invoice_response(file)
