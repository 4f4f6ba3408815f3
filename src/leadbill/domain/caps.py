"""Which leads are over a partner's caps: the rule a run applies when the policy is not "flag".

A partner may cap the leads it takes per local day, per ISO week (Monday to Sunday) and per
calendar month. Leads are taken greedily in delivery order: a lead is within the caps when its
day, its week and its month each still have room; otherwise it is over cap and takes no room.
The windows are whole calendar windows, not clipped to the billed period: leads of the same
window billed on earlier invoices (within cap) take their room first, so a week spanning two
monthly invoices never bills more than its weekly cap in total.

What the run does with an over-cap lead is the partner's policy: "exclude" leaves it off the
invoice (marked excluded on that invoice, so no later run bills it as a late lead), "price"
bills it on a separate line at the over-cap price, "flag" bills it normally and lists the
overage as an anomaly. Why greedy: it is what a buyer's cap means in practice (the buyer took
the first N leads of the day), it is reproducible from the facts, and every window ends with at
most its cap billed within cap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from leadbill.domain.errors import DomainError

FLAG = "flag"
EXCLUDE = "exclude"
PRICE = "price"
POLICIES = (FLAG, EXCLUDE, PRICE)

# A window is (kind, key): ("day", date), ("week", (iso year, iso week)), ("month", (year, month)).
Window = tuple[str, object]


@dataclass(frozen=True, slots=True)
class Caps:
    daily: int | None = None
    weekly: int | None = None
    monthly: int | None = None

    def __post_init__(self) -> None:
        for name in ("daily", "weekly", "monthly"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise DomainError("a cap cannot be negative", field=f"cap_{name}")

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.daily, self.weekly, self.monthly))

    def limits(self, day: date) -> list[tuple[Window, int]]:
        """The windows of a local day that carry a cap, with the cap."""
        iso = day.isocalendar()
        out: list[tuple[Window, int]] = []
        if self.daily is not None:
            out.append((("day", day), self.daily))
        if self.weekly is not None:
            out.append((("week", (iso.year, iso.week)), self.weekly))
        if self.monthly is not None:
            out.append((("month", (day.year, day.month)), self.monthly))
        return out


def windows_of(day: date) -> tuple[Window, Window, Window]:
    """Every window a local day belongs to (to count leads already taken)."""
    iso = day.isocalendar()
    return ("day", day), ("week", (iso.year, iso.week)), ("month", (day.year, day.month))


def taken_per_window(days: Iterable[date]) -> dict[Window, int]:
    """Leads already taken within cap, per window, from their local delivery days."""
    out: dict[Window, int] = {}
    for day in days:
        for window in windows_of(day):
            out[window] = out.get(window, 0) + 1
    return out


def over_cap(days: Sequence[date], caps: Caps, taken: Mapping[Window, int] | None = None) -> list[bool]:
    """For leads in delivery order (their local days), whether each is over cap.

    `taken`: leads of the same windows already billed within cap on other invoices.
    """
    counts: dict[Window, int] = dict(taken or {})
    out = []
    for day in days:
        limits = caps.limits(day)
        if all(counts.get(window, 0) < cap for window, cap in limits):
            for window in windows_of(day):
                counts[window] = counts.get(window, 0) + 1
            out.append(False)
        else:
            out.append(True)
    return out


def check_policy(policy: str, over_cap_price_micros: int | None) -> str:
    """A policy as the set-up file, the forms and the API give it; "price" needs its price."""
    if policy not in POLICIES:
        raise DomainError(f"one of {', '.join(POLICIES)}", field="cap_policy")
    if policy == PRICE and over_cap_price_micros is None:
        raise DomainError('the "price" policy needs an over-cap price', field="over_cap_price")
    return policy
