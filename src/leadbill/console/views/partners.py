"""Partners: terms, contacts, price plans (with a live quote), adjustments, top-ups, portal users."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from leadbill.catalog.models import LeadType, PricePlan
from leadbill.catalog.services import MAX_COPY_PARTNERS, price_plan_copy
from leadbill.console.forms import InviteForm, PartnerForm, PlanForm
from leadbill.console.lookups import day_input, entity_of, partner_or_404, perform
from leadbill.documents.formatting import Formatter
from leadbill.domain import periods
from leadbill.domain.errors import DomainError
from leadbill.domain.money import amount_from_text
from leadbill.domain.numbers import whole_number
from leadbill.domain.plan_wording import describe, describe_config
from leadbill.domain.pricing import model_from_config, quote
from leadbill.invoicing import services as billing
from leadbill.invoicing.models import OPEN_STATUSES, Adjustment, Invoice, LedgerEntry
from leadbill.invoicing.selectors import invoice_by_number, partner_balance
from leadbill.loader.schema import SetupFileError
from leadbill.loader.services import partner_apply, partner_mapping, partner_read, plan_apply
from leadbill.partners.models import Partner
from leadbill.partners.selectors import partner_as_dict
from leadbill.receivables.models import Entry
from leadbill.receivables.reminder_models import ReminderPause
from leadbill.receivables.selectors import partner_accounts, with_open
from leadbill.selfbilling.selectors import self_billing_status
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
    today = billing.today_in(entity)  # the overdue badges and the accounts: the entity's date, not the server's
    plans = (PricePlan.objects.filter(partner=partner).select_related("profile", "lead_type")
             .order_by("side", "profile__code", "lead_type__code", "-effective_from"))  # fmt: skip
    context = {
        "partner": partner, "mapping": partner_as_dict(partner),
        "plans": [_plan_row(p, entity, partner.currency) for p in plans],
        "invoices": with_open(Invoice.objects.filter(partner=partner)).order_by("-pk")[:10],
        "adjustments": Adjustment.objects.filter(partner=partner).select_related("invoice").order_by("-pk")[:20],
        "balance": partner_balance(partner) if partner.is_prepay else None,
        "accounts": list(partner_accounts(partner, today).values()), "today": today,
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


def _plan_row(plan: PricePlan, entity: Any, currency: str) -> dict[str, Any]:
    try:
        described = describe_config(plan.model, plan.config, currency=currency, locale=entity.locale)
    except DomainError as exc:  # pragma: no cover - stored plans were validated on the way in
        described = f"unreadable: {exc}"
    return {"plan": plan, "described": described}


def _apply_partner(request: HttpRequest, form: PartnerForm, code: str) -> Partner | None:
    """Save through the set-up file's reader; a number the locale cannot read is named with the reader's
    problems of the rest (checked without writing), so one post shows everything to fix."""
    entity = entity_of(request)
    raw = form.as_mapping()
    problems = dict(form.number_problems)
    try:
        if problems:
            partner_read(entity=entity, code=code, raw=partner_mapping(entity=entity, code=code, raw=raw))
        else:
            partner, _ = partner_apply(actor=actor_of(request), entity=entity, code=code, raw=raw)
            return partner
    except SetupFileError as exc:
        for problem in exc.problems:
            field = form.field_for(problem.path)
            if field not in problems:
                form.add_error(field, problem.message if field else f"{problem.path}: {problem.message}")
    for field, message in problems.items():
        form.add_error(field, message)
    return None


@console_view()
def partner_new(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    form = PartnerForm(request.POST or None, locale=entity.locale, initial={"billing_mode": "credit", "returns_allowed": True,
                                                                            "active": True, "is_buyer": True})  # fmt: skip
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
    form = PartnerForm(
        request.POST or None, initial=PartnerForm.initial_from(mapping, entity.locale), locale=entity.locale
    )
    form.fields["code"].disabled = True
    if request.method == "POST" and form.is_valid() and _apply_partner(request, form, partner.code) is not None:
        messages.success(request, f"Saved {partner.name}.")
        return redirect("console:partner", entity=entity.slug, code=partner.code)
    return render(request, "console/partner_form.html", {"form": form, "partner": partner, "nav": "partners"})


def _plan_form(
    request: HttpRequest, partner: Partner, data: Any = None, base: PricePlan | None = None, *, copying: bool = True
) -> PlanForm:
    entity = entity_of(request)
    today = billing.today_in(entity)
    month = periods.month(today.year, today.month, entity.timezone)
    initial: dict[str, object] = {"model": "flat", "effective_from": month.first_day}
    if base is not None:
        initial.update(PlanForm.initial_from(base, entity.locale))
        if base.effective_from.astimezone(periods.zone(entity.timezone)).date() >= month.first_day:
            # the base starts this month or later: a new version starts the month after it
            start = base.effective_from.astimezone(periods.zone(entity.timezone)).date()
            initial["effective_from"] = periods.month(start.year, start.month, entity.timezone).next().first_day
    return PlanForm(
        data,
        profiles=[(p.code, p.name) for p in partner.profiles.order_by("code")],
        lead_types=[(t.code, t.name) for t in LeadType.objects.filter(entity=entity).order_by("code")],
        locale=entity.locale,
        copy_choices=[(p.code, f"{p.name} ({p.code})") for p in copy_targets(partner)] if copying else None,
        initial=initial,
    )


def copy_targets(partner: Partner) -> list[Partner]:
    """Partners a plan of `partner` may be copied to: same entity and currency, same role, a bounded list."""
    role = {"is_buyer": True} if partner.is_buyer else {"is_supplier": True}
    return list(Partner.objects.filter(entity_id=partner.entity_id, currency=partner.currency, is_active=True, **role)
                .exclude(pk=partner.pk).order_by("name").only("code", "name")[:MAX_COPY_PARTNERS])  # fmt: skip


def current_plan(partner: Partner, at: datetime) -> PricePlan | None:
    """The partner-wide version in effect at `at` (else the latest), the editor's starting point."""
    plans = PricePlan.objects.filter(partner=partner, profile=None, lead_type=None,
                                     side="sell" if partner.is_buyer else "buy")  # fmt: skip
    in_effect = plans.filter(effective_from__lte=at).order_by("-effective_from").first()
    return in_effect or plans.order_by("-effective_from").first()


def _base_plan(request: HttpRequest, partner: Partner) -> PricePlan | None:
    """The version the editor starts from: ?from=<id> of this partner, else the current one."""
    chosen = whole_number(request.GET.get("from"))
    if chosen is not None:
        plan = PricePlan.objects.filter(partner=partner, pk=chosen).select_related("profile", "lead_type").first()
        if plan is None:
            raise Http404("no such price plan for this partner")
        return plan
    return current_plan(partner, timezone.now())


@console_view()
def plan_new(request: HttpRequest, code: str) -> HttpResponse:
    """A new plan version, prefilled from the current one; optionally copied to other partners."""
    entity = entity_of(request)
    partner = partner_or_404(entity, code)
    base = _base_plan(request, partner) if request.method != "POST" else None
    form = _plan_form(request, partner, request.POST or None, base)
    problems: dict[str, str] = {}
    if request.method == "POST" and "add_tier" not in request.POST:
        problems = _save_plan(request, partner, form)
        if not problems:
            return redirect("console:partner", entity=entity.slug, code=partner.code)
    context = {"form": form, "partner": partner, "base": base, "nav": "partners",
               "problems": [(form.label_of(path), message) for path, message in problems.items()],

               "quote": _quote(form, partner) if form.is_bound else _quote_of(base, partner),
               "tier_rows": form.tier_rows(problems), "max_tiers": PlanForm.MAX_TIERS}  # fmt: skip
    return render(request, "console/plan_form.html", context, status=400 if problems else 200)


def _save_plan(request: HttpRequest, partner: Partner, form: PlanForm) -> dict[str, str]:
    """Save the version (and its copies); returns the problems by set-up path, none when saved."""
    raw = form.as_mapping()
    if form.number_problems:
        return form.number_problems
    copy_codes = request.POST.getlist("copy_to")
    offered = {p.code: p for p in copy_targets(partner)}
    unknown = [c for c in copy_codes if c not in offered]
    if unknown:
        return {"copy_to": f"cannot copy to {', '.join(unknown[:5])}"}
    actor = actor_of(request)
    try:
        with transaction.atomic():
            plan, action = plan_apply(actor=actor, partner=partner, raw=raw)
            copies = (
                price_plan_copy(actor=actor, plan=plan, partners=[offered[c] for c in copy_codes]) if copy_codes else []
            )
    except SetupFileError as exc:
        return {p.path or "plan": p.message for p in exc.problems}
    except DomainError as exc:
        return {exc.field or "plan": exc.message}
    entity = partner.entity
    words = describe_config(plan.model, plan.config, currency=partner.currency, locale=entity.locale)
    copied = f" Copied to {len(copies)} partner{'s' if len(copies) != 1 else ''}." if copies else ""
    messages.success(request, f"Price plan {action}: {words}.{copied}")
    return {}


@console_view(write="readonly")  # computes only; every member may try prices
def plan_quote(request: HttpRequest, code: str) -> HttpResponse:
    """What 10 / 100 / 1,000 leads would cost under the plan being typed (htmx, as you type)."""
    partner = partner_or_404(entity_of(request), code)
    form = _plan_form(request, partner, request.POST, copying=False)
    return render(request, "console/_quote.html", {"quote": _quote(form, partner)})


def _quote_of(plan: PricePlan | None, partner: Partner) -> dict[str, Any]:
    if plan is None:
        return {"note": "Type a price to see what leads would cost."}
    return _priced(model_from_config(plan.model, plan.config), partner)


def _quote(form: PlanForm, partner: Partner) -> dict[str, Any]:
    """The live quote; says nothing is wrong until something was typed, then names the field."""
    raw = form.as_mapping()
    model_name = str(raw.get("model") or "")
    if model_name == "delivered":
        return {"note": "Each lead is billed at the price its delivery carries."}
    if (model_name == "flat" and not raw.get("price")) or (
        model_name in ("graduated", "volume") and not raw.get("tiers")
    ):
        return {"note": "Type a price to see what leads would cost."}
    if form.number_problems:
        path, message = next(iter(form.number_problems.items()))
        return {"error": f"{form.label_of(path)}: {message}"}
    config = {k: v for k, v in raw.items() if k not in ("model", "from", "profile", "lead_type")}
    try:
        model = model_from_config(model_name, config)
    except DomainError as exc:
        where = form.label_of(exc.field) if exc.field else "Plan"
        return {"error": f"{where}: {exc.message}"}
    return _priced(model, partner)


def _priced(model: Any, partner: Partner) -> dict[str, Any]:
    entity = partner.entity
    fmt = Formatter(entity.locale, partner.currency)
    if model.kind == "delivered":
        return {"note": "Each lead is billed at the price its delivery carries."}
    rows = [{"leads": fmt.count(n), "n": n, "total": fmt.money(quote(model, n, partner.currency))}
            for n in QUOTE_QUANTITIES]  # fmt: skip
    return {"rows": rows, "described": describe(model, currency=partner.currency, locale=entity.locale)}


def _to_partner(entity: Any, partner: Partner) -> Callable[[], HttpResponse]:
    return lambda: redirect("console:partner", entity=entity.slug, code=partner.code)


@require_POST
@console_view()
def adjustment_new(request: HttpRequest, code: str) -> HttpResponse:
    entity = entity_of(request)
    partner = partner_or_404(entity, code)

    def adjust() -> str:
        minor = amount_from_text(request.POST.get("amount", ""), partner.currency, locale=entity.locale)
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
        minor = amount_from_text(request.POST.get("amount", ""), partner.currency, locale=entity.locale)
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
