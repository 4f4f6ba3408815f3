"""Self-billing: the entity's switch (admins) and where every supplier stands with its agreement."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from leadbill.console.lookups import entity_of, perform
from leadbill.domain import selfbilling as sb
from leadbill.domain.errors import DomainError
from leadbill.entities.models import Entity
from leadbill.partners.models import Partner
from leadbill.selfbilling import services
from leadbill.selfbilling.models import Agreement, SellerProfile
from leadbill.web.access import actor_of, console_view
from leadbill.web.models import Role

ADMIN = Role.ADMIN
SHOWN = 500
SWITCH_WORDING = "Allow partners to opt in to self-invoicing and generate invoices on ready payouts automatically"


def supplier_rows(entity: Entity) -> tuple[list[dict[str, Any]], bool]:
    """Each supplier's agreement (in force or last withdrawn), earlier records and missing details.

    The same facts as `selfbilling.selectors.self_billing_status`, read for all suppliers in three
    queries rather than three per supplier.
    """
    suppliers = list(Partner.objects.filter(entity=entity, is_supplier=True).order_by("name")[: SHOWN + 1])
    more = len(suppliers) > SHOWN
    suppliers = suppliers[:SHOWN]
    records: dict[int, list[Agreement]] = defaultdict(list)
    for agreement in Agreement.objects.filter(partner__in=suppliers).order_by("-accepted_at", "-pk"):
        records[agreement.partner_id].append(agreement)
    profiles = {sp.partner_id: sp for sp in SellerProfile.objects.filter(partner__in=suppliers)}
    rows = []
    for partner in suppliers:
        history = records[partner.pk]
        current = next((a for a in history if a.withdrawn_at is None), None)
        latest = current or (history[0] if history else None)
        profile = profiles.get(partner.pk)
        rows.append({
            "partner": partner, "opted_in": current is not None, "agreement": latest,
            "earlier": [a for a in history if a is not latest],
            "missing": sb.missing_details(profile.details() if profile else {}), "profile": profile,
        })  # fmt: skip
    return rows, more


def _page(request: HttpRequest, entity: Entity, **extra: Any) -> HttpResponse:
    rows, more = supplier_rows(entity)
    opted_in = sum(1 for r in rows if r["opted_in"])
    context = {"rows": rows, "more": more, "shown": SHOWN, "wording": SWITCH_WORDING, "nav": "self_billing",
               "opted_in": opted_in, "affected": services.opted_in_count(entity) if more else opted_in,
               "ready": sum(1 for r in rows if r["opted_in"] and not r["missing"]), **extra}  # fmt: skip
    return render(request, "console/self_billing.html", context, status=400 if extra.get("terms_error") else 200)


@console_view()
def self_billing(request: HttpRequest) -> HttpResponse:
    return _page(request, entity_of(request))


@require_POST
@console_view(read=ADMIN, write=ADMIN)
def self_billing_switch(request: HttpRequest) -> HttpResponse:
    """Turn the switch; turning it off is asked again, naming how many opted-in suppliers it stops."""
    entity = entity_of(request)
    on = request.POST.get("self_billing") == "on"
    if entity.self_billing and not on and request.POST.get("confirmed") != "yes":
        return _page(request, entity, confirm_off=True)

    def switch() -> str:
        services.self_billing_switch(actor=actor_of(request), entity=entity, on=on)
        if on:
            return "Self-billing is on: partners can opt in, and ready payouts of those who did get a self-invoice."
        n = services.opted_in_count(entity)
        return (
            f"Self-billing is off: no new self-invoices are made for the {n} supplier{'s' * (n != 1)} who "
            "opted in; issued ones stay valid."
        )

    return perform(request, switch, refused="Not changed", then=lambda: redirect("console:self_billing",
                                                                                  entity=entity.slug))  # fmt: skip


@require_POST
@console_view(read=ADMIN, write=ADMIN)
def self_billing_terms(request: HttpRequest) -> HttpResponse:
    """The agreement's acceptance terms: the deemed-acceptance period, and paying only accepted self-invoices."""
    entity = entity_of(request)
    days = request.POST.get("acceptance_days", "")
    require = request.POST.get("require_acceptance") == "on"
    try:
        services.self_billing_terms_set(actor=actor_of(request), entity=entity, acceptance_days=days,
                                        require_acceptance=require)  # fmt: skip
    except DomainError as exc:
        return _page(request, entity, terms_error=exc.message, terms_days=days[:10], terms_require=require)
    entity.refresh_from_db()
    messages.success(
        request,
        f"Acceptance terms saved: {entity.self_billing_acceptance_days} days to accept or "
        f"dispute each self-invoice; payouts {'wait for' if require else 'do not wait for'} acceptance.",
    )
    return redirect("console:self_billing", entity=entity.slug)
