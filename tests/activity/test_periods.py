"""Period windows of API.md: 30 days, N calendar months (month ends, leap days), all time."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activity.periods import PERIODS, UnknownPeriod, parse_period, period_window

D = dt.date
CREATED = D(2020, 1, 1)


@pytest.mark.parametrize(
    ("period", "today", "start"),
    [
        ("30d", D(2026, 11, 25), D(2026, 10, 27)),
        ("30d", D(2024, 3, 1), D(2024, 2, 1)),  # 29 days back across 29 Feb
        ("3m", D(2026, 11, 25), D(2026, 8, 26)),
        ("3m", D(2024, 5, 31), D(2024, 3, 1)),  # 2024-02-29 + 1 day
        ("3m", D(2024, 5, 30), D(2024, 3, 1)),  # 30 Feb does not exist: clamped to 29 Feb
        ("3m", D(2023, 5, 31), D(2023, 3, 1)),  # 2023-02-28 + 1 day
        ("3m", D(2024, 3, 31), D(2024, 1, 1)),
        ("6m", D(2024, 8, 31), D(2024, 3, 1)),
        ("6m", D(2025, 1, 1), D(2024, 7, 2)),
        ("12m", D(2024, 2, 29), D(2023, 3, 1)),  # 2023 has no 29 Feb: 2023-02-28 + 1 day
        ("12m", D(2025, 2, 28), D(2024, 2, 29)),
        ("12m", D(2026, 11, 25), D(2025, 11, 26)),
    ],
)
def test_window_start(period, today, start):
    window = period_window(period, today=today, first_activity_day=None, created_day=CREATED)
    assert (window.start, window.end) == (start, today)


def test_all_starts_at_first_activity_or_creation_whichever_is_earlier():
    today = D(2026, 11, 25)
    assert period_window("all", today=today, first_activity_day=D(2025, 6, 1), created_day=D(2025, 7, 1)).start == D(
        2025, 6, 1
    )
    assert period_window("all", today=today, first_activity_day=D(2025, 8, 1), created_day=D(2025, 7, 1)).start == D(
        2025, 7, 1
    )
    assert period_window("all", today=today, first_activity_day=None, created_day=D(2025, 7, 1)).start == D(2025, 7, 1)
    # Never after today, even with a creation date in the future (a clock set back).
    assert period_window("all", today=today, first_activity_day=None, created_day=D(2027, 1, 1)).start == today


def test_parse_period():
    assert parse_period(None, default="3m") == "3m"
    assert parse_period("", default="6m") == "6m"
    for period in ("30d", "3m", "6m", "12m", "all"):
        assert parse_period(period, default="3m") == period
    for bad in ("1y", "3M", "30", " 3m", "all "):
        with pytest.raises(UnknownPeriod, match=r"Allowed values: 30d, 3m, 6m, 12m, all\."):
            parse_period(bad, default="3m")


@given(today=st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31)), months=st.sampled_from([3, 6, 12]))
def test_month_windows_span_n_calendar_months(today, months):
    window = period_window(f"{months}m", today=today, first_activity_day=None, created_day=CREATED)
    before = window.start - dt.timedelta(days=1)
    # The day before the window is N months back: same day of month, or that month's last day when shorter.
    month_index = today.year * 12 + today.month - 1 - months
    year, month0 = divmod(month_index, 12)
    assert (before.year, before.month) == (year, month0 + 1)
    assert before.day == today.day or (before.day < today.day and (before + dt.timedelta(days=1)).day == 1)
    # And the next day's window never starts earlier.
    tomorrow = period_window(
        f"{months}m", today=today + dt.timedelta(days=1), first_activity_day=None, created_day=CREATED
    )
    assert tomorrow.start >= window.start


@given(today=st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31)))
def test_every_period_ends_today_and_30d_has_30_days(today):
    for period in PERIODS:
        window = period_window(period, today=today, first_activity_day=None, created_day=CREATED)
        assert window.end == today and window.start <= today
    assert period_window("30d", today=today, first_activity_day=None, created_day=CREATED).days == 30
