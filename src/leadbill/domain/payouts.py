"""Payouts: what the business owes a supplier for a period, as a pure function of facts.

A payout is priced like an invoice, from the other side: the leads bought from the
supplier in the period are ranked and banded by the supplier's price plan (`side=buy`),
or carry their own recorded cost, through the same `generation.charge_lines` the buyer
side uses, so tiers, versions and rounding mean the same thing. Leads the buyers returned
and that are passed back to the supplier are deducted: at exactly the amount they were
paid out at, when an earlier payout already paid them (a deduction line), or simply left
out when they were never paid.

Payout lines are net; tax is added only on the self-billed documents, at the supplier's
own rate (`leadbill.domain.selfbilling`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from leadbill.domain.errors import DomainError, StateError
from leadbill.domain.generation import CHARGE, PRIOR_PERIOD, DraftLine, UsageGroup, charge_lines

DRAFT = "draft"
PENDING = "pending"
READY = "ready"
PAID = "paid"
CANCELLED = "cancelled"
STATUSES = (DRAFT, PENDING, READY, PAID, CANCELLED)

# Forward through review to payment; "pending" may go back to draft for changes; anything
# not yet paid may be cancelled. Paid is final: later corrections are deductions.
NEXT: dict[str, tuple[str, ...]] = {
    DRAFT: (PENDING, CANCELLED),
    PENDING: (DRAFT, READY, CANCELLED),
    READY: (PAID, CANCELLED),
    PAID: (),
    CANCELLED: (),
}

DEDUCTION = "return_deduction"
MANUAL = "manual"
LINE_KINDS = (CHARGE, PRIOR_PERIOD, DEDUCTION, MANUAL)


def check_transition(current: str, target: str) -> None:
    """Refuse a state change the lifecycle does not allow, naming what is allowed."""
    if target not in STATUSES:
        raise DomainError(f"unknown payout status {target!r} (one of: {', '.join(STATUSES)})", field="status")
    allowed = NEXT[current]
    if target not in allowed:
        then = f"it can go to {' or '.join(allowed)}" if allowed else "that is final"
        raise StateError(f"the payout is {current}; {then}")


@dataclass(frozen=True, slots=True)
class Deduction:
    """Returned leads that an earlier payout paid, deducted now at the amounts paid."""

    description: str
    count: int
    amount_minor: int
    tax_rate: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class PayoutDraft:
    currency: str
    lines: tuple[DraftLine, ...]
    leads_paid: int
    leads_deducted: int

    @property
    def amount_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines


def compute(*, currency: str, usage: Sequence[UsageGroup] = (), deductions: Sequence[Deduction] = ()) -> PayoutDraft:
    """The payout a supplier should get for these facts: usage lines, then deduction lines."""
    # A supplier's lead without a plan price carries the cost recorded when it was bought.
    lines = [
        replace(line, description=line.description.replace("delivered price", "recorded cost"))
        if line.unit_price is None
        else line
        for line in charge_lines(usage, currency, Decimal(0))
    ]
    for deduction in deductions:
        if deduction.count:
            lines.append(
                DraftLine(
                    kind=DEDUCTION,
                    description=deduction.description,
                    quantity=deduction.count,
                    unit_price=None,
                    amount_minor=-deduction.amount_minor,
                    tax_rate=deduction.tax_rate,
                )
            )
    return PayoutDraft(
        currency=currency,
        lines=tuple(lines),
        leads_paid=sum(line.quantity for line in lines if line.kind in (CHARGE, PRIOR_PERIOD)),
        leads_deducted=sum(d.count for d in deductions),
    )
