"""Reads of self-billing: a partner's standing, its agreement in force, a self-billed document as data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, F

from leadbill.domain import selfbilling as sb
from leadbill.domain.document import SELF_BILLED_CREDIT_NOTE, SELF_BILLED_INVOICE, TYPE_CODES
from leadbill.domain.periods import zone
from leadbill.entities.models import Entity
from leadbill.invoicing.selectors import money
from leadbill.partners.models import Partner
from leadbill.payouts.models import DeductedLead, Payout, PayoutLine
from leadbill.selfbilling.models import Agreement, SelfBilledDocument, SellerProfile

PREFIX_MAX = 30  # SellerProfile.number_prefix, as long as a number series' prefix


def default_prefix(partner: Partner) -> str:
    """The partner's own series, named after its code in whole words: SB-QUOTEWISE-AFFILIATES-."""
    return sb.default_prefix(partner.code, max_length=PREFIX_MAX)


def agreement_in_force(partner: Partner) -> Agreement | None:
    return Agreement.objects.filter(partner=partner, withdrawn_at__isnull=True).first()


def type_code(doc: SelfBilledDocument) -> str:
    """UNTDID 1001: 389 self-billed invoice, 261 self-billed credit note."""
    return TYPE_CODES[SELF_BILLED_CREDIT_NOTE if doc.is_credit else SELF_BILLED_INVOICE]


def self_billed_as_dict(doc: SelfBilledDocument) -> dict[str, Any]:
    c = doc.currency
    return {
        "id": doc.pk, "number": doc.number, "type_code": type_code(doc), "role": doc.role, "payout": doc.payout_id,
        "partner": {"code": doc.partner.code, "name": doc.partner.name}, "issue_date": doc.issue_date.isoformat(),
        "due_date": doc.due_date.isoformat() if doc.due_date else None, "currency": c,
        "subtotal": money(doc.subtotal_minor, c), "tax": money(doc.tax_minor, c), "total": money(doc.total_minor, c),
        "corrects": list(doc.references),
        "reversed_at": _iso(doc.reversed_at), "acceptance": acceptance_as_dict(doc),
    }  # fmt: skip


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def acceptance_as_dict(doc: SelfBilledDocument) -> dict[str, Any] | None:
    """The supplier's acceptance of `doc`: null on a reversal, which is not asked for."""
    if not doc.acceptance:
        return None
    return {
        "state": sb.ACCEPTED if doc.acceptance == sb.DEEMED else doc.acceptance, "deemed": doc.acceptance == sb.DEEMED,
        "due_at": _iso(doc.acceptance_due_at), "at": _iso(doc.acceptance_at), "by": doc.acceptance_by or None,
        "via": doc.acceptance_via or None, "address": doc.acceptance_from, "reason": doc.acceptance_reason or None,
    }  # fmt: skip


def self_billing_status(partner: Partner) -> dict[str, Any]:
    """Where the partner stands: opted in or not, which agreement, what is missing."""
    profile = SellerProfile.objects.filter(partner=partner).first()
    agreement = Agreement.objects.filter(partner=partner, withdrawn_at__isnull=True).first()
    return _status(partner.entity, profile, agreement)


def self_billing_statuses(entity: Entity, partners: Sequence[Partner]) -> list[dict[str, Any]]:
    """`self_billing_status` of each of the entity's `partners`, in two queries for all of them."""
    profiles = {sp.partner_id: sp for sp in SellerProfile.objects.filter(partner__in=partners)}
    agreements = {a.partner_id: a for a in Agreement.objects.filter(partner__in=partners, withdrawn_at__isnull=True)}
    return [_status(entity, profiles.get(p.pk), agreements.get(p.pk)) for p in partners]


def _status(entity: Entity, profile: SellerProfile | None, agreement: Agreement | None) -> dict[str, Any]:
    return {
        "offered": entity.self_billing,
        "opted_in": agreement is not None,
        "agreement": None if agreement is None else {
            "version": agreement.version, "accepted_by": agreement.accepted_by,
            "accepted_at": agreement.accepted_at.isoformat(), "accepted_from": agreement.accepted_from,
            "via": agreement.via,
        },
        "missing": list(sb.missing_details(profile.details() if profile else {})),
        "tax_rate": None if profile is None or profile.tax_rate_bp is None else str(
            Decimal(profile.tax_rate_bp).scaleb(-2)),
    }  # fmt: skip


def acceptance_blockers(payout: Payout) -> list[str]:
    """What keeps the payout from being paid where acceptance is required: its live documents not yet accepted."""
    out = []
    for doc in SelfBilledDocument.objects.filter(payout=payout).live().order_by("pk"):
        if doc.acceptance in sb.SETTLED:
            continue
        if doc.acceptance == sb.PENDING:
            local = doc.acceptance_due_at.astimezone(zone(payout.entity.timezone)) if doc.acceptance_due_at else None
            due = f"{local:%Y-%m-%d %H:%M %Z}" if local else "?"
            out.append(f"{doc.number} awaits the supplier's acceptance (deemed accepted on {due} if not disputed)")
        else:
            out.append(f"{doc.number} is {doc.acceptance}")
    return out


def awaiting_acceptance(payouts: Sequence[Payout]) -> dict[int, int]:
    """How many live documents of each payout wait for the supplier's acceptance, in one query."""
    rows = (
        SelfBilledDocument.objects.filter(payout__in=payouts, acceptance=sb.PENDING)
        .live()
        .values("payout_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["payout_id"]: row["n"] for row in rows}


def deduction_originals(deductions: Sequence[PayoutLine]) -> dict[int, SelfBilledDocument | None]:
    """For each deduction line, the self-invoice that paid its leads (None: paid without one), in two queries.

    The one rule for the rate a deduction is taken back at: that invoice's rate, or without one the
    supplier's rate today (`selfbilling.issuing.self_bill`, and the estimate of `payouts.selectors`).
    """
    payout_of_line = dict(
        DeductedLead.objects.filter(line__in=deductions).values_list("line_id", "paid__payout_id").distinct()
    )
    invoices = {
        doc.payout_id: doc
        for doc in SelfBilledDocument.objects.filter(
            payout_id__in=set(payout_of_line.values()), role=sb.INVOICE
        ).order_by(F("reversed_at").asc(nulls_last=True), "pk")  # the live one last: the one kept
    }
    return {line.pk: invoices.get(payout_of_line.get(line.pk, 0)) for line in deductions}
