"""The console's global search: a lead id, an external id, an invoice number or a partner, in one box.

What a user finds is what they may open: only the entities they are staff of (`staff_memberships`),
and in each only the kinds their role may read (`KINDS`). Every lookup is an index lookup, exact or
by prefix: external ids through the (entity, external_id) unique index, partner codes by prefix
through (entity, code), partner names by prefix within the (small) partner rows of the entities
searched; lead ids and invoice numbers are matched exactly (as typed, or upper-cased). Each kind returns at most `PER_KIND` rows.
A lead opens its day in the delivery log (its partner, its date) and, once billed, the invoice that billed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from leadbill.console.lookups import entity_of
from leadbill.deliveries.models import Delivery
from leadbill.domain.errors import DomainError
from leadbill.domain.periods import zone
from leadbill.domain.text import field_text
from leadbill.invoicing.models import BilledLead, Invoice
from leadbill.invoicing.selectors import DRAFT_PREFIX, by_reference, display_number
from leadbill.partners.models import Partner
from leadbill.web.access import console_view, staff_memberships
from leadbill.web.models import Role

QUERY_MAX = 120  # characters: the longest id a delivery or document carries
PER_KIND = 20
KINDS = {"deliveries": Role.READONLY, "invoices": Role.READONLY, "partners": Role.READONLY}  # kind -> least role


@dataclass(frozen=True)
class Hit:
    kind: str
    title: str
    detail: str
    url: str
    entity: str  # the entity's legal name, shown when the user has several
    invoice: str = ""
    invoice_url: str = ""
    at: datetime | None = None  # a lead's delivery time


def _entities(request: HttpRequest) -> dict[str, dict[int, Any]]:
    """Per kind, the user's entities whose role may read it, the current entity first (one query)."""
    current = entity_of(request)
    memberships = list(staff_memberships(request.user).order_by("entity__legal_name"))
    memberships.sort(key=lambda m: m.entity_id != current.pk)
    return {kind: {m.entity_id: m.entity for m in memberships if m.can(role)} for kind, role in KINDS.items()}


def _deliveries(q: str, entities: dict[int, Any]) -> list[Hit]:
    rows = list(
        Delivery.objects.filter(entity_id__in=list(entities), external_id=q).select_related("partner")[:PER_KIND]
    )
    if len(rows) < PER_KIND:
        seen = {d.pk for d in rows}
        more = Delivery.objects.filter(entity_id__in=list(entities), lead_id=q).select_related("partner")
        rows += [d for d in more.order_by("-delivered_at")[:PER_KIND] if d.pk not in seen][: PER_KIND - len(rows)]
    billed = {
        b.delivery_id: b.invoice
        for b in BilledLead.objects.filter(delivery_id__in=[d.pk for d in rows], voided=False).select_related("invoice")
    }
    hits = []
    for d in rows:
        entity = entities[d.entity_id]
        slug = entity.slug
        day = d.delivered_at.astimezone(zone(entity.timezone)).date().isoformat()
        url = (
            reverse("console:deliveries", kwargs={"entity": slug})
            + "?"
            + urlencode({"partner": d.partner.code, "from": day, "to": day})
        )
        inv = billed.get(d.pk)
        hits.append(Hit(
            kind="Lead", title=d.lead_id, detail=f"{d.partner.name} · external id {d.external_id}",
            url=url, entity=entity.legal_name, at=d.delivered_at,
            invoice=display_number(inv) if inv else "",
            invoice_url=reverse("console:invoice", kwargs={"entity": slug, "ref": display_number(inv)}) if inv else "",
        ))  # fmt: skip
    return hits


def _invoices(q: str, entities: dict[int, Any]) -> list[Hit]:
    rows = (
        by_reference(Invoice.objects.filter(entity_id__in=list(entities)), q)
        if q.startswith(DRAFT_PREFIX)
        else Invoice.objects.filter(entity_id__in=list(entities), number__in=sorted({q, q.upper()}))
    )
    rows = rows.select_related("partner").order_by("pk")[:PER_KIND]
    return [
        Hit(kind=inv.get_kind_display(), title=display_number(inv), detail=f"{inv.partner.name} · {inv.get_status_display()}",
            url=reverse("console:invoice", kwargs={"entity": entities[inv.entity_id].slug,
                                                   "ref": display_number(inv)}),
            entity=entities[inv.entity_id].legal_name)
        for inv in rows
    ]  # fmt: skip


def _partners(q: str, entities: dict[int, Any]) -> list[Hit]:
    ids = list(entities)
    by_code = list(Partner.objects.filter(entity_id__in=ids, code__startswith=q.lower()).order_by("code")[:PER_KIND])
    by_name = list(Partner.objects.filter(entity_id__in=ids, name__istartswith=q).order_by("name")[:PER_KIND])
    seen: set[int] = set()
    hits = []
    for p in [*by_code, *by_name]:
        if p.pk in seen or len(hits) >= PER_KIND:
            continue
        seen.add(p.pk)
        entity = entities[p.entity_id]
        hits.append(Hit(kind="Partner", title=p.name, detail=p.code, entity=entity.legal_name,
                        url=reverse("console:partner", kwargs={"entity": entity.slug, "code": p.code})))  # fmt: skip
    return hits


def search_hits(request: HttpRequest, q: str) -> list[Hit]:
    """Everything `q` names that the signed-in user may see, at most PER_KIND of each kind."""
    scope = _entities(request)
    return [*_deliveries(q, scope["deliveries"]), *_invoices(q, scope["invoices"]), *_partners(q, scope["partners"])]


@console_view()
def search(request: HttpRequest) -> HttpResponse:
    """Results for the header's search box; from the box, a single invoice or partner opens directly."""
    raw = request.GET.get("q", "")
    problem = ""
    q = ""
    try:
        q = field_text(raw, field="q", max_length=QUERY_MAX).strip()
    except DomainError as exc:
        problem = exc.message
    hits = search_hits(request, q) if q else []
    if len(hits) == 1 and hits[0].kind != "Lead" and request.GET.get("go") == "1":
        return redirect(hits[0].url)  # one invoice or partner: open it (a lead's page shows its invoice too)
    several = len({h.entity for h in hits}) > 1
    context = {"q": q if not problem else raw[:QUERY_MAX], "hits": hits, "problem": problem, "several": several,
               "per_kind": PER_KIND, "nav": "search"}  # fmt: skip
    return render(request, "console/search.html", context)
