"""Receivables arithmetic: what a credit settles, what is left open, and the status that follows.

Why a module: a payment, a credit note and credit on account follow one rule, and it must be
the same in the services and in the property tests. A credit applies to its invoice at most
what is still open there; the rest becomes credit on account, never a negative open amount.
Credit on account is spent on open invoices oldest first (by due date, then number).
Amounts are integers in minor units; positive means the partner owes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from leadbill.domain.rounding import tax_minor

ISSUED = "issued"
PARTIALLY_PAID = "partially_paid"
PAID = "paid"
VOID = "void"
WRITTEN_OFF = "written_off"


@dataclass(frozen=True)
class Split:
    """A credit of `applied + on_account`: `applied` settles the invoice, the rest is credit on account."""

    applied: int
    on_account: int


def split_credit(credit: int, open_minor: int) -> Split:
    """How a credit (positive amount) settles an invoice with `open_minor` still open."""
    if credit < 0:
        raise ValueError("a credit is a positive amount")
    applied = max(0, min(credit, open_minor))
    return Split(applied, credit - applied)


def oldest_first(credit: int, opens: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Credit on account spent on open invoices, given as (id, open) already in age order.

    Returns (id, applied) for each invoice that takes some of it; what is left stays on account.
    """
    spent: list[tuple[int, int]] = []
    left = credit
    for invoice_id, open_minor in opens:
        if left <= 0:
            break
        take = min(left, open_minor)
        if take > 0:
            spent.append((invoice_id, take))
            left -= take
    return spent


def shares_of(total: int, weights: Sequence[int]) -> list[int]:
    """`total` split in proportion to `weights` (non-negative), summing to `total` exactly.

    A credit note's total carries its tax, its lines do not: each invoice it corrects takes the share
    of the total that its own lines weigh. Largest remainder, ties to the earlier weight.
    """
    if any(w < 0 for w in weights):
        raise ValueError("weights are non-negative")
    whole = sum(weights)
    if whole == 0:
        return [0] * len(weights)
    floors = [total * w // whole for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in by_remainder[: total - sum(floors)]:
        floors[i] += 1
    return floors


def credit_taken_off(taxes: Sequence[tuple[Decimal, int, int]], credits: Mapping[Decimal, int], currency: str) -> int:
    """What credits netted on a document took off its total, tax included.

    `taxes`: the document's (rate, net, tax) per rate as issued; `credits`: the credits' net per
    rate, positive. The answer is the document's total with the credits added back (each rate's
    tax on the new sum, rounded once, as at issue) less its total: exactly what the partner was
    not asked to pay because of them, where a credit's own tax rounded alone could be a cent off.
    """
    if any(c < 0 for c in credits.values()):
        raise ValueError("credits are positive amounts")
    issued = {rate: (net, tax) for rate, net, tax in taxes}
    taken = 0
    for rate, credit in credits.items():
        net, tax = issued.get(rate, (0, 0))
        taken += credit + tax_minor(net + credit, rate, currency) - tax
    return taken


def status_of(*, total: int, open_minor: int, written_off: int, void: bool) -> str:
    """An issued invoice's status from its ledger: void, written off, paid, partially paid or issued."""
    if void:
        return VOID
    if open_minor <= 0:
        return WRITTEN_OFF if written_off > 0 else PAID
    if open_minor < total:
        return PARTIALLY_PAID
    return ISSUED
