"""Safety bounds: which documents a run holds back because they are absurd against the partner's history.

A run computes each partner's document, then asks `held_reasons` whether it looks like the
partner's earlier documents. A held document is not issued until a person releases it (and
that release is audited); a mistyped price (250 for 2.50) never reaches a buyer unseen. The
model is Kill Bill's invoice safety bounds, with these four rules, each a reason of its own:

1. Total: more than `total_multiple` times the mean total of the partner's last
   `TRAILING_DOCUMENTS` issued documents in the same currency, once it has at least
   `HISTORY_DOCUMENTS` of them (one small month, a trial or a few late leads, is no yardstick)
   and only when that mean is positive.
2. Unit price: a usage line's unit price (for a band of delivered prices, its lowest and its
   highest price) outside [lowest / m, highest * m], where m is `unit_price_multiple` and lowest
   and highest are taken over the unit prices the same pricing scope carried on the partner's
   last `TRAILING_DOCUMENTS` documents and over the prices of the previous version of the line's
   plan. A scope with neither is not checked (the entity's limit covers first documents).
3. Lines: more usage lines (charge and prior-period lines, the ones a run computes from
   deliveries) than any earlier document of the partner, once it has at least
   `HISTORY_DOCUMENTS` of them.
4. Limit: a total above the entity's absolute limit per document, compared only when the
   document is in the entity's currency.

A release covers the document as it was when released: a later document of the same partner and
period whose total is at most the released total is not held again; one that grew beyond it is.

Pure: frozen dataclasses in, reason texts out, no clock, no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from leadbill.domain.money import minor_to_decimal, parse_decimal, unit_price_text, unit_price_to_micros

TRAILING_DOCUMENTS = 6
HISTORY_DOCUMENTS = 3  # the total and line rules need this many earlier documents
DEFAULT_TOTAL_MULTIPLE = 5
DEFAULT_UNIT_PRICE_MULTIPLE = 10
MIN_MULTIPLE = 2
MAX_MULTIPLE = 1000


@dataclass(frozen=True, slots=True)
class Bounds:
    """An entity's thresholds; None turns a rule off (`limit_minor` None: no limit)."""

    total_multiple: int | None = DEFAULT_TOTAL_MULTIPLE
    unit_price_multiple: int | None = DEFAULT_UNIT_PRICE_MULTIPLE
    limit_minor: int | None = None
    limit_currency: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    """One usage line of the document being checked.

    `prices_micros`: its unit price, or the lowest and highest delivered price of its band;
    empty when it has none. `plan_before_micros`: the prices of the previous version of its plan.
    """

    scope: str
    label: str
    prices_micros: tuple[int, ...] = ()
    plan_before_micros: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Draft:
    currency: str
    total_minor: int
    lines: tuple[Line, ...] = ()


@dataclass(frozen=True, slots=True)
class Trailing:
    """Of the partner's last TRAILING_DOCUMENTS documents, those in one currency: how many, and their summed total."""

    currency: str
    documents: int
    total_minor: int


@dataclass(frozen=True, slots=True)
class ScopePrices:
    """The lowest and highest unit price one pricing scope carried on recent documents."""

    scope: str
    currency: str
    low_micros: int
    high_micros: int


@dataclass(frozen=True, slots=True)
class History:
    """What a partner was billed before.

    `trailing`: its last TRAILING_DOCUMENTS issued documents, per currency; `documents`: how many
    issued documents it has in all; `max_lines`: the most usage lines one of them had.
    """

    trailing: tuple[Trailing, ...] = ()
    documents: int = 0
    max_lines: int = 0
    prices: tuple[ScopePrices, ...] = ()


NO_HISTORY = History()


def held_reasons(draft: Draft, history: History, bounds: Bounds, released_minor: int | None = None) -> list[str]:
    """Why this document is held, one text per rule it breaks; empty when it may be issued.

    `released_minor`: the total a person released for this partner and period, if any.
    """
    reasons = [
        *_total_reason(draft, history, bounds.total_multiple),
        *_price_reasons(draft, history, bounds.unit_price_multiple),
        *_lines_reason(draft, history),
        *_limit_reason(draft, bounds),
    ]
    if not reasons or released_minor is None:
        return reasons
    if draft.total_minor <= released_minor:
        return []
    grown = (
        f"total {_money(draft.total_minor, draft.currency)} is above the "
        f"{_money(released_minor, draft.currency)} released for this period: held again"
    )
    return [grown, *reasons]


def _money(minor: int, currency: str) -> str:
    return f"{minor_to_decimal(minor, currency)} {currency}"


def _total_reason(draft: Draft, history: History, multiple: int | None) -> list[str]:
    same = next((t for t in history.trailing if t.currency == draft.currency), None)
    if multiple is None or same is None or same.documents < HISTORY_DOCUMENTS:
        return []
    n, total_of_past = same.documents, same.total_minor
    # total > multiple * mean  <=>  total * n > multiple * sum (exact, no division)
    if total_of_past <= 0 or draft.total_minor * n <= multiple * total_of_past:
        return []
    times = Fraction(draft.total_minor * n, total_of_past)
    return [
        f"total {_money(draft.total_minor, draft.currency)} is {int(times)}\u00d7 the average of its last "
        f"{n} document{'s' if n != 1 else ''} ({_money(total_of_past // n, draft.currency)}; bound {multiple}\u00d7)"
    ]


def _price_reasons(draft: Draft, history: History, multiple: int | None) -> list[str]:
    if multiple is None:
        return []
    known: dict[str, list[int]] = {}
    for sp in history.prices:
        if sp.currency == draft.currency:
            known.setdefault(sp.scope, []).extend((sp.low_micros, sp.high_micros))
    out: list[str] = []
    flagged: set[str] = set()
    for line in draft.lines:
        if line.scope in flagged:
            continue
        reference = [*known.get(line.scope, ()), *line.plan_before_micros]
        if not reference or not line.prices_micros:
            continue
        low, high = min(reference), max(reference)
        for price in line.prices_micros:
            if price > high * multiple or price * multiple < low:
                before = _price(low, draft.currency) if low == high else (
                    f"{_price(low, draft.currency)} to {_price(high, draft.currency)}"
                )  # fmt: skip
                direction = "above" if price > high * multiple else "below"
                out.append(
                    f"unit price {_price(price, draft.currency)} on \u201c{line.label}\u201d is more than "
                    f"{multiple}\u00d7 {direction} the {before} this scope had before"
                )
                flagged.add(line.scope)
                break
    return out


def _price(micros: int, currency: str) -> str:
    return unit_price_text(micros, currency)


def _lines_reason(draft: Draft, history: History) -> list[str]:
    if history.documents < HISTORY_DOCUMENTS or len(draft.lines) <= history.max_lines:
        return []
    return [
        f"{len(draft.lines)} usage lines, more than any of its {history.documents} earlier documents "
        f"(at most {history.max_lines})"
    ]


def _limit_reason(draft: Draft, bounds: Bounds) -> list[str]:
    limit = bounds.limit_minor
    if limit is None or draft.currency != bounds.limit_currency or draft.total_minor <= limit:
        return []
    return [
        f"total {_money(draft.total_minor, draft.currency)} is over the entity's limit of "
        f"{_money(limit, draft.currency)} per document"
    ]


def plan_prices_micros(config: Mapping[str, Any]) -> tuple[int, ...]:
    """The unit prices a stored plan configuration bills at, in micros: its price, or its tiers' prices.

    A delivered-price plan has none (each delivery carries its own). The configuration was
    validated when it was stored; a value that is not a plain price is skipped.
    """
    raw: list[object] = [config.get("price")]
    tiers = config.get("tiers")
    if isinstance(tiers, Sequence) and not isinstance(tiers, str):
        raw += [t.get("price") for t in tiers if isinstance(t, Mapping)]
    out = []
    for value in raw:
        if isinstance(value, str | int) and not isinstance(value, bool):
            out.append(unit_price_to_micros(parse_decimal(value, field="price")))
    return tuple(sorted(set(out)))
