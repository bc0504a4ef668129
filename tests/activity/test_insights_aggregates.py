"""The second round's figures (by kind, weeks and months, the leaderboard, DAU/WAU/MAU) against a
brute-force count over the day rows, on randomized data around month ends, 29 February, ISO week 53
and year boundaries, after full and incremental refreshes (new days, backfills, rollovers).

Every example runs in acme's schema inside the test's transaction: it clears the day rows and the
aggregates, writes its own rows (kinds as bit masks), refreshes with a frozen ``today`` and
compares every period, kind and interval.
"""

import datetime as dt
from collections import defaultdict
from fractions import Fraction

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Membership
from activity import aggregates, selectors
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
    PeriodLeaders,
)
from activity.periods import PERIODS, period_window
from tests.factories import make_member

D = dt.date
MEMBERS = 6
KIND_BITS = {"login": 1, "page_view": 2, "run_logged": 4, "sdk": 8, "api": 16}
# Every figure is checked for any kind, each kind, and the web surface (a log-in or a page view).
FIGURE_KINDS = (("any", 0), *KIND_BITS.items(), ("web", 3))
# Month ends, 29 Feb, ISO week 53 of 2020 (28 Dec 2020 - 3 Jan 2021) and year ends.
SPECIAL_DAYS = [
    D(2020, 2, 28), D(2020, 2, 29), D(2020, 3, 1), D(2020, 3, 31), D(2020, 4, 1), D(2020, 5, 31),
    D(2020, 6, 1), D(2020, 8, 31), D(2020, 11, 30), D(2020, 12, 27), D(2020, 12, 28), D(2020, 12, 31),
    D(2021, 1, 1), D(2021, 1, 3), D(2021, 1, 4), D(2021, 2, 28), D(2021, 3, 1), D(2019, 12, 29),
    D(2019, 12, 30), D(2019, 12, 31),
]  # fmt: skip
FIRST_DAY, LAST_DAY = D(2019, 6, 1), D(2021, 4, 30)

days = st.one_of(st.sampled_from(SPECIAL_DAYS), st.dates(min_value=FIRST_DAY, max_value=LAST_DAY))
todays = st.one_of(st.sampled_from(SPECIAL_DAYS), st.dates(min_value=D(2020, 1, 1), max_value=LAST_DAY))
kinds = st.integers(1, 31)
activity = st.lists(st.tuples(st.integers(0, MEMBERS - 1), days, kinds), max_size=50)

HYPOTHESIS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
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
        PeriodLeaders,
        AggregateState,
    ):
        model.objects.all().delete()


def add_activity(members, rows) -> None:
    """Upserts day rows as recording and ingestion do: kinds of one member's day accumulate."""
    table = ActivityDay._meta.db_table
    with connection.cursor() as cursor:
        for index, day, mask in rows:
            moment = dt.datetime.combine(day, dt.time(12), dt.UTC)
            cursor.execute(
                f"""INSERT INTO {table} (membership_id, day, kinds, first_seen, last_seen)
                    VALUES (%s, %s, %s, %s, %s)
                    ON CONFLICT (membership_id, day) DO UPDATE SET kinds = EXCLUDED.kinds | {table}.kinds""",
                [members[index], day, mask, moment, moment],
            )


def day_rows(members, rows) -> dict[tuple[int, D], int]:
    merged: dict[tuple[int, D], int] = defaultdict(int)
    for index, day, mask in rows:
        merged[(members[index], day)] |= mask
    return merged


def _uniques(merged, first: D, last: D, bit: int) -> set[int]:
    return {m for (m, day), mask in merged.items() if first <= day <= last and (bit == 0 or mask & bit)}


def _days(first: D, last: D):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def _bucket_start(day: D, interval: str) -> D:
    return day - dt.timedelta(days=day.weekday()) if interval == "week" else day.replace(day=1)


def _bucket_end(start: D, interval: str) -> D:
    if interval == "week":
        return start + dt.timedelta(days=6)
    following = D(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _stickiness(merged, as_of: D) -> dict:
    start = as_of - dt.timedelta(days=29)
    mau = len(_uniques(merged, start, as_of, 0))
    daily_sum = sum(len(_uniques(merged, day, day, 0)) for day in _days(start, as_of))
    ratio = Fraction(daily_sum, 30 * mau) if mau else Fraction(0)
    return {
        "dau": len(_uniques(merged, as_of, as_of, 0)),
        "wau": len(_uniques(merged, as_of - dt.timedelta(days=6), as_of, 0)),
        "mau": mau,
        "stickiness": float(Fraction(int(ratio * 1000 + Fraction(1, 2)), 1000)),
    }


def brute_force(merged: dict, today: D) -> dict:
    merged = {key: mask for key, mask in merged.items() if key[1] <= today}
    created_day = aggregates.organization_created_day()
    first_activity_day = min((day for _, day in merged), default=None)
    figures = {"engagement": {"as_of": today.isoformat(), **_stickiness(merged, today)}}
    figures["engagement"]["previous"] = _stickiness(merged, today - dt.timedelta(days=30))
    for period in PERIODS:
        window = period_window(period, today=today, first_activity_day=first_activity_day, created_day=created_day)
        for name, bit in FIGURE_KINDS:
            daily = [
                {"date": day.isoformat(), "active_users": len(_uniques(merged, day, day, bit))}
                for day in _days(window.start, window.end)
            ]
            cumulative = [
                {"date": day.isoformat(), "active_users": len(_uniques(merged, window.start, day, bit))}
                for day in _days(window.start, window.end)
            ]
            entry = {"start": window.start.isoformat(), "end": window.end.isoformat(), "daily": daily}
            entry["cumulative"] = cumulative
            entry["total"] = cumulative[-1]["active_users"]
            for interval in ("week", "month"):
                points, start = [], _bucket_start(window.start, interval)
                while start <= window.end:
                    end = _bucket_end(start, interval)
                    points.append(
                        {
                            "date": start.isoformat(),
                            "active_users": len(_uniques(merged, max(start, window.start), min(end, window.end), bit)),
                            "partial": start < window.start or end > window.end,
                        }
                    )
                    start = end + dt.timedelta(days=1)
                entry[interval] = points
            figures[(period, name)] = entry
        per_member = defaultdict(list)
        for (member, day), _mask in merged.items():
            if window.start <= day <= window.end:
                per_member[member].append(day)
        ranked = sorted(per_member.items(), key=lambda item: (-len(item[1]), -max(item[1]).toordinal(), item[0]))
        figures[(period, "top")] = [
            {"user": member, "days_active": len(days_), "last_active": max(days_).isoformat()}
            for member, days_ in ranked
        ]
    return figures


def stored_figures() -> dict:
    engagement = selectors.engagement()
    engagement.pop("computed_at")
    figures = {"engagement": engagement}
    for period in PERIODS:
        for name, code in FIGURE_KINDS:
            summary = selectors.activity_summary(period=period, kind=code).as_summary()
            daily = selectors.activity_timeseries(period=period, kind=code).as_timeseries()
            entry = {
                "start": summary["start"],
                "end": summary["end"],
                "daily": daily["series"],
                "cumulative": summary["series"],
                "total": summary["total_active_users"],
            }
            for interval in ("week", "month"):
                entry[interval] = selectors.activity_timeseries(period=period, kind=code, interval=interval).series
            figures[(period, name)] = entry
            if code == 0:
                by_kind = summary["by_kind"]
        assert by_kind == {name: figures[(period, name)]["total"] for name in KIND_BITS}
        leaders = selectors.top_users(period=period, limit=100).results
        figures[(period, "top")] = [
            {"user": row["user"]["id"], "days_active": row["days_active"], "last_active": row["last_active"]}
            for row in leaders
        ]
    return figures


def _assert_same(stored: dict, expected: dict) -> None:
    assert stored.keys() == expected.keys()
    for key in expected:
        assert stored[key] == expected[key], key


@HYPOTHESIS
@given(rows=activity, today=todays)
def test_full_refresh_equals_brute_force(members, rows, today):
    reset_activity()
    add_activity(members, rows)
    result = refresh_activity(full=True, today=today)
    assert result.refreshed and result.full
    _assert_same(stored_figures(), brute_force(day_rows(members, rows), today))


@HYPOTHESIS
@given(
    before=activity,
    backfill=activity,
    first_today=todays,
    days_later=st.one_of(st.just(0), st.just(1), st.integers(0, 40)),
    data=st.data(),
)
def test_incremental_refresh_after_new_days_and_backfill_equals_brute_force(
    members, before, backfill, first_today, days_later, data
):
    reset_activity()
    add_activity(members, before)
    refresh_activity(full=True, today=first_today)

    today = first_today + dt.timedelta(days=days_later)
    new_days = data.draw(
        st.lists(st.tuples(st.integers(0, MEMBERS - 1), st.integers(0, days_later), kinds), max_size=15)
    )
    fresh = [(index, first_today + dt.timedelta(days=offset), mask) for index, offset, mask in new_days]
    add_activity(members, backfill + fresh)
    # New days since the last refresh need no mark; backfilled past days are marked, as ingestion does.
    ActivityDirtyDay.objects.bulk_create(
        [ActivityDirtyDay(day=day) for day in {day for _, day, _ in backfill if day < first_today}]
    )

    result = refresh_activity(today=today)
    assert result.refreshed and not result.full
    incremental = stored_figures()
    _assert_same(incremental, brute_force(day_rows(members, before + backfill + fresh), today))

    refresh_activity(full=True, today=today)
    _assert_same(stored_figures(), incremental)


@HYPOTHESIS
@given(rows=activity, first_today=todays, steps=st.lists(st.tuples(st.integers(0, 3), activity), max_size=4))
def test_day_after_day_rollovers_equal_brute_force(members, rows, first_today, steps):
    """Beat's usual life: the windows move a day or a few at a time while new days arrive."""
    reset_activity()
    add_activity(members, rows)
    refresh_activity(full=True, today=first_today)
    today, everything = first_today, list(rows)
    for gap, arrivals in steps:
        today += dt.timedelta(days=gap)
        fresh = [(index, today - dt.timedelta(days=day.toordinal() % 2), mask) for index, day, mask in arrivals]
        add_activity(members, fresh)
        ActivityDirtyDay.objects.bulk_create(
            [ActivityDirtyDay(day=day) for day in {day for _, day, _ in fresh}], ignore_conflicts=True
        )
        everything += fresh
        assert not refresh_activity(today=today).full
    _assert_same(stored_figures(), brute_force(day_rows(members, everything), today))


def test_refresh_killed_midway_keeps_the_old_figures_and_a_rerun_gives_the_same_figures(members, monkeypatch):
    reset_activity()
    rows = [
        (i, D(2020, 1, 1) + dt.timedelta(days=5 * i + 11 * k), 1 + (i + k) % 31) for i in range(6) for k in range(30)
    ]
    add_activity(members, rows)
    refresh_activity(full=True, today=D(2020, 12, 30))
    before = stored_figures()

    backfill = [(1, D(2020, 3, 3), 8), (2, D(2020, 12, 20), 4), (5, D(2019, 12, 31), 16)]
    add_activity(members, backfill)
    ActivityDirtyDay.objects.bulk_create([ActivityDirtyDay(day=day) for _, day, _ in backfill])

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    # Killed after the day rows were rewritten, before the leaderboards.
    monkeypatch.setattr(aggregates, "_refresh_leaderboards", crash)
    with pytest.raises(RuntimeError, match="worker killed"):
        refresh_activity(today=D(2021, 1, 2))
    _assert_same(stored_figures(), before)
    assert ActivityDirtyDay.objects.count() == len(backfill), "the dirty days stay for the rerun"

    monkeypatch.undo()
    refresh_activity(today=D(2021, 1, 2))
    rerun = stored_figures()
    _assert_same(rerun, brute_force(day_rows(members, rows + backfill), D(2021, 1, 2)))
    refresh_activity(today=D(2021, 1, 2))
    _assert_same(stored_figures(), rerun)


def test_a_rollover_recomputes_only_the_new_days(members):
    """Moving every window by a day recounts the days since the last refresh and nothing else."""
    reset_activity()
    rows = [(i, D(2020, 6, 1) + dt.timedelta(days=2 * i + 3 * k), 3) for i in range(6) for k in range(80)]
    add_activity(members, rows)
    refresh_activity(full=True, today=D(2020, 12, 31))
    late = [(1, D(2020, 12, 31), 8), (0, D(2021, 1, 1), 8)]
    add_activity(members, late)
    result = refresh_activity(today=D(2021, 1, 1))
    assert not result.full
    assert result.days_recomputed == 2  # the last refresh's day (a late row) and the new one
    assert result.periods == {"30d": "shifted", "3m": "shifted", "6m": "shifted", "12m": "shifted", "all": "kept"}
    _assert_same(stored_figures(), brute_force(day_rows(members, rows + late), D(2021, 1, 1)))

    # Nothing changed on 1 January since: the next rollover recomputes only its new day.
    result = refresh_activity(today=D(2021, 1, 2))
    assert result.days_recomputed == 1
    _assert_same(stored_figures(), brute_force(day_rows(members, rows + late), D(2021, 1, 2)))


@pytest.mark.parametrize("change", ["kinds added", "member deleted", "member deleted and another added"])
def test_a_rollover_recounts_the_last_refresh_day_when_it_changed_without_a_mark(members, change):
    """Kinds OR-ed into an existing row and a deleted member's rows leave no dirty mark; the
    rollover still sees that the last refresh's day changed, and recounts it."""
    reset_activity()
    today = D(2021, 1, 1)
    rows = [(i, today - dt.timedelta(days=3 * i + k), 1 + (i + k) % 31) for i in range(5) for k in range(0, 60, 4)]
    rows += [(5, today, 1)]  # member 5 is active on that day only
    add_activity(members, rows)
    refresh_activity(full=True, today=today)
    if change == "kinds added":
        rows.append((0, today, 16))
        add_activity(members, [(0, today, 16)])
    else:
        rows = [row for row in rows if row[0] != 5]
        Membership.objects.filter(pk=members[5]).delete()
        if change == "member deleted and another added":
            # The same count of members with the same kinds on the day as before.
            rows.append((4, today, 1))
            add_activity(members, [(4, today, 1)])
    assert not ActivityDirtyDay.objects.exists()

    result = refresh_activity(today=today + dt.timedelta(days=1))
    assert result.days_recomputed == 2
    _assert_same(stored_figures(), brute_force(day_rows(members, rows), today + dt.timedelta(days=1)))


def test_gaps_around_the_horizon_and_first_days_equal_brute_force(members):
    """Previous active days exactly at, just within and just past the 366-day horizon, per kind,
    with first-ever days inside the windows: the full refresh and a day-by-day one agree."""
    reset_activity()
    today = D(2021, 3, 1)
    rows = [
        (0, today - dt.timedelta(days=366), 8),
        (0, today, 8 | 2),
        (1, today - dt.timedelta(days=367), 2),
        (1, today, 2),
        (2, today - dt.timedelta(days=365), 1),
        (2, today - dt.timedelta(days=1), 16),
        (2, today, 1),
        (3, today - dt.timedelta(days=400), 4),
        (3, today - dt.timedelta(days=33), 3),
        (4, today - dt.timedelta(days=2), 31),
    ]
    add_activity(members, rows)
    expected = brute_force(day_rows(members, rows), today)
    refresh_activity(full=True, today=today - dt.timedelta(days=3))
    assert not refresh_activity(today=today).full
    _assert_same(stored_figures(), expected)
    refresh_activity(full=True, today=today)
    _assert_same(stored_figures(), expected)


def _row_versions(model) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ctid::text, xmin::text FROM {model._meta.db_table}")
        return dict(cursor.fetchall())


def test_a_full_refresh_rewrites_only_the_member_rows_that_change(members):
    """A full refresh after the incremental ones confirms most member rows: those stay untouched,
    and a member's rows change only where their figures do."""
    reset_activity()
    rows = [
        (i, D(2020, 10, 1) + dt.timedelta(days=3 * i + 7 * k), 1 + (i + k) % 31) for i in range(6) for k in range(12)
    ]
    add_activity(members, rows)
    refresh_activity(full=True, today=D(2020, 12, 31))
    leaderboard, firsts = _row_versions(MemberPeriodDays), _row_versions(MemberFirstDays)

    refresh_activity(full=True, today=D(2020, 12, 31))
    assert _row_versions(MemberPeriodDays) == leaderboard
    assert _row_versions(MemberFirstDays) == firsts

    backfill = [(2, D(2020, 9, 1), 8)]
    add_activity(members, backfill)
    refresh_activity(full=True, today=D(2020, 12, 31))
    # 1 September is in the 6m, 12m and all windows only: those three rows of the member change.
    assert len(set(_row_versions(MemberPeriodDays).items()) - set(leaderboard.items())) == 3
    assert MemberFirstDays.objects.get(membership_id=members[2]).first_sdk == D(2020, 9, 1)
    _assert_same(stored_figures(), brute_force(day_rows(members, rows + backfill), D(2020, 12, 31)))


def _ranked(rows) -> list[tuple[int, int, D]]:
    return sorted(rows, key=lambda row: (-row[1], -row[2].toordinal(), row[0]))


def assert_heads_exact(served: int) -> None:
    """Each period's head is exactly the leaderboard's rows ranked at or above its lowest one, and
    holds at least ``served`` of them when the leaderboard has that many."""
    for period in PERIODS:
        board = _ranked(
            MemberPeriodDays.objects.filter(period=period).values_list("membership_id", "days_active", "last_active")
        )
        head = _ranked(
            PeriodLeaders.objects.filter(period=period).values_list("membership_id", "days_active", "last_active")
        )
        assert head == board[: len(head)], period
        assert len(head) >= min(served, len(board)), period


@HYPOTHESIS
@given(
    rows=activity,
    first_today=todays,
    steps=st.lists(st.tuples(st.integers(0, 3), activity, activity), max_size=4),
    kept=st.integers(1, 5),
)
def test_leaderboard_heads_stay_exact_through_rollovers_and_backfills(
    members, monkeypatch, rows, first_today, steps, kept
):
    """Heads smaller than the members (``kept`` of them, at least one served), so members join,
    leave with the days that drop out of a window, tie, and heads are rebuilt when too few stay."""
    monkeypatch.setattr(aggregates, "LEADERS_KEPT", kept)
    monkeypatch.setattr(aggregates, "LEADERS_SERVED", 1)
    reset_activity()
    add_activity(members, rows)
    refresh_activity(full=True, today=first_today)
    assert_heads_exact(1)
    today, everything = first_today, list(rows)
    for gap, arrivals, backfill in steps:
        today += dt.timedelta(days=gap)
        fresh = [(index, today - dt.timedelta(days=day.toordinal() % 2), mask) for index, day, mask in arrivals]
        past = [(index, day, mask) for index, day, mask in backfill if day < today]
        add_activity(members, fresh + past)
        ActivityDirtyDay.objects.bulk_create(
            [ActivityDirtyDay(day=day) for day in {day for _, day, _ in fresh + past}], ignore_conflicts=True
        )
        everything += fresh + past
        assert not refresh_activity(today=today).full
        assert_heads_exact(1)
        expected = brute_force(day_rows(members, everything), today)
        for period in PERIODS:
            leaders = selectors.top_users(period=period, limit=1).results
            top = [
                {"user": row["user"]["id"], "days_active": row["days_active"], "last_active": row["last_active"]}
                for row in leaders
            ]
            assert top == expected[(period, "top")][:1], period


def test_a_head_keeps_ties_in_order_and_is_rebuilt_when_too_few_stay(members, monkeypatch):
    """Members tied on days active are ranked by their last active day, then id; a head whose
    members fall below its lowest entry as the window moves is rebuilt from the leaderboard."""
    monkeypatch.setattr(aggregates, "LEADERS_KEPT", 3)
    monkeypatch.setattr(aggregates, "LEADERS_SERVED", 2)
    reset_activity()
    today = D(2021, 3, 31)
    start_30d = period_window("30d", today=today, first_activity_day=None, created_day=D(2019, 1, 1)).start
    rows = [
        # Members 0-2 tie on 3 days; 0 and 1 also tie on their last day (id decides).
        *[(0, start_30d + dt.timedelta(days=k), 1) for k in (0, 1, 20)],
        *[(1, start_30d + dt.timedelta(days=k), 1) for k in (0, 2, 20)],
        *[(2, start_30d + dt.timedelta(days=k), 1) for k in (0, 3, 21)],
        *[(3, start_30d + dt.timedelta(days=k), 1) for k in (5, 6)],
        (4, start_30d + dt.timedelta(days=7), 1),
    ]
    add_activity(members, rows)
    refresh_activity(full=True, today=today)
    leaders = selectors.top_users(period="30d", limit=2).results
    assert [row["user"]["id"] for row in leaders] == [members[2], members[0]]
    assert_heads_exact(2)

    # The window moves past the first day: 0, 1 and 2 drop to 2 days, tied with 3.
    refresh_activity(today=today + dt.timedelta(days=1))
    assert_heads_exact(2)
    leaders = selectors.top_users(period="30d", limit=2).results
    assert [(row["user"]["id"], row["days_active"]) for row in leaders] == [(members[2], 2), (members[0], 2)]
    expected = brute_force(day_rows(members, rows), today + dt.timedelta(days=1))
    for period in PERIODS:
        top = selectors.top_users(period=period, limit=2).results
        assert [row["user"]["id"] for row in top] == [row["user"] for row in expected[(period, "top")][:2]]
