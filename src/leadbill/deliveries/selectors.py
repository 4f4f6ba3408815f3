"""Reads of deliveries and returns; every query is scoped to an entity or a partner."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum

from leadbill.catalog.models import LeadType
from leadbill.deliveries.importing import Codes
from leadbill.deliveries.models import Delivery, Return, ReturnStatus
from leadbill.domain.periods import Period, is_local_midnight, month, zone
from leadbill.entities.models import Entity
from leadbill.partners.models import Partner, Profile

OPEN_RETURN_STATUSES = (ReturnStatus.REQUESTED, ReturnStatus.ACCEPTED)


def delivery_codes(entity: Entity) -> Codes:
    """The partner, profile and lead-type codes of an entity, resolved to ids (three queries)."""
    partners = list(Partner.objects.filter(entity=entity).values_list("id", "code", "is_buyer", "is_supplier"))
    profiles = list(Profile.objects.filter(partner__entity=entity).values_list("id", "partner_id", "code"))
    return Codes(
        partners={code: pk for pk, code, _, _ in partners},
        buyers=frozenset(code for _, code, is_buyer, _ in partners if is_buyer),
        suppliers=frozenset(code for _, code, _, is_supplier in partners if is_supplier),
        profiles={(partner_id, code): pk for pk, partner_id, code in profiles},
        profile_codes=frozenset(code for _, _, code in profiles),
        lead_types=dict(LeadType.objects.filter(entity=entity).values_list("code", "id")),
    )


def deliveries_by_external_id(entity: Entity, external_ids: Iterable[str]) -> dict[str, Delivery]:
    """The entity's deliveries with these external ids, with their partner, by external id."""
    rows = Delivery.objects.filter(entity=entity, external_id__in=list(external_ids)).select_related("partner")
    return {delivery.external_id: delivery for delivery in rows}


def deliveries_for_partner(
    partner: Partner, *, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[Delivery]:
    """A partner's deliveries, optionally those delivered in [start, end), oldest first."""
    rows = Delivery.objects.filter(partner=partner)
    if start is not None:
        rows = rows.filter(delivered_at__gte=start)
    if end is not None:
        rows = rows.filter(delivered_at__lt=end)
    return rows.order_by("delivered_at", "id")


def delivery_month(delivery: Delivery, timezone: str) -> Period:
    """The calendar month, in the entity's time zone, a delivery falls in."""
    local = delivery.delivered_at.astimezone(zone(timezone))
    return month(local.year, local.month, timezone)


def return_share_counts(partner: Partner, period: Period) -> tuple[int, int]:
    """(open or accepted returns, deliveries) of a partner's leads delivered in a period."""
    delivered = Delivery.objects.filter(partner=partner, delivered_at__gte=period.start, delivered_at__lt=period.end)
    returned = Return.objects.filter(
        delivery__partner=partner,
        delivery__delivered_at__gte=period.start,
        delivery__delivered_at__lt=period.end,
        status__in=OPEN_RETURN_STATUSES,
    )
    return returned.count(), delivered.count()


def open_returns_by_delivery(delivery_ids: Iterable[int]) -> dict[int, Return]:
    """The requested or accepted return of each of these deliveries (at most one each)."""
    rows = Return.objects.filter(delivery_id__in=list(delivery_ids), status__in=OPEN_RETURN_STATUSES)
    return {ret.delivery_id: ret for ret in rows}


# The reasons offered when an entity has not set its own (Entity.return_reasons); "Other" always
# comes last and needs the partner's own words.
DEFAULT_RETURN_REASONS = ("Duplicate lead", "Wrong or disconnected phone number", "Fake or test data",
                          "Outside the agreed area", "Consumer did not ask to be contacted")  # fmt: skip
OTHER_REASON = "Other"


def return_reasons(entity: Entity) -> list[str]:
    """The reasons a partner of `entity` chooses from, "Other" last (it needs a text)."""
    chosen = [r for r in (entity.return_reasons or DEFAULT_RETURN_REASONS) if r != OTHER_REASON]
    return [*chosen, OTHER_REASON]


def lead_types_bought(partner: Partner) -> QuerySet[LeadType]:
    """The lead types this partner was ever delivered, by name.

    One semi-join over the partner's deliveries (its index range), not an EXISTS probe per
    lead type: a probe for a type never bought would read every one of the partner's rows.
    """
    delivered = Delivery.objects.filter(partner=partner).values("lead_type_id")
    return LeadType.objects.filter(entity_id=partner.entity_id, pk__in=delivered).order_by("name")


def deliveries_with_returns(rows: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """`rows` with their lead type and their open (requested or accepted) return's status, if any."""
    from django.db.models import OuterRef, Subquery

    open_return = Return.objects.filter(delivery=OuterRef("pk"), status__in=OPEN_RETURN_STATUSES)
    return rows.select_related("lead_type", "profile").annotate(
        open_return_status=Subquery(open_return.values("status")[:1])
    )


def returns_for_entity(entity: Entity, *, status: str | None = None) -> QuerySet[Return]:
    """An entity's returns, with their delivery and partner, oldest request first."""
    rows = Return.objects.filter(entity=entity).select_related("delivery", "delivery__partner")
    if status is not None:
        rows = rows.filter(status=status)
    return rows.order_by("requested_at", "id")


def returns_pending(entity: Entity) -> QuerySet[Return]:
    """Returns waiting for a decision."""
    return returns_for_entity(entity, status=ReturnStatus.REQUESTED)


def returns_by_ids(ids: Iterable[int], *, entity: Entity | None = None) -> dict[int, Return]:
    """Returns by id, optionally only those of one entity; missing ids are simply absent."""
    rows = Return.objects.filter(pk__in=list(ids)).select_related("delivery", "delivery__partner", "entity")
    if entity is not None:
        rows = rows.filter(entity=entity)
    return {ret.pk: ret for ret in rows}


# --- the console's deliveries log ----------------------------------------------------------

DELIVERY_STATUSES = ("unbilled", "billed", "returned", "return_requested")
DELIVERY_STATUS_LABELS = {"unbilled": "Unbilled", "billed": "Billed", "returned": "Returned",
                          "return_requested": "Return requested"}  # fmt: skip
SUMMARY_MAX_ROWS = 50_000  # deliveries a log's totals look at: ~120 ms of billed-lead probes on PostgreSQL (benchmarks/console_pages.py)


def deliveries_log(
    entity: Entity,
    *,
    partner: Partner | None = None,
    profile: Profile | None = None,
    lead_type: LeadType | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
    before: tuple[datetime, int] | None = None,
    scan: int | None = None,
    window: list[tuple[datetime, int]] | None = None,
) -> QuerySet[Delivery]:
    """An entity's deliveries newest first, filtered; `before` is the keyset cursor (time, id).

    With a status filter and `scan`, only the newest `scan` deliveries (after the other
    filters) are looked at; the oldest of them is appended to `window` so the page can
    continue from there.

    Ordered by (delivered_at, id) so a page is one range scan of the (entity|partner,
    delivered_at) index whatever the table's size; status filters are EXISTS probes on the
    partial unique indexes of billed leads and open returns.
    """
    from leadbill.invoicing.models import BilledLead

    window = window if window is not None else []
    rows = Delivery.objects.filter(entity=entity) if partner is None else Delivery.objects.filter(partner=partner)
    if partner is not None:
        rows = rows.filter(entity=entity)
    if profile is not None:
        rows = rows.filter(profile=profile)
    if lead_type is not None:
        rows = rows.filter(lead_type=lead_type)
    if start is not None:
        rows = rows.filter(delivered_at__gte=start)
    if end is not None:
        rows = rows.filter(delivered_at__lt=end)
    if before is not None:
        at, pk = before
        rows = rows.filter(Q(delivered_at__lt=at) | Q(delivered_at=at, pk__lt=pk))
    if scan is not None and status:
        # A status is an EXISTS probe per row; a page that finds few matches would probe
        # every older row (a million). Only the newest `scan` rows are probed per page, and
        # the caller offers to go on from the last of them.
        edge = rows.order_by("-delivered_at", "-pk").values_list("delivered_at", "pk")[scan - 1 : scan].first()
        if edge is not None:
            rows = rows.filter(Q(delivered_at__gt=edge[0]) | Q(delivered_at=edge[0], pk__gte=edge[1]))
            window.append(edge)
    billed = Exists(BilledLead.objects.filter(delivery=OuterRef("pk"), voided=False))
    returned = Exists(Return.objects.filter(delivery=OuterRef("pk"), status=ReturnStatus.ACCEPTED))
    requested = Exists(Return.objects.filter(delivery=OuterRef("pk"), status=ReturnStatus.REQUESTED))
    if status == "unbilled":
        rows = rows.filter(~billed)
    elif status == "billed":
        rows = rows.filter(billed)
    elif status == "returned":
        rows = rows.filter(returned)
    elif status == "return_requested":
        rows = rows.filter(requested)
    bill = BilledLead.objects.filter(delivery=OuterRef("pk"), voided=False)
    return (
        rows.select_related("partner", "profile", "lead_type")
        .annotate(
            is_billed=billed,
            is_returned=returned,
            return_requested=requested,
            billed_minor=Subquery(bill.values("amount_minor")[:1]),
            billed_invoice_id=Subquery(bill.values("invoice_id")[:1]),
            billed_invoice_number=Subquery(bill.values("invoice__number")[:1]),
        )
        .order_by("-delivered_at", "-pk")
    )


def deliveries_summary(
    rows: QuerySet[Delivery], *, bounds: QuerySet[Delivery] | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Count and billed total per currency of a `deliveries_log` selection: one aggregate query.

    `bounds` is the selection's index range (the entity or partner, and the dates), without the
    filters the index cannot answer (lead type, profile, status). When that range holds more than
    SUMMARY_MAX_ROWS deliveries nothing is totalled (the flag says so): the probe is one bounded
    index scan, and the totals read at most SUMMARY_MAX_ROWS rows, whatever the table's size and
    however few rows a lead-type filter keeps (a 3 % lead type over a million deliveries would
    otherwise read them all, twice).
    """
    from leadbill.invoicing.models import BilledLead

    rows = rows.order_by()
    probe = (bounds if bounds is not None else rows).order_by()
    if probe.values("pk")[SUMMARY_MAX_ROWS : SUMMARY_MAX_ROWS + 1].exists():
        return [], True
    bill = BilledLead.objects.filter(delivery=OuterRef("pk"), voided=False).values("amount_minor")[:1]
    groups = list(
        rows.annotate(billed_amount=Subquery(bill))
        .values("currency")
        .annotate(count=Count("pk"), billed=Count("billed_amount"), total_minor=Sum("billed_amount"))
        .order_by("currency")
    )
    return groups, False


# Delivery-log statuses the billing summary can total: its states answer them exactly. A
# returned or return-requested filter needs each delivery's returns (a billed lead can be
# returned later), so it is totalled from the deliveries, bounded (`deliveries_summary`).
SUMMARY_STATUSES = ("", "billed", "unbilled")


def deliveries_totals(
    entity: Entity,
    *,
    partner: Partner | None = None,
    profile: Profile | None = None,
    lead_type: LeadType | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str = "",
) -> list[dict[str, Any]] | None:
    """Count, billed count and billed total per currency of a delivery-log selection, from the
    billing summary: partners × days rows whatever the number of deliveries.

    None when the summary cannot answer it (a status it does not hold, or a bound that is not
    a local midnight); the caller then totals the deliveries themselves.
    """
    from django.db.models import F

    from leadbill.deliveries.models import BillingSummary

    if status not in SUMMARY_STATUSES:
        return None
    tz = zone(entity.timezone)
    days = {}
    for name, at in (("day__gte", start), ("day__lt", end)):
        if at is not None:
            if not is_local_midnight(at, tz):
                return None
            days[name] = at.astimezone(tz).date()
    rows = BillingSummary.objects.filter(entity=entity, **days)
    if partner is not None:
        rows = rows.filter(partner=partner)
    if profile is not None:
        rows = rows.filter(profile_id=profile.pk)
    if lead_type is not None:
        rows = rows.filter(lead_type_id=lead_type.pk)
    count = {"": Sum("leads"), "billed": Sum("billed_leads"), "unbilled": Sum(F("leads") - F("billed_leads"))}[status]
    groups = (
        rows.values("currency")
        .annotate(count=count, billed=Sum("billed_leads"), total_minor=Sum("billed_minor"))
        .order_by("currency")
    )
    out = []
    for g in groups:
        billed = 0 if status == "unbilled" else g["billed"] or 0
        if g["count"]:
            out.append({"currency": g["currency"], "count": g["count"], "billed": billed,
                        "total_minor": g["total_minor"] if billed else None})  # fmt: skip
    return out


def delivered_in(entity: Entity, period: Period) -> int:
    """Deliveries of the entity in a whole-day period, from the billing summary."""
    from leadbill.deliveries.models import BillingSummary

    total = BillingSummary.objects.filter(entity=entity, day__gte=period.first_day, day__lt=period.end_day).aggregate(
        n=Sum("leads")
    )["n"]
    return int(total or 0)
