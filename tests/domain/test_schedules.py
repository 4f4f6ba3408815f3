"""When automatic runs fall due: weekly windows, monthly runs across DST and month ends, refused windows."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain import periods
from leadbill.domain.schedules import Monthly, ScheduleError, Weekly, read_clock

MON, TUE, FRI, SAT, SUN = 0, 1, 4, 5, 6


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekly_iso_week_generated_monday_morning_bills_the_week_before():
    rule = Weekly(MON, 0, MON, 0, MON, 6 * 60)
    due = rule.due(utc(2026, 11, 3), utc(2026, 11, 17), "Europe/Berlin")
    assert [d.period.key for d in due] == ["2026-W45", "2026-W46"]
    assert [d.at for d in due] == [utc(2026, 11, 9, 5), utc(2026, 11, 16, 5)]  # 06:00 CET
    assert due[0].period.start == utc(2026, 11, 1, 23) and due[0].period.end == utc(2026, 11, 8, 23)


def test_weekly_window_with_times_bills_friday_evening_to_friday_evening():
    rule = Weekly(FRI, 18 * 60, FRI, 18 * 60, SAT, 7 * 60)
    (due,) = rule.due(utc(2026, 11, 10), utc(2026, 11, 15), "America/New_York")
    assert due.period.key == "2026-11-06T18:00..2026-11-13T18:00"
    assert due.period.start == utc(2026, 11, 6, 23) and due.period.end == utc(2026, 11, 13, 23)
    assert due.at == utc(2026, 11, 14, 12)  # Saturday 07:00 EST


def test_a_window_shorter_than_a_week_ends_where_it_says():
    rule = Weekly(MON, 0, FRI, 18 * 60, FRI, 20 * 60)
    (due,) = rule.due(utc(2026, 11, 16), utc(2026, 11, 21), "UTC")
    assert (due.period.start, due.period.end, due.at) == (
        utc(2026, 11, 16),
        utc(2026, 11, 20, 18),
        utc(2026, 11, 20, 20),
    )
    assert due.period.last_day == date(2026, 11, 20)


def test_window_ending_after_its_generation_time_is_refused_naming_the_times():
    with pytest.raises(ScheduleError) as refused:
        Weekly(MON, 0, SUN, 23 * 60 + 59, SUN, 22 * 60)
    assert refused.value.field == "generate_at"
    assert "ends Sunday 23:59, after the generation time Sunday 22:00" in str(refused.value)
    with pytest.raises(ScheduleError, match="ends Friday 18:00, after the generation time Friday 17:00"):
        Weekly(MON, 0, FRI, 18 * 60, FRI, 17 * 60)


def test_generation_the_morning_after_a_sunday_night_end_is_accepted():
    rule = Weekly(MON, 0, SUN, 23 * 60 + 59, MON, 6 * 60)
    (due,) = rule.due(utc(2026, 11, 20), utc(2026, 11, 24), "UTC")
    assert (due.period.end, due.at) == (utc(2026, 11, 22, 23, 59), utc(2026, 11, 23, 6))


def test_generation_exactly_at_the_window_end_is_allowed():
    rule = Weekly(MON, 0, MON, 0, MON, 0)
    (due,) = rule.due(utc(2026, 11, 15), utc(2026, 11, 16), "UTC")
    assert due.at == due.period.end == utc(2026, 11, 16)


def test_weekly_generation_time_stays_local_across_the_dst_change():
    rule = Weekly(MON, 0, MON, 0, MON, 6 * 60)
    due = rule.due(utc(2026, 10, 20), utc(2026, 11, 3), "Europe/Berlin")
    # 26 Oct is CET again (clocks went back on 25 Oct): 06:00 local moves from 04:00Z to 05:00Z.
    assert [d.at for d in due] == [utc(2026, 10, 26, 5), utc(2026, 11, 2, 5)]
    week_with_change = due[0].period
    assert week_with_change.end - week_with_change.start == timedelta(hours=7 * 24 + 1)


def test_generation_in_a_skipped_hour_moves_forward():
    rule = Weekly(SAT, 0, SAT, 0, SUN, 2 * 60 + 30)  # Sunday 02:30 does not exist on 29 March 2026 in Berlin
    due = rule.due(utc(2026, 3, 28), utc(2026, 3, 30), "Europe/Berlin")
    assert [d.at for d in due] == [utc(2026, 3, 29, 1, 30)]  # 03:30 CEST


def test_window_ending_in_a_skipped_hour_is_not_generated_before_it_ends():
    # 8 March 2026 in New York skips 02:00-03:00: the window end 02:45 moves to 03:45 EDT (07:45Z),
    # the generation time 03:00 exists (07:00Z) and would come 45 minutes before the end
    rule = Weekly(SUN, 2 * 60 + 45, SUN, 2 * 60 + 45, SUN, 3 * 60)
    (due,) = rule.due(utc(2026, 3, 7), utc(2026, 3, 9), "America/New_York")
    assert due.period.key == "2026-03-01T02:45..2026-03-08T02:45"
    assert due.period.end == utc(2026, 3, 8, 7, 45)
    assert due.at == due.period.end
    (after,) = rule.due(utc(2026, 3, 14), utc(2026, 3, 16), "America/New_York")
    assert after.at == utc(2026, 3, 15, 7) > after.period.end  # other weeks keep their 15 minutes


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("Europe/Berlin", [utc(2026, 10, 1, 4), utc(2026, 11, 1, 5), utc(2026, 12, 1, 5)]),
        # 1 November 2026 is the day New York leaves DST (at 02:00): its 06:00 is already EST.
        ("America/New_York", [utc(2026, 10, 1, 10), utc(2026, 11, 1, 11), utc(2026, 12, 1, 11)]),
        ("Australia/Sydney", [utc(2026, 9, 30, 20), utc(2026, 10, 31, 19), utc(2026, 11, 30, 19)]),
    ],
)
def test_monthly_runs_on_the_first_at_six_local_across_dst(tz, expected):
    due = Monthly().due(utc(2026, 9, 15), utc(2026, 12, 2), tz)
    assert [d.at for d in due] == expected
    assert [d.period.key for d in due] == ["2026-09", "2026-10", "2026-11"]


def test_monthly_after_february_in_a_leap_year_and_at_year_end():
    due = Monthly(7 * 60 + 30).due(utc(2027, 12, 15), utc(2028, 3, 2), "UTC")
    assert [(d.period.key, d.period.last_day, d.at) for d in due] == [
        ("2027-12", date(2027, 12, 31), utc(2028, 1, 1, 7, 30)),
        ("2028-01", date(2028, 1, 31), utc(2028, 2, 1, 7, 30)),
        ("2028-02", date(2028, 2, 29), utc(2028, 3, 1, 7, 30)),
    ]


def test_due_is_half_open_since_excluded_until_included():
    rule = Monthly()
    at = rule.due(utc(2026, 10, 1), utc(2026, 11, 2), "UTC")[0].at
    assert rule.due(at, at + timedelta(days=1), "UTC") == []
    assert len(rule.due(at - timedelta(seconds=1), at, "UTC")) == 1


def test_read_clock_refuses_non_times():
    assert read_clock("6:05", "t") == 365
    for bad in ("24:00", "06:60", "6", "six", "06:5"):
        with pytest.raises(ScheduleError):
            read_clock(bad, "generate_at")


def test_window_period_key_round_trips_through_parse():
    rule = Weekly(FRI, 18 * 60, FRI, 18 * 60, SAT, 0)
    (due,) = rule.due(utc(2026, 11, 10), utc(2026, 11, 14), "Asia/Kolkata")
    assert periods.parse(due.period.key, "Asia/Kolkata") == due.period


weekday = st.integers(0, 6)
minute = st.integers(0, 24 * 60 - 1)
zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham"])


@given(weekday, minute, weekday, minute, weekday, minute, zones, st.integers(0, 3000))
def test_weekly_windows_never_generated_before_they_end_and_follow_each_other(sd, sm, ed, em, gd, gm, tz, offset):
    try:
        rule = Weekly(sd, sm, ed, em, gd, gm)
    except ScheduleError:
        return
    since = utc(2025, 1, 1) + timedelta(hours=offset)
    due = rule.due(since, since + timedelta(days=35), tz)
    assert 4 <= len(due) <= 6
    for d in due:
        assert d.period.end <= d.at, (d.period.key, d.at)
        assert since < d.at <= since + timedelta(days=35)
    for a, b in itertools.pairwise(due):
        assert b.period.first_day - a.period.first_day == timedelta(days=7)
        assert a.at < b.at
