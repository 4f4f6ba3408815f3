"""Billing periods: half-open intervals [start, end) of local dates in a time zone.

A period is defined by local calendar dates, then converted to UTC instants at the
entity's local midnight, so a month that contains a daylight-saving change is still
exactly the local month (it is 743 or 745 hours long, not 744).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadbill.domain.errors import PeriodError

PERIOD_KINDS = ("month", "week", "range")
# Dates outside these years are typos; the margin keeps every local date far from the
# limits of Python's and the databases' date types, whatever the time zone or offset.
MIN_YEAR, MAX_YEAR = 1900, 2999


def check_day(day: date, field: str = "date") -> date:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise PeriodError(f"{day.isoformat()} is outside the years {MIN_YEAR} to {MAX_YEAR}", field=field)
    return day


def check_instant(value: datetime, field: str = "time") -> datetime:
    """An aware date-time within the supported years."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise PeriodError(f"no time-zone offset in {value.isoformat()}", field=field)
    check_day(value.date(), field)
    return value


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodError(f"unknown time zone {name!r}", field="timezone") from None


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which `day` starts in `tz` (midnight, or the first valid time)."""
    naive = datetime.combine(day, time(0))
    aware = naive.replace(tzinfo=tz)
    # A zone that skips midnight (a DST gap) starts the day at the first valid time;
    # zoneinfo maps non-existent times forward with fold=0, which is what we want.
    return aware.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates [first_day, end_day) in `timezone`; `end_day` is exclusive."""

    first_day: date
    end_day: date
    timezone: str
    kind: str = "range"

    def __post_init__(self) -> None:
        if self.end_day <= self.first_day:
            raise PeriodError(f"period end {self.end_day} is not after its start {self.first_day}")
        if self.kind not in PERIOD_KINDS:
            raise PeriodError(f"unknown period kind {self.kind!r}")
        check_day(self.first_day, "period")
        check_day(self.last_day, "period")
        zone(self.timezone)

    @property
    def last_day(self) -> date:
        return self.end_day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_day, zone(self.timezone))

    @property
    def end(self) -> datetime:
        return local_midnight(self.end_day, zone(self.timezone))

    def contains(self, instant: datetime) -> bool:
        if instant.tzinfo is None:
            raise PeriodError("a naive datetime has no place in time; give its offset")
        return self.start <= instant < self.end

    def previous(self) -> Period:
        if self.kind == "month":
            prev_last = self.first_day - timedelta(days=1)
            return month(prev_last.year, prev_last.month, self.timezone)
        length = self.end_day - self.first_day
        return Period(self.first_day - length, self.first_day, self.timezone, self.kind)

    def next(self) -> Period:
        if self.kind == "month":
            return month(self.end_day.year, self.end_day.month, self.timezone)
        length = self.end_day - self.first_day
        return Period(self.end_day, self.end_day + length, self.timezone, self.kind)

    @property
    def key(self) -> str:
        """A stable text key, e.g. '2026-01' or '2026-W03' or '2026-01-05..2026-01-19'."""
        if self.kind == "month":
            return f"{self.first_day:%Y-%m}"
        if self.kind == "week":
            iso = self.first_day.isocalendar()
            return f"{iso.year}-W{iso.week:02d}"
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"

    def label(self) -> str:
        """Human label: '1–31 January 2026' or '29 December 2025 – 4 January 2026'."""
        a, b = self.first_day, self.last_day
        if (a.year, a.month) == (b.year, b.month):
            return f"{a.day}\u2013{b.day} {a:%B %Y}"
        if a.year == b.year:
            return f"{a.day} {a:%B} \u2013 {b.day} {b:%B %Y}"
        return f"{a.day} {a:%B %Y} \u2013 {b.day} {b:%B %Y}"


def month(year: int, month_number: int, timezone: str) -> Period:
    if not 1 <= month_number <= 12:
        raise PeriodError(f"month {month_number} is not 1..12")
    first = date(year, month_number, 1)
    end = date(year + (month_number == 12), month_number % 12 + 1, 1)
    return Period(first, end, timezone, "month")


def week(containing: date, timezone: str, *, first_weekday: int = 0) -> Period:
    """The week (Monday-based unless told) containing a local date."""
    offset = (containing.weekday() - first_weekday) % 7
    first = containing - timedelta(days=offset)
    return Period(first, first + timedelta(days=7), timezone, "week")


def date_range(first_day: date, last_day: date, timezone: str) -> Period:
    """An inclusive range of local dates, e.g. a report from 1 to 15 January."""
    check_day(last_day, "period")
    return Period(first_day, last_day + timedelta(days=1), timezone, "range")


def parse(text: str, timezone: str) -> Period:
    """Parse '2026-01' (month), '2026-W03' (ISO week) or '2026-01-01..2026-01-15'."""
    text = text.strip()
    try:
        if ".." in text:
            a, b = text.split("..", 1)
            return date_range(date.fromisoformat(a), date.fromisoformat(b), timezone)
        if "-W" in text:
            y, w = text.split("-W", 1)
            return week(date.fromisocalendar(int(y), int(w), 1), timezone)
        y, m = text.split("-", 1)
        return month(int(y), int(m), timezone)
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(
            f"cannot read period {text!r}: use 2026-01, 2026-W03 or 2026-01-01..2026-01-15",
            field="period",
        ) from None
