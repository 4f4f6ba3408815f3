"""Reads of payouts and self-billing, shaped once for the API, the webhooks and the pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch, QuerySet, Sum

from leadbill.domain import payouts as p
from leadbill.domain import selfbilling as sb
from leadbill.domain.tax import rate_from_bp
from leadbill.entities.models import Entity
from leadbill.invoicing.selectors import money
from leadbill.partners.models import Partner
from leadbill.payouts.models import Payout, PayoutLine
from leadbill.selfbilling.models import Agreement, SelfBilledDocument, SellerProfile, SupplierInvoice
from leadbill.selfbilling.selectors import deduction_originals, self_billed_as_dict

if TYPE_CHECKING:
    from leadbill.payment_files.models import PaymentFileItem


def payout_as_dict(payout: Payout, *, lines: bool = False, amounts: Amounts | None = None) -> dict[str, Any]:
    """The payout for the API and the webhooks; net, tax and total as every page shows them (`payout_amounts`,
    given as `amounts` for a list: `payouts_as_dicts`), with `tax_estimated` while no document carries the tax."""
    c = payout.currency
    shown = amounts if amounts is not None else payout_amounts([payout])[payout.pk]
    out: dict[str, Any] = {
        "id": payout.pk, "partner": {"code": payout.partner.code, "name": payout.partner.name},
        "period": payout.period_key, "first_day": payout.period_first_day.isoformat(),
        "last_day": payout.period_last_day.isoformat(), "currency": c, "status": payout.status,
        "origin": payout.origin, "net": money(shown.net_minor, c), "tax": money(shown.tax_minor, c),
        "total": money(shown.total_minor, c), "tax_estimated": shown.estimated, "leads_paid": payout.leads_paid,
        "leads_deducted": payout.leads_deducted, "anomalies": list(payout.anomalies), "note": payout.note,
        "self_billing": payout.self_billing or None,
        "documents": [self_billed_as_dict(d) for d in sorted(payout.documents.all(), key=_pk)],
        "supplier_invoices": [
            {"id": s.pk, "name": s.name, "reference": s.reference, "media_type": s.media_type, "size": s.size,
             "sha256": s.sha256, "uploaded_at": s.uploaded_at.isoformat()}
            for s in sorted(payout.supplier_invoices.all(), key=_pk)
        ],
        "ready_at": payout.ready_at.isoformat() if payout.ready_at else None,
        "paid_at": payout.paid_at.isoformat() if payout.paid_at else None,
        "paid_on": payout.paid_on.isoformat() if payout.paid_on else None, "paid_reference": payout.paid_reference,
        "cancel_reason": payout.cancel_reason or None,
    }  # fmt: skip
    if lines:
        out["lines"] = [
            {"position": line.position, "kind": line.kind, "description": line.description,
             "quantity": line.quantity, "unit_price": _price(line.unit_price_micros),
             "amount": money(line.amount_minor, c)}
            for line in payout.lines.all()
        ]  # fmt: skip
    return out


def unsent_file_item(payout: Payout) -> PaymentFileItem | None:
    """The item of the payment file, made and not yet sent, that holds the payout (None: no such file).

    Such a file pays the payout's total as it was when the file was made, so nothing may change that total.
    """
    return payout.payment_file_items.filter(active=True, file__status="created").select_related("file").first()


def payouts_as_dicts(payouts: Sequence[Payout], *, lines: bool = False) -> list[dict[str, Any]]:
    """`payout_as_dict` of each, their amounts in three queries however many."""
    shown = payout_amounts(payouts)
    return [payout_as_dict(po, lines=lines, amounts=shown[po.pk]) for po in payouts]


_pk = attrgetter("pk")  # sorted in Python, so that what `with_details` prefetched is used as it is


def with_details(qs: QuerySet[Payout], *, lines: bool = False) -> QuerySet[Payout]:
    """`qs` with what `payout_as_dict` reads fetched in one query per relation, however many payouts.

    The bytes of uploaded invoices are left in the database: a list never needs them.
    """
    related: list[Any] = [
        Prefetch("documents", queryset=SelfBilledDocument.objects.select_related("partner")),
        Prefetch("supplier_invoices", queryset=SupplierInvoice.objects.defer("content")),
    ]
    if lines:
        related.append("lines")
    return qs.prefetch_related(*related)


def _price(micros: int | None) -> str | None:
    from leadbill.domain.money import micros_to_unit_price

    return None if micros is None else str(micros_to_unit_price(micros))


def payouts_of(entity: Entity) -> QuerySet[Payout]:
    return Payout.objects.filter(entity=entity).select_related("partner", "entity")


def partner_payouts(partner: Partner) -> QuerySet[Payout]:
    """What the partner sees: its payouts once submitted (drafts are the business's work in progress)."""
    return Payout.objects.filter(partner=partner).exclude(status="draft").select_related("partner", "entity")


@dataclass(frozen=True, slots=True)
class Amounts:
    """Net, tax and total of a payout as its pages show them, at every status.

    Once ready, the stored figures (the self-billed documents' own). Before, the tax the
    self-invoice will carry, from the supplier's rate in its self-billing details, computed
    the way `selfbilling.issuing.self_bill` will (per rate on the sum of lines; deductions at the rate
    they were paid at): so approving a payout never changes what it was seen to cost.
    `estimated` says the tax is not yet on a document; `rate` is the supplier's rate used.
    """

    net_minor: int
    tax_minor: int
    total_minor: int
    estimated: bool = False
    rate: Decimal | None = None
    self_billed: bool = True  # False: no self-invoice will carry tax (not opted in, switch off)


ESTIMATED_STATUSES = frozenset({p.DRAFT, p.PENDING})


def payout_amounts(payouts: Sequence[Payout]) -> dict[int, Amounts]:
    """`Amounts` of each payout, in three queries however many (agreements, profiles, line sums); two more
    when some deduction is stored at 0 % (which of them were paid without a self-invoice)."""
    out = {po.pk: Amounts(po.amount_minor, po.tax_minor, po.total_minor) for po in payouts}
    open_ = [po for po in payouts if po.status in ESTIMATED_STATUSES]
    if not open_:
        return out
    partner_ids = {po.partner_id for po in open_}
    opted = set(
        Agreement.objects.filter(partner_id__in=partner_ids, withdrawn_at__isnull=True).values_list(
            "partner_id", flat=True
        )
    )
    rates = dict(SellerProfile.objects.filter(partner_id__in=partner_ids).values_list("partner_id", "tax_rate_bp"))
    sums: dict[int, list[tuple[bool, int, int]]] = {}
    rows = (
        PayoutLine.objects.filter(payout__in=open_)
        .values("payout_id", "kind", "tax_rate_bp")
        .annotate(net=Sum("amount_minor"))
        .order_by()
    )
    for row in rows:
        sums.setdefault(row["payout_id"], []).append((row["kind"] == p.DEDUCTION, row["tax_rate_bp"], row["net"]))
    # A deduction stored at 0 % was paid either on a self-invoice at 0 % (taken back at 0 %) or without one
    # (taken back at the supplier's rate today): the one rule, `deduction_originals`, tells them apart.
    at_zero = [pid for pid, items in sums.items() if any(deduction and not bp for deduction, bp, _ in items)]
    zero = (
        list(
            PayoutLine.objects.filter(payout__in=at_zero, kind=p.DEDUCTION, tax_rate_bp=0).only(
                "payout_id", "amount_minor"
            )
        )
        if at_zero
        else []
    )
    originals = deduction_originals(zero) if zero else {}
    unbilled: dict[int, int] = {}
    for line in zero:
        if originals[line.pk] is None:
            unbilled[line.payout_id] = unbilled.get(line.payout_id, 0) + line.amount_minor
    for po in open_:
        if not (po.entity.self_billing and po.partner_id in opted):
            out[po.pk] = Amounts(po.amount_minor, 0, po.amount_minor, estimated=True, self_billed=False)
            continue
        rate_bp = rates.get(po.partner_id) or 0
        charges = [(rate_from_bp(rate_bp), net) for deduction, _, net in sums.get(po.pk, []) if not deduction]
        taken = [(rate_from_bp(bp), -net) for deduction, bp, net in sums.get(po.pk, []) if deduction and bp]
        at_zero = sum(net for deduction, bp, net in sums.get(po.pk, []) if deduction and not bp)
        if at_zero:
            without = unbilled.get(po.pk, 0)
            taken += [(rate_from_bp(rate_bp), -without), (rate_from_bp(0), -(at_zero - without))]
            taken = [(rate, net) for rate, net in taken if net]
        tax = (sb.totals(charges, po.currency).tax_minor if charges else 0) - (
            sb.totals(taken, po.currency).tax_minor if taken else 0
        )
        rate = None if rates.get(po.partner_id) is None else rate_from_bp(rate_bp)
        out[po.pk] = Amounts(po.amount_minor, tax, po.amount_minor + tax, estimated=True, rate=rate)
    return out
