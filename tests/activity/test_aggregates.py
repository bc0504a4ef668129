"""Activity aggregates against a brute-force count over the day rows, on randomized data.

Every example runs in acme's schema inside the test's transaction: it clears the day rows and the
aggregates, writes its own, refreshes with a frozen ``today`` and compares every period.
"""

import datetime as dt
import threading
from collections import defaultdict

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activity import aggregates
from activity.aggregates import refresh_activity
from activity.models import (
    ActivityDay,
    ActivityDirtyDay,
    AggregateState,
    BucketFigures,
    DayFigures,
    MemberFirstDays,
    MemberPeriodDays,
    PeriodFigures,
)
from activity.periods import PERIODS, period_window
from activity.selectors import activity_summary, activity_timeseries
from tests.factories import make_member

D = dt.date
MEMBERS = 7
# Month ends, 29 Feb of a leap year and the days around them, where calendar-month windows turn.
SPECIAL_DAYS = [
    D(2024, 2, 28), D(2024, 2, 29), D(2024, 3, 1), D(2024, 3, 31), D(2024, 4, 1), D(2024, 5, 30),
    D(2024, 5, 31), D(2024, 6, 1), D(2024, 8, 31), D(2024, 11, 30), D(2024, 12, 31), D(2025, 1, 1),
    D(2025, 2, 28), D(2025, 3, 1), D(2023, 2, 28), D(2023, 3, 1), D(2023, 5, 31), D(2023, 12, 31),
]  # fmt: skip
FIRST_DAY, LAST_DAY = D(2022, 10, 1), D(2025, 6, 30)

days = st.one_of(st.sampled_from(SPECIAL_DAYS), st.dates(min_value=FIRST_DAY, max_value=LAST_DAY))
todays = st.one_of(st.sampled_from(SPECIAL_DAYS), st.dates(min_value=D(2023, 1, 1), max_value=D(2025, 6, 30)))
activity = st.sets(st.tuples(st.integers(0, MEMBERS - 1), days), max_size=60)

HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture
def members(in_acme):
    return [make_member().pk for _ in range(MEMBERS)]


def reset_activity():
    for model in (
        ActivityDay,
        ActivityDirtyDay,
        DayFigures,
        MemberFirstDays,
        PeriodFigures,
        BucketFigures,
        MemberPeriodDays,
        AggregateState,
    ):
        model.objects.all().delete()


def add_activity(members, rows) -> None:
    ActivityDay.objects.bulk_create(
        [
            ActivityDay(
                membership_id=members[index],
                day=day,
                kinds=1,
                first_seen=dt.datetime.combine(day, dt.time(9), dt.UTC),
                last_seen=dt.datetime.combine(day, dt.time(17), dt.UTC),
            )
            for index, day in rows
        ],
        ignore_conflicts=True,
    )


def brute_force(rows, today: D) -> dict:
    """The figures of every period, counted member by member and day by day in Python."""
    rows = {(member, day) for member, day in rows if day <= today}
    created_day = aggregates.organization_created_day()
    first_activity_day = min((day for _, day in rows), default=None)
    figures = {}
    for period in PERIODS:
        window = period_window(period, today=today, first_activity_day=first_activity_day, created_day=created_day)
        per_day = defaultdict(set)
        for member, day in rows:
            if window.start <= day <= window.end:
                per_day[day].add(member)
        seen, cumulative, daily = set(), [], []
        day = window.start
        while day <= window.end:
            seen |= per_day[day]
            cumulative.append({"date": day.isoformat(), "active_users": len(seen)})
            daily.append({"date": day.isoformat(), "active_users": len(per_day[day])})
            day += dt.timedelta(days=1)
        figures[period] = {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "total_active_users": len(seen),
            "cumulative": cumulative,
            "daily": daily,
        }
    return figures


def stored_figures() -> dict:
    figures = {}
    for period in PERIODS:
        summary = activity_summary(period=period).as_summary()
        timeseries = activity_timeseries(period=period).as_timeseries()
        assert (timeseries["start"], timeseries["end"]) == (summary["start"], summary["end"])
        figures[period] = {
            "start": summary["start"],
            "end": summary["end"],
            "total_active_users": summary["total_active_users"],
            "cumulative": summary["series"],
            "daily": timeseries["series"],
        }
    return figures


@HYPOTHESIS
@given(rows=activity, today=todays)
def test_full_refresh_equals_brute_force(members, rows, today):
    reset_activity()
    add_activity(members, rows)
    result = refresh_activity(full=True, today=today)
    assert result.refreshed and result.full
    assert stored_figures() == brute_force({(members[i], day) for i, day in rows}, today)


@HYPOTHESIS
@given(
    before=activity,
    backfill=activity,
    first_today=todays,
    days_later=st.one_of(st.just(0), st.just(1), st.integers(0, 100)),
    data=st.data(),
)
def test_incremental_refresh_after_backfill_equals_full_refresh(
    members, before, backfill, first_today, days_later, data
):
    reset_activity()
    add_activity(members, before)
    refresh_activity(full=True, today=first_today)

    today = first_today + dt.timedelta(days=days_later)
    # New days since the last refresh need no mark; backfilled past days are marked, as ingestion does.
    new_days = data.draw(st.sets(st.tuples(st.integers(0, MEMBERS - 1), st.integers(0, days_later)), max_size=15))
    new_rows = backfill | {(index, first_today + dt.timedelta(days=offset)) for index, offset in new_days}
    add_activity(members, new_rows)
    ActivityDirtyDay.objects.bulk_create(
        [ActivityDirtyDay(day=day) for day in {day for _, day in backfill if day < first_today}]
    )

    result = refresh_activity(today=today)
    assert result.refreshed and not result.full
    assert not ActivityDirtyDay.objects.exists(), "the refresh consumes the dirty days it recomputed"
    incremental = stored_figures()
    all_rows = {(members[i], day) for i, day in before | new_rows}
    assert incremental == brute_force(all_rows, today)

    refresh_activity(full=True, today=today)
    assert stored_figures() == incremental


def test_a_new_day_shifts_the_windows_without_recomputing_them(members):
    """The common case between two beats: yesterday's figures shift by a day and only the new day
    is counted (the plans say so), and the figures still match a brute-force count."""
    reset_activity()
    rows = {(i, D(2024, 2, 1) + dt.timedelta(days=3 * i + 7 * k)) for i in range(MEMBERS) for k in range(60)}
    add_activity(members, rows)
    refresh_activity(full=True, today=D(2024, 5, 30))
    add_activity(members, {(0, D(2024, 5, 31)), (3, D(2024, 5, 31))})
    result = refresh_activity(today=D(2024, 5, 31))
    assert not result.full
    assert result.periods["30d"] == "shifted"
    assert result.periods["3m"] == "kept"  # 3m starts on 1 March both days
    assert result.periods["12m"] == "shifted"
    assert result.days_recomputed == 1  # 30 May is as the last refresh counted it
    expected = brute_force(
        {(members[i], day) for i, day in rows | {(0, D(2024, 5, 31)), (3, D(2024, 5, 31))}}, D(2024, 5, 31)
    )
    assert stored_figures() == expected


def test_refresh_killed_midway_keeps_the_old_figures_and_a_rerun_gives_the_same_figures(members, monkeypatch):
    reset_activity()
    rows = {(i, D(2024, 1, 1) + dt.timedelta(days=5 * i + 11 * k)) for i in range(MEMBERS) for k in range(20)}
    add_activity(members, rows)
    refresh_activity(full=True, today=D(2024, 6, 1))
    before = stored_figures()
    state_before = AggregateState.objects.get()

    backfill = {(1, D(2024, 3, 3)), (2, D(2024, 5, 20)), (6, D(2023, 12, 31))}
    add_activity(members, backfill)
    ActivityDirtyDay.objects.bulk_create([ActivityDirtyDay(day=day) for _, day in backfill])

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    # The day rows are rewritten and the dirty days consumed before the leaderboards are.
    monkeypatch.setattr(aggregates, "_refresh_leaderboards", crash)
    with pytest.raises(RuntimeError, match="worker killed"):
        refresh_activity(today=D(2024, 6, 2))
    assert stored_figures() == before
    assert AggregateState.objects.get().computed_at == state_before.computed_at
    assert ActivityDirtyDay.objects.count() == len(backfill), "the dirty days stay for the rerun"

    monkeypatch.undo()
    refresh_activity(today=D(2024, 6, 2))
    rerun = stored_figures()
    assert rerun == brute_force({(members[i], day) for i, day in rows | backfill}, D(2024, 6, 2))
    refresh_activity(today=D(2024, 6, 2))
    assert stored_figures() == rerun, "running it again changes nothing"


def _hold_refresh_lock(schema_name: str):
    other = connections.create_connection("default")
    other.inc_thread_sharing()  # released from a timer thread in one test
    with other.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_lock({aggregates.LOCK_SQL})", [schema_name])
    return other


def _release(other, schema_name: str):
    with other.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_unlock({aggregates.LOCK_SQL})", [schema_name])
    other.close()


def test_a_refresh_of_an_org_being_refreshed_skips_and_other_orgs_are_not_held_up(members, globex):
    other = _hold_refresh_lock("acme")
    try:
        skipped = refresh_activity(today=D(2025, 1, 1))
        assert not skipped.refreshed
        assert not AggregateState.objects.exists() or AggregateState.objects.get().computed_for_day != D(2025, 1, 1)
        connection.set_tenant(globex)
        assert refresh_activity(today=D(2025, 1, 1)).refreshed
    finally:
        _release(other, "acme")


def test_a_waiting_refresh_runs_after_the_running_one(members):
    reset_activity()
    add_activity(members, {(0, D(2024, 12, 30)), (1, D(2024, 12, 31))})
    other = _hold_refresh_lock("acme")
    releasing = threading.Event()

    def release():
        releasing.set()  # before the lock goes: a refresh that waited for it always sees this
        _release(other, "acme")

    releaser = threading.Timer(0.6, release)
    releaser.start()
    try:
        result = refresh_activity(full=True, today=D(2025, 1, 1), wait=True)
        ran_after_release = releasing.is_set()
    finally:
        releaser.join()
    assert ran_after_release, "the refresh ran while the other one still held the lock"
    assert result.refreshed
    assert activity_summary(period="30d").total_active_users == 2


def _queries_of_refreshes(members, rows) -> list[int]:
    reset_activity()
    add_activity(members, rows)
    counts = []
    for full, today in ((True, D(2025, 6, 1)), (False, D(2025, 6, 1)), (False, D(2025, 6, 2))):
        with CaptureQueriesContext(connection) as queries:
            refresh_activity(full=full, today=today)
        counts.append(len(queries))
    return counts


def test_refresh_reads_no_day_rows_into_python(members):
    """As many queries for 3 day rows as for 3,000: the work is done in SQL, not row by row."""
    few = _queries_of_refreshes(members, {(0, D(2024, 1, 1)), (1, D(2025, 5, 31)), (2, D(2025, 6, 1))})
    many = _queries_of_refreshes(
        members, {(i % MEMBERS, D(2023, 1, 1) + dt.timedelta(days=i // 3)) for i in range(3000)}
    )
    assert few == many
    assert max(many) <= 40, many


def test_computed_at_and_day_are_recorded(members):
    reset_activity()
    before = timezone.now()
    refresh_activity(full=True, today=D(2024, 2, 29))
    state = AggregateState.objects.get()
    assert state.computed_for_day == D(2024, 2, 29)
    assert before <= state.computed_at <= timezone.now()
    assert state.last_full_refresh_at == state.computed_at
    refresh_activity(today=D(2024, 2, 29))
    state2 = AggregateState.objects.get()
    assert state2.computed_at > state.computed_at
    assert state2.last_full_refresh_at == state.last_full_refresh_at, "an incremental refresh is not a full one"
