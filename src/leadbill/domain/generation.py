"""Invoice generation as a pure function of explicit inputs.

The invoice run gathers facts from the database (counts of unbilled leads per pricing
scope, period bucket and plan version; credits due for returns; open adjustments),
calls `generate`, and persists the draft. Preview and issue share this one path, and
a re-run over the same facts yields the same draft, so it can be diffed with what
was issued.

Ranks: the leads of one scope in one period are ranked 1, 2, 3... in delivery order
(ties broken by delivery id). Plan versions partition time, so each version covers a
contiguous run of ranks; tiers are applied to ranks, which makes "tiers count per
invoice period" and "a price change applies from its effective time" both hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from leadbill.domain.money import unit_price_to_micros
from leadbill.domain.pricing import PricingModel
from leadbill.domain.rounding import line_amount_minor, micros_to_minor_half_up
from leadbill.domain.tax import TaxSubtotal, tax_subtotals

CHARGE = "charge"
PRIOR_PERIOD = "prior_period"
RETURN_CREDIT = "return_credit"
ADJUSTMENT = "adjustment"
LINE_KINDS = (CHARGE, PRIOR_PERIOD, RETURN_CREDIT, ADJUSTMENT)

# Bucket of leads from before the billed period that no invoice covers (never invoiced,
# or their invoice was voided).
EARLIER = "earlier"


@dataclass(frozen=True, slots=True)
class PlanVersion:
    id: int
    model: PricingModel
    effective_from: datetime


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """Unbilled billable leads of one partner sharing scope, bucket and plan version.

    `bucket` is the key of the period the leads belong to; `prior` marks leads of
    an earlier period than the one billed (late deliveries), which become
    prior-period lines. `already_billed` counts the scope's leads of that bucket
    billed on earlier invoices; ranks continue after them.
    """

    scope: str
    scope_label: str
    bucket: str
    version: PlanVersion
    count: int
    price_sum_micros: int = 0
    already_billed: int = 0
    prior: bool = False


@dataclass(frozen=True, slots=True)
class ReturnCredit:
    """Returned leads that were billed earlier and are credited now, at their billed amounts."""

    description: str
    count: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A manual credit (negative) or debit (positive) with its reason."""

    id: int
    amount_minor: int
    reason: str


@dataclass(frozen=True, slots=True)
class DraftLine:
    kind: str
    description: str
    quantity: int
    unit_price: Decimal | None
    amount_minor: int
    tax_rate: Decimal
    # Where the line's leads come from; the run allocates per-lead amounts from these.
    scope: str | None = None
    bucket: str | None = None
    version_id: int | None = None
    rank_from: int | None = None
    rank_to: int | None = None
    adjustment_id: int | None = None

    @property
    def unit_price_micros(self) -> int | None:
        return None if self.unit_price is None else unit_price_to_micros(self.unit_price)


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    currency: str
    lines: tuple[DraftLine, ...]
    taxes: tuple[TaxSubtotal, ...]
    leads_billed: int
    leads_credited: int
    notes: tuple[str, ...] = field(default=())

    @property
    def subtotal_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    @property
    def tax_minor(self) -> int:
        return sum(t.tax_minor for t in self.taxes)

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor + self.tax_minor

    @property
    def is_empty(self) -> bool:
        return not self.lines


def charge_lines(groups: Sequence[UsageGroup], currency: str, tax_rate: Decimal) -> list[DraftLine]:
    """Lines for usage: one per scope, bucket, plan version and band of one price."""
    by_scope: dict[tuple[bool, str, str], list[UsageGroup]] = defaultdict(list)
    for group in groups:
        if group.count > 0:
            by_scope[(group.prior, group.bucket, group.scope)].append(group)
    lines: list[DraftLine] = []
    for (prior, bucket, scope), members in sorted(by_scope.items()):
        members.sort(key=lambda g: (g.version.effective_from, g.version.id))
        already = members[0].already_billed
        period_total = already + sum(g.count for g in members)
        next_rank = already + 1
        for group in members:
            first, last = next_rank, next_rank + group.count - 1
            next_rank = last + 1
            for band in group.version.model.bands(first, last, period_total):
                if band.unit_price is None:
                    # Delivered-price bands cover the whole group: one line, the leads'
                    # own prices summed and rounded once.
                    amount = micros_to_minor_half_up(group.price_sum_micros, currency)
                else:
                    amount = line_amount_minor(band.quantity, unit_price_to_micros(band.unit_price), currency)
                prefix = ("Earlier deliveries: " if bucket == EARLIER else f"Prior period {bucket}: ") if prior else ""
                lines.append(
                    DraftLine(
                        kind=PRIOR_PERIOD if prior else CHARGE,
                        description=f"{prefix}{group.scope_label} \u2014 {band.label}",
                        quantity=band.quantity,
                        unit_price=band.unit_price,
                        amount_minor=amount,
                        tax_rate=tax_rate,
                        scope=scope,
                        bucket=bucket,
                        version_id=group.version.id,
                        rank_from=band.rank_from,
                        rank_to=band.rank_to,
                    )
                )
    return lines


def generate(
    *,
    currency: str,
    tax_rate: Decimal,
    usage: Sequence[UsageGroup] = (),
    credits: Sequence[ReturnCredit] = (),
    adjustments: Sequence[Adjustment] = (),
) -> InvoiceDraft:
    """The invoice a partner should receive for these facts."""
    lines = charge_lines(usage, currency, tax_rate)
    for credit in credits:
        if credit.count:
            lines.append(
                DraftLine(
                    kind=RETURN_CREDIT,
                    description=credit.description,
                    quantity=credit.count,
                    unit_price=None,
                    amount_minor=-credit.amount_minor,
                    tax_rate=tax_rate,
                )
            )
    for adj in adjustments:
        lines.append(
            DraftLine(
                kind=ADJUSTMENT,
                description=adj.reason,
                quantity=1,
                unit_price=None,
                amount_minor=adj.amount_minor,
                tax_rate=tax_rate,
                adjustment_id=adj.id,
            )
        )
    taxes = tax_subtotals(((line.tax_rate, line.amount_minor) for line in lines), currency)
    return InvoiceDraft(
        currency=currency,
        lines=tuple(lines),
        taxes=taxes if lines else (),
        leads_billed=sum(line.quantity for line in lines if line.kind in (CHARGE, PRIOR_PERIOD)),
        leads_credited=sum(credit.count for credit in credits),
    )


def per_lead_amounts(line: DraftLine, currency: str, delivered_prices_micros: Sequence[int] = ()) -> list[int]:
    """Reference per-lead allocation of one line, in rank order (the SQL run mirrors it).

    The first k leads of a line always carry exactly the rounded amount of k leads, so
    the shares sum to the line amount.
    """
    if line.rank_from is None or line.rank_to is None:
        raise ValueError("only usage lines have leads")
    if line.unit_price is None or delivered_prices_micros:
        out, running = [], 0
        for own in delivered_prices_micros:
            running += own
            out.append(micros_to_minor_half_up(running, currency) - micros_to_minor_half_up(running - own, currency))
        return out
    micros = unit_price_to_micros(line.unit_price)
    return [
        line_amount_minor(k, micros, currency) - line_amount_minor(k - 1, micros, currency)
        for k in range(1, line.quantity + 1)
    ]
