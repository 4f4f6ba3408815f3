"""Partners: terms, contacts, price plans (with a live quote), adjustments, top-ups, portal users."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from leadbill.catalog.models import LeadType, PricePlan
from leadbill.console.forms import InviteForm, PartnerForm, PlanForm
from leadbill.console.lookups import day_input, entity_of, partner_or_404, perform
from leadbill.documents.formatting import Formatter
from leadbill.domain import periods
from leadbill.domain.errors import DomainError
from leadbill.domain.money import amount_from_text
from leadbill.domain.pricing import model_from_config, quote
from leadbill.invoicing import services as billing
from leadbill.invoicing.models import OPEN_STATUSES, Adjustment, Invoice, LedgerEntry
from leadbill.invoicing.selectors import invoice_by_number, partner_balance
from leadbill.loader.schema import SetupFileError
from leadbill.loader.services import partner_apply, plan_apply
from leadbill.partners.models import Partner
from leadbill.partners.selectors import partner_as_dict
from leadbill.payouts.selectors import self_billing_status
from leadbill.receivables.models import Entry
from leadbill.receivables.reminder_models import ReminderPause
from leadbill.receivables.selectors import partner_accounts, with_open
from leadbill.web.access import actor_of, console_view
from leadbill.web.models import PartnerUser
from leadbill.web.services import partner_user_invite

QUOTE_QUANTITIES = (10, 100, 1000)


@console_view()
def partner_list(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    q = request.GET.get("q", "").strip()
    rows = Partner.objects.filter(entity=entity).order_by("name")
    if q:
        rows = rows.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(contact_email__icontains=q))
    open_invoices = Invoice.objects.filter(partner=OuterRef("pk"), status__in=OPEN_STATUSES, kind="invoice")
    owed = Entry.objects.filter(partner=OuterRef("pk")).values("partner").annotate(s=Sum("amount_minor")).values("s")
    balance = (
        LedgerEntry.objects.filter(partner=OuterRef("pk")).values("partner").annotate(s=Sum("amount_minor")).values("s")
    )
    rows = rows.annotate(
        open_invoices=Subquery(open_invoices.values("partner").annotate(n=Count("pk")).values("n")),
        balance_minor=Subquery(balance),
        owed_minor=Subquery(owed),
    )
    return render(request, "console/partners.html", {"partners": rows[:500], "q": q, "nav": "partners"})


@console_view()
def partner_detail(request: HttpRequest, code: str) -> HttpResponse:
    entity = entity_of(request)
    partner = partner_or_404(entity, code)
    plans = (PricePlan.objects.filter(partner=partner).select_related("profile", "lead_type")
             .order_by("side", "profile__code", "lead_type__code", "-effective_from"))  # fmt: skip
    fmt = Formatter(entity.locale, partner.currency)
    context = {
        "partner": partner, "mapping": partner_as_dict(partner), "plans": [_plan_row(p, fmt) for p in plans],
        "invoices": with_open(Invoice.objects.filter(partner=partner)).order_by("-pk")[:10],
        "adjustments": Adjustment.objects.filter(partner=partner).select_related("invoice").order_by("-pk")[:20],
        "balance": partner_balance(partner) if partner.is_prepay else None,
        "accounts": list(partner_accounts(partner, billing.today_in(entity)).values()),
        "reminder_pause": ReminderPause.objects.filter(partner=partner).first(),
        "ledger": LedgerEntry.objects.filter(partner=partner).select_related("invoice").order_by("-occurred_at", "-pk")[:20]
        if partner.is_prepay else [],
        "users": PartnerUser.objects.filter(partner=partner).select_related("user").order_by("user__email"),
        "invite_form": InviteForm(), "nav": "partners",
        "self_billing": self_billing_status(partner) if partner.is_supplier else None,
        "open_credit": Adjustment.objects.filter(partner=partner, invoice__isnull=True, amount_minor__lt=0)
        .aggregate(s=Sum("amount_minor"))["s"],
    }  # fmt: skip
    return render(request, "console/partner.html", context)


def _plan_row(plan: PricePlan, fmt: Formatter) -> dict[str, Any]:
    try:
        model = model_from_config(plan.model, plan.config)
        described = model.describe()
    except DomainError as exc:  # pragma: no cover - stored plans were validated on the way in
        described = f"unreadable: {exc}"
    return {"plan": plan, "described": described}


def _apply_partner(request: HttpRequest, form: PartnerForm, code: str) -> Partner | None:
    try:
        partner, _ = partner_apply(actor=actor_of(request), entity=entity_of(request), code=code, raw=form.as_mapping())
    except SetupFileError as exc:
        for problem in exc.problems:
            form.add_error(form.field_for(problem.path), f"{problem.message}" if form.field_for(problem.path)
                           else f"{problem.path}: {problem.message}")  # fmt: skip
        return None
    return partner


@console_view()
def partner_new(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    form = PartnerForm(request.POST or None, initial={"billing_mode": "credit", "returns_allowed": True, "active": True,
                                                      "is_buyer": True})  # fmt: skip
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        if Partner.objects.filter(entity=entity, code=code).exists():
            form.add_error("code", f"a partner {code!r} exists already")
        elif (partner := _apply_partner(request, form, code)) is not None:
            messages.success(request, f"Partner {partner.name} created.")
            return redirect("console:partner", entity=entity.slug, code=partner.code)
    return render(request, "console/partner_form.html", {"form": form, "new": True, "nav": "partners"})


@console_view()
def partner_edit(request: HttpRequest, code: str) -> HttpResponse:
    entity = entity_of(request)
    partner = partner_or_404(entity, code)
    mapping = partner_as_dict(partner)
    form = PartnerForm(request.POST or None, initial=PartnerForm.initial_from(mapping))
    form.fields["code"].disabled = True
    if request.method == "POST" and form.is_valid() and _apply_partner(request, form, partner.code) is not None:
        messages.success(request, f"Saved {partner.name}.")
        return redirect("console:partner", entity=entity.slug, code=partner.code)
    return render(request, "console/partner_form.html", {"form": form, "partner": partner, "nav": "partners"})


def _plan_form(request: HttpRequest, partner: Partner, data: Any = None) -> PlanForm:
    entity = entity_of(request)
    return PlanForm(
        data,
        profiles=[(p.code, p.name) for p in partner.profiles.order_by("code")],
        lead_types=[(t.code, t.name) for t in LeadType.objects.filter(entity=entity).order_by("code")],
        initial={"model": "flat", "effective_from": periods.month(*_this_month(entity), entity.timezone).first_day},
    )


def _this_month(entity: Any) -> tuple[int, int]:
    today = billing.today_in(entity)
    return today.year, today.month


@console_view()
def plan_new(request: HttpRequest, code: str) -> HttpResponse:
    entity = entity_of(request)
    partner = partner_or_404(entity, code)
    form = _plan_form(request, partner, request.POST or None)
    problems: list[str] = []
    if request.method == "POST":
        try:
            plan, action = plan_apply(actor=actor_of(request), partner=partner, raw=form.as_mapping())
        except SetupFileError as exc:
            problems = [str(p) for p in exc.problems]
        else:
            messages.success(request, f"Price plan {action}: {model_from_config(plan.model, plan.config).describe()}.")
            return redirect("console:partner", entity=entity.slug, code=partner.code)
    context = {"form": form, "partner": partner, "problems": problems, "nav": "partners",
               "quote": _quote(form, partner),
               "tier_rows": [(i, form.data.get(f"up_to_{i}", ""), form.data.get(f"tier_price_{i}", ""))
                             for i in range(PlanForm.TIER_ROWS)]}  # fmt: skip
    return render(request, "console/plan_form.html", context)


@console_view(write="readonly")  # computes only; every member may try prices
def plan_quote(request: HttpRequest, code: str) -> HttpResponse:
    """What 10 / 100 / 1,000 leads would cost under the plan being typed (htmx, as you type)."""
    partner = partner_or_404(entity_of(request), code)
    form = _plan_form(request, partner, request.POST)
    return render(request, "console/_quote.html", {"quote": _quote(form, partner)})


def _quote(form: PlanForm, partner: Partner) -> dict[str, Any]:
    raw = form.as_mapping() if form.is_bound else {"model": "flat", "price": ""}
    model_name = str(raw.get("model") or "")
    if model_name == "delivered":
        return {"note": "Each lead is billed at the price its delivery carries."}
    config = {k: v for k, v in raw.items() if k not in ("model", "from", "profile", "lead_type")}
    try:
        model = model_from_config(model_name, config)
    except DomainError as exc:
        return {"error": str(exc)}
    fmt = Formatter(partner.entity.locale, partner.currency)
    rows = []
    for n in QUOTE_QUANTITIES:
        total = quote(model, n, partner.currency)
        rows.append({"leads": n, "total": fmt.money(total)})
    return {"rows": rows, "described": model.describe()}


def _to_partner(entity: Any, partner: Partner) -> Callable[[], HttpResponse]:
    return lambda: redirect("console:partner", entity=entity.slug, code=partner.code)


@require_POST
@console_view()
def adjustment_new(request: HttpRequest, code: str) -> HttpResponse:
    entity = entity_of(request)
    partner = partner_or_404(entity, code)

    def adjust() -> str:
        minor = amount_from_text(request.POST.get("amount", ""), partner.currency)
        if request.POST.get("direction") == "credit":
            minor = -abs(minor)
        number = request.POST.get("corrects", "").strip()
        corrects = None
        if number:
            try:
                corrects = invoice_by_number(entity, number)
            except LookupError:
                raise DomainError(f"no invoice numbered {number!r} here", field="corrects") from None
        billing.adjustment_create(actor=actor_of(request), partner=partner, amount_minor=minor,
                                  reason=request.POST.get("reason", ""), corrects=corrects)  # fmt: skip
        return "Adjustment saved; it goes on the partner's next document."

    return perform(request, adjust, refused="Adjustment not saved", then=_to_partner(entity, partner))


@require_POST
@console_view()
def topup_new(request: HttpRequest, code: str) -> HttpResponse:
    entity = entity_of(request)
    partner = partner_or_404(entity, code)

    def top_up() -> str:
        minor = amount_from_text(request.POST.get("amount", ""), partner.currency)
        day = day_input(request.POST.get("received_on"), "received_on", billing.today_in(entity))
        occurred = datetime.combine(day, time(12), periods.zone(entity.timezone))
        billing.topup_record(actor=actor_of(request), partner=partner, amount_minor=minor, occurred_at=occurred,
                             reference=request.POST.get("reference", "").strip()[:200])  # fmt: skip
        return "Top-up recorded."

    return perform(request, top_up, refused="Top-up not recorded", then=_to_partner(entity, partner))


@require_POST
@console_view()
def credit_note_new(request: HttpRequest, code: str) -> HttpResponse:
    entity = entity_of(request)
    partner = partner_or_404(entity, code)
    issued: list[str] = []

    def credit() -> str:
        issued.append(billing.credit_note_issue(actor=actor_of(request), partner=partner).number or "")
        return f"Credit note {issued[0]} issued."

    def then() -> HttpResponse:
        if issued:
            return redirect("console:invoice", entity=entity.slug, ref=issued[0])
        return _to_partner(entity, partner)()

    return perform(request, credit, refused="No credit note", then=then)


@require_POST
@console_view()
def partner_user_new(request: HttpRequest, code: str) -> HttpResponse:
    entity = entity_of(request)
    partner = partner_or_404(entity, code)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            partner_user_invite(actor=actor_of(request), partner=partner, email=form.cleaned_data["email"],
                                name=form.cleaned_data["name"], main_contact=form.cleaned_data["main_contact"],
                                base_url=request.build_absolute_uri("/"))  # fmt: skip
        except DomainError as exc:
            messages.error(request, f"Not invited: {exc}")
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
    else:
        messages.error(request, "Not invited: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    return redirect("console:partner", entity=entity.slug, code=partner.code)


@console_view()
def partner_report(request: HttpRequest, code: str) -> HttpResponse:
    from leadbill.web.reports import report_page

    partner = partner_or_404(entity_of(request), code)
    return report_page(request, partner, "console/report.html", {"nav": "partners"})
