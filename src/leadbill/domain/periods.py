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
from leadbill.domain.numbers import whole_number

PERIOD_KINDS = ("month", "week", "range", "window")
MINUTES_PER_DAY = 24 * 60
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


def local_at(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time (minutes after midnight) on `day`.

    A wall time skipped by a DST change maps forward (02:30 on a spring-forward night
    is 03:30), one that happens twice takes its first occurrence.
    """
    naive = datetime.combine(day, time(0)) + timedelta(minutes=minute)
    return naive.replace(tzinfo=tz).astimezone(UTC)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which `day` starts in `tz` (midnight, or the first valid time)."""
    naive = datetime.combine(day, time(0))
    aware = naive.replace(tzinfo=tz)
    # A zone that skips midnight (a DST gap) starts the day at the first valid time;
    # zoneinfo maps non-existent times forward with fold=0, which is what we want.
    return aware.astimezone(UTC)


def is_local_midnight(at: datetime, tz: ZoneInfo) -> bool:
    """Whether an instant starts a local day in `tz` (the grain of day counts)."""
    local = at.astimezone(tz)
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates [first_day, end_day) in `timezone`; `end_day` is exclusive.

    A "window" (a weekly billing window such as Friday 18:00 to Friday 18:00) also has
    wall-clock times: it starts `start_minute` after midnight of `first_day` and ends
    `end_minute` after midnight of `end_day`. Other kinds start and end at midnight.
    """

    first_day: date
    end_day: date
    timezone: str
    kind: str = "range"
    start_minute: int = 0
    end_minute: int = 0

    def __post_init__(self) -> None:
        if self.kind not in PERIOD_KINDS:
            raise PeriodError(f"unknown period kind {self.kind!r}")
        for minute in (self.start_minute, self.end_minute):
            if not 0 <= minute < MINUTES_PER_DAY or (minute and self.kind != "window"):
                raise PeriodError(f"a {self.kind} period cannot start or end at minute {minute}")
        if (self.end_day, self.end_minute) <= (self.first_day, self.start_minute):
            raise PeriodError(f"period end {self.end_day} is not after its start {self.first_day}")
        check_day(self.first_day, "period")
        check_day(self.last_day, "period")
        zone(self.timezone)

    @property
    def last_day(self) -> date:
        """The last local date with any time inside the period."""
        return self.end_day if self.end_minute else self.end_day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        return local_at(self.first_day, self.start_minute, zone(self.timezone))

    @property
    def end(self) -> datetime:
        return local_at(self.end_day, self.end_minute, zone(self.timezone))

    def contains(self, instant: datetime) -> bool:
        if instant.tzinfo is None:
            raise PeriodError("a naive datetime has no place in time; give its offset")
        return self.start <= instant < self.end

    def previous(self) -> Period:
        if self.kind == "month":
            prev_last = self.first_day - timedelta(days=1)
            return month(prev_last.year, prev_last.month, self.timezone)
        length = self.end_day - self.first_day
        if self.kind == "window":
            return window(
                self.first_day - length, self.start_minute, self.end_day - length, self.end_minute, self.timezone
            )
        return Period(self.first_day - length, self.first_day, self.timezone, self.kind)

    def next(self) -> Period:
        if self.kind == "month":
            return month(self.end_day.year, self.end_day.month, self.timezone)
        length = self.end_day - self.first_day
        if self.kind == "window":
            return window(
                self.first_day + length, self.start_minute, self.end_day + length, self.end_minute, self.timezone
            )
        return Period(self.end_day, self.end_day + length, self.timezone, self.kind)

    @property
    def key(self) -> str:
        """A stable text key, e.g. '2026-01' or '2026-W03' or '2026-01-05..2026-01-19'.

        A window names its local start and end: '2026-01-02T18:00..2026-01-09T18:00'.
        """
        if self.kind == "window":
            return f"{_wall(self.first_day, self.start_minute)}..{_wall(self.end_day, self.end_minute)}"
        if self.kind == "month":
            return f"{self.first_day:%Y-%m}"
        if self.kind == "week":
            iso = self.first_day.isocalendar()
            return f"{iso.year}-W{iso.week:02d}"
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"

    def label(self) -> str:
        """Human label: '1–31 January 2026' or '29 December 2025 – 4 January 2026'."""
        a, b = self.first_day, self.last_day
        if self.kind == "window":
            start, end = _wall(self.first_day, self.start_minute), _wall(self.end_day, self.end_minute)
            return f"{start.replace('T', ' ')} \u2013 {end.replace('T', ' ')}"
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


def window(first_day: date, start_minute: int, end_day: date, end_minute: int, timezone: str) -> Period:
    """A billing window between two local wall-clock times (end exclusive)."""
    return Period(first_day, end_day, timezone, "window", start_minute, end_minute)


def _wall(day: date, minute: int) -> str:
    return f"{day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}"


def _read_wall(text: str) -> tuple[date, int]:
    day, _, clock = text.partition("T")
    hours, _, minutes = clock.partition(":")
    h = whole_number(hours, max_digits=2) if len(hours) == 2 else None
    m = whole_number(minutes, max_digits=2) if len(minutes) == 2 else None
    if h is None or m is None or h > 23 or m > 59:
        raise ValueError(text)
    return date.fromisoformat(day), h * 60 + m


def date_range(first_day: date, last_day: date, timezone: str) -> Period:
    """An inclusive range of local dates, e.g. a report from 1 to 15 January."""
    check_day(last_day, "period")
    return Period(first_day, last_day + timedelta(days=1), timezone, "range")


def parse(text: str, timezone: str) -> Period:
    """Parse '2026-01' (month), '2026-W03' (ISO week), '2026-01-01..2026-01-15' or a window's key."""
    text = text.strip()
    try:
        if ".." in text:
            a, b = text.split("..", 1)
            if "T" in a or "T" in b:
                (first, start), (end, stop) = _read_wall(a), _read_wall(b)
                return window(first, start, end, stop, timezone)
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
