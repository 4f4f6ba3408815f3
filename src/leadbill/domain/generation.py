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
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from leadbill.domain.errors import DomainError
from leadbill.domain.money import micros_to_unit_price, unit_price_text, unit_price_to_micros
from leadbill.domain.pricing import PricingModel
from leadbill.domain.rounding import line_amount_minor, micros_to_minor_half_up
from leadbill.domain.tax import TaxSubtotal, check_rate, tax_subtotals

CHARGE = "charge"
PRIOR_PERIOD = "prior_period"
RETURN_CREDIT = "return_credit"
ADJUSTMENT = "adjustment"
MANUAL = "manual"
LINE_KINDS = (CHARGE, PRIOR_PERIOD, RETURN_CREDIT, ADJUSTMENT, MANUAL)

# Delivered-price leads are listed per exact price up to this many distinct prices in a line's
# group; beyond it, in at most this many bands of neighbouring prices (a buyer checks a dozen
# rows, not 769 prices).
EXACT_PRICES_MAX = 12

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
    # Delivered prices: (price in micros, leads at that price), for the breakdown by price.
    prices: tuple[tuple[int, int], ...] = ()
    # Leads over the partner's cap, billed at the over-cap price (`version` is then a flat model).
    over_cap: bool = False


@dataclass(frozen=True, slots=True)
class PriceBand:
    """Delivered-price leads whose prices lie in [low, high], with their count and summed price."""

    low_micros: int
    high_micros: int
    count: int
    sum_micros: int

    @property
    def exact(self) -> bool:
        return self.low_micros == self.high_micros


def price_bands(prices: Sequence[tuple[int, int]], limit: int = EXACT_PRICES_MAX) -> list[PriceBand]:
    """Group (price, count) pairs for the invoice: each price alone when there are at most `limit`,
    else `limit` bands of neighbouring prices, each holding about as many distinct prices."""
    merged: dict[int, int] = {}
    for micros, count in prices:
        if count:
            merged[micros] = merged.get(micros, 0) + count
    ordered = sorted(merged.items())
    if len(ordered) <= limit:
        return [PriceBand(p, p, n, p * n) for p, n in ordered]
    bands = []
    size, extra = divmod(len(ordered), limit)
    start = 0
    for i in range(limit):
        chunk = ordered[start : start + size + (1 if i < extra else 0)]
        start += len(chunk)
        bands.append(PriceBand(chunk[0][0], chunk[-1][0], sum(n for _, n in chunk), sum(p * n for p, n in chunk)))
    return bands


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
    # Delivered-price lines: the prices their leads carry (inclusive), for the per-lead allocation.
    price_low_micros: int | None = None
    price_high_micros: int | None = None
    over_cap: bool = False

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
    """Lines for usage: one per scope, bucket, plan version and band of one price.

    Delivered-price leads are broken down by their price (or price band); the lines of a group
    are the steps of its rounded running sum, so they add up to the group's sum rounded once.
    Over-cap leads (policy "price") are lines of their own at the over-cap price.
    """
    by_scope: dict[tuple[bool, str, str, bool], list[UsageGroup]] = defaultdict(list)
    for group in groups:
        if group.count > 0:
            by_scope[(group.prior, group.bucket, group.scope, group.over_cap)].append(group)
    lines: list[DraftLine] = []
    for (prior, bucket, scope, over), members in sorted(by_scope.items()):
        members.sort(key=lambda g: (g.version.effective_from, g.version.id))
        already = members[0].already_billed
        period_total = already + sum(g.count for g in members)
        next_rank = already + 1
        for group in members:
            first, last = next_rank, next_rank + group.count - 1
            next_rank = last + 1
            prefix = ("Earlier deliveries: " if bucket == EARLIER else f"Prior period {bucket}: ") if prior else ""
            if over:
                prefix += "Over cap: "
            kind = PRIOR_PERIOD if prior else CHARGE
            for band in group.version.model.bands(first, last, period_total):
                label = f"{prefix}{group.scope_label} \u2014 {band.label}"
                if band.unit_price is None:
                    line = DraftLine(
                        kind=kind, description="", quantity=0, unit_price=None, amount_minor=0, tax_rate=tax_rate,
                        scope=scope, bucket=bucket, version_id=group.version.id, over_cap=over,
                    )  # fmt: skip
                    lines += _delivered_lines(line, group, band.rank_from, band.rank_to, label, currency)
                    continue
                # Built whole, not by `replace`: ten thousand partners' lines are drafted on every preview.
                lines.append(
                    DraftLine(
                        kind=kind, description=label, quantity=band.quantity, unit_price=band.unit_price,
                        amount_minor=line_amount_minor(band.quantity, unit_price_to_micros(band.unit_price), currency),
                        tax_rate=tax_rate, scope=scope, bucket=bucket, version_id=group.version.id,
                        rank_from=band.rank_from, rank_to=band.rank_to, over_cap=over,
                    )
                )  # fmt: skip
    return lines


def _delivered_lines(
    line: DraftLine, group: UsageGroup, rank_from: int, rank_to: int, label: str, currency: str
) -> list[DraftLine]:
    """A delivered-price group as lines per price or price band (one line without the breakdown).

    The lines are the differences of the group's running sum rounded half-up, band after band
    in price order, so together they are exactly the group's summed prices rounded once: the
    same amount whether the group is shown broken down (an issued document) or as one line (a
    preview read from the billing summary, which keeps sums, not prices).
    """
    whole = replace(line, description=label, quantity=rank_to - rank_from + 1, rank_from=rank_from, rank_to=rank_to)
    if not group.prices:  # a preview from the billing summary, a payout at recorded cost: one line
        return [replace(whole, amount_minor=micros_to_minor_half_up(group.price_sum_micros, currency))]
    out = []
    running = 0
    for band in price_bands(group.prices):
        low = micros_to_unit_price(band.low_micros)
        low_text, high_text = unit_price_text(band.low_micros, currency), unit_price_text(band.high_micros, currency)
        where = f"at {low_text}" if band.exact else f"at {low_text} to {high_text}"
        out.append(
            replace(
                whole, description=f"{label} {where}", quantity=band.count,
                unit_price=low if band.exact else None,
                amount_minor=micros_to_minor_half_up(running + band.sum_micros, currency)
                - micros_to_minor_half_up(running, currency),
                price_low_micros=band.low_micros, price_high_micros=band.high_micros,
            )
        )  # fmt: skip
        running += band.sum_micros
    return out


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


# --- manual invoices ------------------------------------------------------------------------

MANUAL_LINES_MAX = 200
MANUAL_QUANTITY_MAX = 1_000_000_000


@dataclass(frozen=True, slots=True)
class ManualLine:
    """A line someone typed: what, how many, at what price, at which tax rate (percent)."""

    description: str
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal


def manual_draft(*, currency: str, lines: Sequence[ManualLine]) -> InvoiceDraft:
    """An invoice of typed lines: each line half-up once, tax per rate on the sum of its lines.

    A negative quantity is a credit line (a discount) at a positive price (EN 16931 BR-27);
    the whole must be a charge: a net credit is a credit note, not an invoice.
    """
    if not lines:
        raise DomainError("give at least one line", field="lines")
    if len(lines) > MANUAL_LINES_MAX:
        raise DomainError(f"at most {MANUAL_LINES_MAX} lines", field="lines")
    out = []
    for i, line in enumerate(lines):
        where = f"lines[{i}]"
        if not line.description.strip():
            raise DomainError("say what is invoiced", field=f"{where}.description")
        if line.quantity == 0 or abs(line.quantity) > MANUAL_QUANTITY_MAX:
            raise DomainError(
                f"a whole number from 1 to {MANUAL_QUANTITY_MAX:,} (negative for a credit line)",
                field=f"{where}.quantity",
            )
        if line.unit_price < 0:
            raise DomainError(
                "a price cannot be negative; give a negative quantity for a credit", field=f"{where}.unit_price"
            )
        micros = unit_price_to_micros(line.unit_price, field=f"{where}.unit_price")
        rate = check_rate(line.tax_rate, field=f"{where}.tax_rate")
        out.append(
            DraftLine(
                kind=MANUAL, description=line.description.strip(), quantity=line.quantity, unit_price=line.unit_price,
                amount_minor=line_amount_minor(line.quantity, micros, currency), tax_rate=rate,
            )
        )  # fmt: skip
    taxes = tax_subtotals(((line.tax_rate, line.amount_minor) for line in out), currency)
    draft = InvoiceDraft(currency=currency, lines=tuple(out), taxes=taxes, leads_billed=0, leads_credited=0)
    if draft.total_minor <= 0:
        raise DomainError("the lines add up to nothing to invoice; a net credit is a credit note", field="lines")
    return draft
