"""Billing periods: local calendar dates in a zone, half-open, as UTC instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leadbill.domain.errors import PeriodError
from leadbill.domain.periods import Period, date_range, local_midnight, month, parse, week


def hours(period: Period) -> float:
    return (period.end - period.start) / timedelta(hours=1)


def test_month_starts_and_ends_at_local_midnight_in_utc() -> None:
    january = month(2026, 1, "Europe/Berlin")
    assert january.start == datetime(2025, 12, 31, 23, tzinfo=UTC)
    assert january.end == datetime(2026, 1, 31, 23, tzinfo=UTC)
    assert january.first_day == date(2026, 1, 1)
    assert january.last_day == date(2026, 1, 31)
    assert january.key == "2026-01"


@pytest.mark.parametrize(
    ("timezone", "month_number", "expected_hours"),
    [
        ("Europe/Berlin", 3, 743),  # clocks forward on 29 March 2026
        ("Europe/Berlin", 10, 745),  # clocks back on 25 October 2026
        ("Europe/Berlin", 1, 744),
        ("America/New_York", 3, 743),  # forward on 8 March 2026
        ("America/New_York", 11, 721),  # back on 1 November 2026
        ("America/New_York", 10, 744),
        ("UTC", 3, 744),
    ],
)
def test_month_across_daylight_saving_is_exactly_the_local_month(
    timezone: str, month_number: int, expected_hours: int
) -> None:
    assert hours(month(2026, month_number, timezone)) == expected_hours


def test_day_without_a_midnight_starts_at_its_first_valid_time() -> None:
    # Chile springs forward at local midnight: 6 September 2026 begins at 01:00 (-03).
    day = date_range(date(2026, 9, 6), date(2026, 9, 6), "America/Santiago")
    assert day.start == datetime(2026, 9, 6, 4, tzinfo=UTC)
    assert hours(day) == 23
    assert local_midnight(date(2026, 9, 6), ZoneInfo("America/Santiago")) == day.start


def test_week_is_parsed_from_its_iso_key() -> None:
    w3 = parse("2026-W03", "Europe/Berlin")
    assert w3.kind == "week"
    assert (w3.first_day, w3.last_day) == (date(2026, 1, 12), date(2026, 1, 18))
    assert w3.key == "2026-W03"
    assert w3.label() == "12\u201318 January 2026"


def test_first_iso_week_can_start_in_the_previous_year() -> None:
    w1 = parse("2026-W01", "UTC")
    assert w1.first_day == date(2025, 12, 29)
    assert w1.key == "2026-W01"
    assert w1.label() == "29 December 2025 \u2013 4 January 2026"


def test_week_containing_a_date_starts_on_monday_unless_told() -> None:
    thursday = date(2026, 1, 15)
    assert week(thursday, "UTC").first_day == date(2026, 1, 12)
    assert week(thursday, "UTC", first_weekday=6).first_day == date(2026, 1, 11)


def test_month_and_range_parse_from_text() -> None:
    assert parse("2026-01", "UTC") == month(2026, 1, "UTC")
    assert parse(" 2026-12 ", "UTC").end_day == date(2027, 1, 1)
    first_half = parse("2026-01-01..2026-01-15", "UTC")
    assert (first_half.kind, first_half.first_day, first_half.end_day) == ("range", date(2026, 1, 1), date(2026, 1, 16))
    assert first_half.key == "2026-01-01..2026-01-15"


@pytest.mark.parametrize(
    ("period", "label"),
    [
        (month(2026, 1, "UTC"), "1\u201331 January 2026"),
        (month(2026, 2, "UTC"), "1\u201328 February 2026"),
        (date_range(date(2026, 1, 26), date(2026, 2, 8), "UTC"), "26 January \u2013 8 February 2026"),
        (date_range(date(2026, 3, 5), date(2026, 3, 5), "UTC"), "5\u20135 March 2026"),
    ],
)
def test_period_label_is_human(period: Period, label: str) -> None:
    assert period.label() == label


@pytest.mark.parametrize("text", ["January", "2026-13", "2026-00", "2026-W54", "2026-01-01..2025-12-31", "2026-1-5"])
def test_unreadable_period_text_is_refused(text: str) -> None:
    with pytest.raises(PeriodError):
        parse(text, "UTC")


def test_unreadable_period_error_names_the_field_and_the_formats() -> None:
    with pytest.raises(PeriodError, match="2026-W03") as exc:
        parse("Jan 2026", "UTC")
    assert exc.value.field == "period"


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(PeriodError) as exc:
        month(2026, 1, "Mars/Olympus_Mons")
    assert exc.value.field == "timezone"


def test_period_must_end_after_it_starts_and_have_a_known_kind() -> None:
    with pytest.raises(PeriodError, match="not after its start"):
        Period(date(2026, 1, 2), date(2026, 1, 2), "UTC")
    with pytest.raises(PeriodError, match="unknown period kind"):
        Period(date(2026, 1, 1), date(2026, 1, 2), "UTC", "fortnight")


def test_contains_is_half_open() -> None:
    january = month(2026, 1, "Europe/Berlin")
    assert january.contains(january.start)
    assert not january.contains(january.end)
    assert january.contains(january.end - timedelta(microseconds=1))
    assert not january.contains(january.start - timedelta(microseconds=1))


def test_contains_compares_instants_whatever_their_zone() -> None:
    january = month(2026, 1, "Europe/Berlin")
    # 23:30 on 31 December in New York is 05:30 on 1 January in Berlin.
    assert january.contains(datetime(2025, 12, 31, 23, 30, tzinfo=ZoneInfo("America/New_York")))
    assert not january.contains(datetime(2025, 12, 31, 23, 30, tzinfo=ZoneInfo("Europe/Berlin")))


def test_contains_refuses_a_naive_datetime() -> None:
    with pytest.raises(PeriodError, match="naive"):
        month(2026, 1, "UTC").contains(datetime(2026, 1, 15, 12, 0))


def test_month_next_and_previous_cross_the_year() -> None:
    december = month(2025, 12, "Europe/Berlin")
    assert december.next() == month(2026, 1, "Europe/Berlin")
    assert month(2026, 1, "Europe/Berlin").previous() == december
    assert december.end == december.next().start


def test_week_and_range_next_and_previous_keep_their_length() -> None:
    w3 = parse("2026-W03", "UTC")
    assert w3.next().key == "2026-W04"
    assert w3.previous().key == "2026-W02"
    fortnight = date_range(date(2026, 1, 1), date(2026, 1, 14), "UTC")
    assert fortnight.next().first_day == date(2026, 1, 15)
    assert fortnight.next().last_day == date(2026, 1, 28)
    assert fortnight.previous().end_day == fortnight.first_day
