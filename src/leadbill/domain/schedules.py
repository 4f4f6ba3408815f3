"""When automatic invoice runs fall due: weekly billing windows and monthly runs.

Times are local wall-clock times in the entity's time zone, so "Monday 06:00" stays
06:00 across daylight-saving changes; the UTC instants follow. A run is due at its
generation time, for the period (window or month) that ended before it.

A weekly schedule is a billing window (from a weekday and time to a weekday and time)
and a generation weekday and time. The run for a window is made at the generation time
nearest to the window's end, which must not come before that end: "window Monday 00:00
to Sunday 23:59, generated Sunday 22:00" would invoice a window still open and is
refused, while "generated Monday 06:00" runs 6 hours after the window closed. So the
generation time must fall within the half week (84 hours) after the window's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from leadbill.domain import periods
from leadbill.domain.errors import DomainError
from leadbill.domain.numbers import whole_number
from leadbill.domain.periods import MINUTES_PER_DAY, Period, local_at

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
MAX_DELAY = MINUTES_PER_WEEK // 2  # later than this, the nearest generation time is the one before the end
DEFAULT_MONTHLY_MINUTE = 6 * 60  # the morning of the 1st: 06:00 local


class ScheduleError(DomainError):
    """A schedule that cannot work as given; `field` names the setting to change."""


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def read_clock(text: str, field: str) -> int:
    """'06:00' -> 360; refuses anything but HH:MM on a 24-hour clock."""
    hours, sep, minutes = text.strip().partition(":")
    h = whole_number(hours, max_digits=2)
    m = whole_number(minutes, max_digits=2) if len(minutes) == 2 else None
    if not sep or h is None or m is None:
        raise ScheduleError(f"{text!r} is not a time of day; write it as HH:MM, e.g. 06:00", field=field)
    if h > 23 or m > 59:
        raise ScheduleError(f"{text!r} is not a time of day (00:00 to 23:59)", field=field)
    return h * 60 + m


def _check(day: int, minute: int, field: str) -> None:
    if not 0 <= day <= 6:
        raise ScheduleError(f"weekday {day} is not 0 (Monday) to 6 (Sunday)", field=field)
    if not 0 <= minute < MINUTES_PER_DAY:
        raise ScheduleError(f"{minute} is not a minute of the day (0 to 1439)", field=field)


@dataclass(frozen=True, slots=True)
class Due:
    """One run to make: the period it bills and the instant it falls due (UTC)."""

    period: Period
    at: datetime


@dataclass(frozen=True, slots=True)
class Weekly:
    window_start_day: int
    window_start_minute: int
    window_end_day: int
    window_end_minute: int
    generate_day: int
    generate_minute: int

    def __post_init__(self) -> None:
        _check(self.window_start_day, self.window_start_minute, "window_start")
        _check(self.window_end_day, self.window_end_minute, "window_end")
        _check(self.generate_day, self.generate_minute, "generate_at")
        if self.delay > MAX_DELAY:
            raise ScheduleError(
                f"the billing window ends {self.describe(self.window_end_day, self.window_end_minute)}, after the "
                f"generation time {self.describe(self.generate_day, self.generate_minute)}: invoices would be made "
                "while their window is still open. Generate at or after the window's end (within 3½ days of it).",
                field="generate_at",
            )

    @staticmethod
    def describe(day: int, minute: int) -> str:
        return f"{WEEKDAYS[day]} {clock(minute)}"

    def _offset(self, day: int, minute: int) -> int:
        """Minutes from the window's start to a weekday and time, in (0, one week]."""
        start = self.window_start_day * MINUTES_PER_DAY + self.window_start_minute
        offset = (day * MINUTES_PER_DAY + minute - start) % MINUTES_PER_WEEK
        return offset or MINUTES_PER_WEEK

    @property
    def window_length(self) -> int:
        return self._offset(self.window_end_day, self.window_end_minute)

    @property
    def delay(self) -> int:
        """Minutes from the window's end to its run, in [0, one week)."""
        end = self.window_end_day * MINUTES_PER_DAY + self.window_end_minute
        return (self.generate_day * MINUTES_PER_DAY + self.generate_minute - end) % MINUTES_PER_WEEK

    def period(self, first_day: date, timezone: str) -> Period:
        """The window starting on `first_day` (a window-start weekday)."""
        end_wall = self.window_start_minute + self.window_length
        end_day, end_minute = first_day + timedelta(days=end_wall // MINUTES_PER_DAY), end_wall % MINUTES_PER_DAY
        full_week = self.window_start_minute == 0 and end_minute == 0 and self.window_length == MINUTES_PER_WEEK
        if full_week and self.window_start_day == 0:
            return periods.week(first_day, timezone)  # a Monday-to-Monday window is the ISO week
        return periods.window(first_day, self.window_start_minute, end_day, end_minute, timezone)

    def generation(self, first_day: date, timezone: str) -> datetime:
        """The run's instant for the window starting on `first_day`, never before the window ends.

        A window end in a spring-forward gap moves forward (02:45 becomes 03:45) while a later
        generation time just after the gap does not (03:00 stays 03:00), so the wall-clock
        generation time can land before the end; the run then waits for the end, or it would
        bill a window still open.
        """
        wall = self.window_start_minute + self.window_length + self.delay
        day = first_day + timedelta(days=wall // MINUTES_PER_DAY)
        at = local_at(day, wall % MINUTES_PER_DAY, periods.zone(timezone))
        return max(at, self.period(first_day, timezone).end)

    def due(self, since: datetime, until: datetime, timezone: str) -> list[Due]:
        """Runs whose generation time is in (since, until], oldest first."""
        tz = periods.zone(timezone)
        first = since.astimezone(tz).date() - timedelta(days=15)
        first -= timedelta(days=(first.weekday() - self.window_start_day) % 7)
        found: list[Due] = []
        while True:
            at = self.generation(first, timezone)
            if at > until:
                return found
            if at > since:
                found.append(Due(self.period(first, timezone), at))
            first += timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Monthly:
    """The calendar month, generated on the 1st of the next month at a local time."""

    generate_minute: int = DEFAULT_MONTHLY_MINUTE

    def __post_init__(self) -> None:
        _check(0, self.generate_minute, "generate_at")

    def due(self, since: datetime, until: datetime, timezone: str) -> list[Due]:
        tz = periods.zone(timezone)
        local = since.astimezone(tz).date()
        month = periods.month(local.year, local.month, timezone).previous()
        found: list[Due] = []
        while True:
            at = local_at(month.end_day, self.generate_minute, tz)
            if at > until:
                return found
            if at > since:
                found.append(Due(month, at))
            month = month.next()


Rule = Weekly | Monthly
