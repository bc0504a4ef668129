"""Reads of the activity aggregates. One or two small queries per answer; raw activity rows are
never read.

Figures describe the window they were computed for: ``end`` is the UTC day of the last refresh
(today, except in the minute after midnight UTC before the next refresh).
"""

import datetime as dt
import json
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.utils import timezone

from accounts.api.serializers import user_representation
from accounts.models import Membership
from accounts.selectors import USER_COLUMNS, USER_FIELDS, inactivity_cutoff, status_expression
from activity.aggregates import BUCKETS, LEADERS, PERIOD_FIGURES, STATE, organization_created_day
from activity.models import KIND_ANY, ActivityDay, ActivityKind, AggregateState, Interval
from activity.periods import Window, period_window, today_utc

KIND_NAMES: dict[int, str] = {kind.value: kind.label for kind in ActivityKind}
KIND_CODES: dict[str, int] = {name: code for code, name in KIND_NAMES.items()}
EXPORT_HEADER = ("date", "active_users", *KIND_NAMES.values())


@dataclass(frozen=True)
class ActivityFigures:
    period: str
    window: Window
    computed_at: dt.datetime | None
    series: list[dict]
    total_active_users: int | None = None
    by_kind: dict[str, int] | None = None
    # The series as JSON text written by PostgreSQL (``series`` is then empty): a period's
    # hundreds of points cost most of a request when built and encoded point by point.
    series_json: str | None = None

    def as_summary(self) -> dict:
        return {
            "period": self.period,
            "start": self.window.start.isoformat(),
            "end": self.window.end.isoformat(),
            "total_active_users": self.total_active_users,
            "by_kind": self.by_kind,
            "series": self.series,
            "computed_at": self.computed_at,
        }

    def as_timeseries(self) -> dict:
        return {
            "period": self.period,
            "start": self.window.start.isoformat(),
            "end": self.window.end.isoformat(),
            "series": self.series,
            "computed_at": self.computed_at,
        }


def _series_json_sql(values: str, start: str) -> str:
    """SQL of the JSON text of ``_points(start, values)`` for an integer array column."""
    point = """'{"date":"' || to_char(%s + (u.i - 1)::integer, 'YYYY-MM-DD') || '","active_users":' || u.v || '}'"""
    return (
        f"(SELECT '[' || coalesce(string_agg({point % start}, ',' ORDER BY u.i), '') || ']'"
        f" FROM unnest({values}) WITH ORDINALITY AS u(v, i))"
    )


def _points(start: dt.date, values: list[int]) -> list[dict]:
    return [
        {"date": (start + dt.timedelta(days=i)).isoformat(), "active_users": value} for i, value in enumerate(values)
    ]


def bucket_start(day: dt.date, interval: str) -> dt.date:
    if interval == Interval.WEEK:
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def bucket_next(start: dt.date, interval: str) -> dt.date:
    if interval == Interval.WEEK:
        return start + dt.timedelta(days=7)
    return start + relativedelta(months=1)


def _bucket_points(window: Window, interval: str, cumulative: list[int], buckets: dict[dt.date, int]) -> list[dict]:
    """One point per ISO week or month touching the window; the first one's uniques are the
    window's cumulative figure at its end (it may start before the window)."""
    points = []
    start = bucket_start(window.start, interval)
    while start <= window.end:
        following = bucket_next(start, interval)
        last_day = min(following - dt.timedelta(days=1), window.end)
        if start <= window.start:
            value = cumulative[(last_day - window.start).days] if cumulative else 0
        else:
            value = buckets.get(start, 0)
        points.append(
            {
                "date": start.isoformat(),
                "active_users": value,
                "partial": start < window.start or following - dt.timedelta(days=1) > window.end,
            }
        )
        start = following
    return points


def activity_summary(*, period: str, kind: int = KIND_ANY, as_json: bool = False) -> ActivityFigures | None:
    """The period's unique active users (with ``kind``; 0: any) and their cumulative series, and
    the unique users of each kind; None if never computed. ``as_json``: the series as JSON text."""
    series = _series_json_sql("p.cumulative", "p.start") if as_json else "p.cumulative"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT p.start, p."end", p.total_active_users, state.computed_at, {series},
                       (SELECT array_agg(ARRAY[other.kind, other.total_active_users]) FROM {PERIOD_FIGURES} AS other
                        WHERE other.period = p.period AND other.kind <> 0)
                FROM {PERIOD_FIGURES} AS p CROSS JOIN {STATE} AS state WHERE p.period = %s AND p.kind = %s""",
            [period, kind],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    start, end, total, computed_at, cumulative, others = row
    totals = dict(others or [])
    by_kind = {name: totals.get(code, 0) for code, name in KIND_NAMES.items()}
    if as_json:
        return ActivityFigures(period, Window(start, end), computed_at, [], total, by_kind, series_json=cumulative)
    return ActivityFigures(period, Window(start, end), computed_at, _points(start, cumulative), total, by_kind)


def activity_timeseries(
    *, period: str, kind: int = KIND_ANY, interval: str = Interval.DAY, as_json: bool = False
) -> ActivityFigures | None:
    """Users active on each day of the period (zeros included), or unique users of each ISO week
    or month touching it; None if never computed. ``as_json``: the daily series as JSON text."""
    by_day = interval == Interval.DAY
    daily = _series_json_sql("p.daily", "p.start") if as_json and by_day else "p.daily"
    # Week and month points need the cumulative figures, days do not.
    cumulative = "NULL" if by_day else "p.cumulative"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT p.start, p."end", state.computed_at, {daily}, {cumulative},
                       (SELECT array_agg(ARRAY[b.start - p.start, b.active_users]) FROM {BUCKETS} AS b
                        WHERE %(interval)s <> 'day' AND b.interval = %(interval)s AND b.kind = p.kind
                          AND b.start > p.start AND b.start <= p."end")
                FROM {PERIOD_FIGURES} AS p CROSS JOIN {STATE} AS state
                WHERE p.period = %(period)s AND p.kind = %(kind)s""",
            {"period": period, "kind": kind, "interval": interval},
        )
        row = cursor.fetchone()
    if row is None:
        return None
    start, end, computed_at, daily, cumulative, buckets = row
    window = Window(start, end)
    if by_day and as_json:
        return ActivityFigures(period, window, computed_at, [], series_json=daily)
    if by_day:
        return ActivityFigures(period, window, computed_at, _points(start, daily))
    by_start = {start + dt.timedelta(days=offset): value for offset, value in (buckets or [])}
    return ActivityFigures(period, window, computed_at, _bucket_points(window, interval, cumulative, by_start))


def activity_daily_by_kind(*, period: str) -> tuple[Window, list[tuple]] | None:
    """The rows of the CSV export: each day of the period, users active in all and by kind."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT kind, start, "end", daily FROM {PERIOD_FIGURES} WHERE period = %s ORDER BY kind""", [period]
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    start, end = rows[0][1], rows[0][2]
    columns = {kind: daily for kind, _start, _end, daily in rows}
    kinds = [KIND_ANY, *KIND_NAMES]
    lines = [
        (start + dt.timedelta(days=i), *(columns.get(kind, [0] * (i + 1))[i] for kind in kinds))
        for i in range((end - start).days + 1)
    ]
    return Window(start, end), lines


@dataclass(frozen=True)
class TopUsers:
    period: str
    window: Window
    computed_at: dt.datetime | None
    results: list[dict]

    def as_dict(self) -> dict:
        return {
            "period": self.period,
            "start": self.window.start.isoformat(),
            "end": self.window.end.isoformat(),
            "results": self.results,
            "computed_at": self.computed_at,
        }


def top_users(*, period: str, limit: int) -> TopUsers | None:
    """The members with the most active days in the period (then the latest last active day, then
    id), with their User object; None if never computed. Read from the leaderboard's head, which
    holds at least the first 100 (the largest ``limit``) of each period."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT p.start, p."end", state.computed_at,
                       (SELECT array_agg(ARRAY[top.membership_id, top.days_active, top.last_active - p.start]
                                         ORDER BY top.days_active DESC, top.last_active DESC, top.membership_id)
                        FROM (SELECT * FROM {LEADERS} AS l WHERE l.period = p.period
                              ORDER BY l.days_active DESC, l.last_active DESC, l.membership_id LIMIT %s) AS top)
                FROM {PERIOD_FIGURES} AS p CROSS JOIN {STATE} AS state WHERE p.period = %s AND p.kind = 0""",
            [limit, period],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    start, end, computed_at, leaders = row
    leaders = leaders or []
    now = timezone.now()
    people = (
        Membership.objects.only(*USER_COLUMNS)
        .annotate(status=status_expression(inactivity_cutoff(now)))
        .filter(pk__in=[member for member, _days, _last in leaders])
        .values(*USER_FIELDS)
    )
    users = {person["id"]: user_representation(person, now=now) for person in people}
    results = [
        {"user": users[member], "days_active": days, "last_active": (start + dt.timedelta(days=last)).isoformat()}
        for member, days, last in leaders
        if member in users
    ]
    return TopUsers(period, Window(start, end), computed_at, results)


def engagement() -> dict | None:
    """DAU, WAU, MAU and stickiness as of the last refresh's day and 30 days earlier."""
    state = AggregateState.objects.filter(pk=1).only("engagement", "computed_at").first()
    if state is None or not state.engagement:
        return None
    return {**state.engagement, "computed_at": state.computed_at}


def engagement_not_computed(*, today: dt.date | None = None) -> dict:
    zeros = {"dau": 0, "wau": 0, "mau": 0, "stickiness": 0.0}
    return {"as_of": (today or today_utc()).isoformat(), **zeros, "previous": dict(zeros), "computed_at": None}


def not_computed_window(*, period: str, today: dt.date | None = None) -> Window:
    return period_window(
        period, today=today or today_utc(), first_activity_day=None, created_day=organization_created_day()
    )


def activity_not_computed(
    *, period: str, interval: str = Interval.DAY, today: dt.date | None = None
) -> ActivityFigures:
    """Zeros over the period's window, for an org whose aggregates were never computed."""
    window = not_computed_window(period=period, today=today)
    if interval == Interval.DAY:
        series = _points(window.start, [0] * window.days)
    else:
        series = _bucket_points(window, interval, [0] * window.days, {})
    return ActivityFigures(period, window, None, series, 0, dict.fromkeys(KIND_NAMES.values(), 0))


# --- One person's activity (the person page and GET users/<id>/activity/) ----------------------

KIND_BITS = {kind.label: kind.value for kind in ActivityKind}
# Every bitmask's kinds as JSON text, indexed by mask + 1 in the statement, so PostgreSQL writes
# the days' JSON without a join (a join would also undo the day order of the index scan).
KINDS_JSON_BY_MASK = (
    "ARRAY["
    + ", ".join(
        "'" + json.dumps([name for name, bit in KIND_BITS.items() if mask & bit]) + "'"
        for mask in range(1 << len(KIND_BITS))
    )
    + "]"
)


@dataclass(frozen=True)
class PersonActivity:
    """One person's active days in a window. ``days_json`` is the JSON array of the days
    (``[{"date", "kinds"}]``, ascending), written by PostgreSQL: a busy person has hundreds."""

    user: int
    period: str
    window: Window
    days_active: int
    days_json: str
    by_kind: dict[str, int]

    def as_json(self) -> str:
        head = {
            "user": self.user,
            "period": self.period,
            "start": self.window.start.isoformat(),
            "end": self.window.end.isoformat(),
            "days_active": self.days_active,
            "by_kind": self.by_kind,
        }
        return json.dumps(head)[:-1] + f', "days": {self.days_json}}}'


def person_activity(*, membership_id: int, period: str, today: dt.date | None = None) -> PersonActivity | None:
    """The person's active days in the period's window, ascending, and on how many days each kind
    was seen; None when there is no such person. One statement: the org's first recorded day (for
    ``all``) and an index range scan of the person's day rows, already in day order, aggregated
    into the days' JSON text. Only a person without days costs a second, to tell them from nobody
    (a day row has a person)."""
    today = today or today_utc()
    created_day = organization_created_day()
    bounds = period_window(period, today=today, first_activity_day=None, created_day=created_day)
    # ``all`` starts at the org's first day or its creation, which no day row of the person
    # precedes: only the end bounds it, which spares the planner probing the index for a start.
    since = "" if period == "all" else "AND d.day >= %(start)s"
    days_table = ActivityDay._meta.db_table
    with connection.cursor() as cursor:
        # to_json writes a date as ISO 8601 whatever the session's DateStyle, and faster than to_char.
        cursor.execute(
            f"""SELECT (SELECT min(day) FROM {days_table}),
                       count(*),
                       '[' || coalesce(string_agg(
                           '{{"date": ' || to_json(d.day) || ', "kinds": '
                           || ({KINDS_JSON_BY_MASK})[d.kinds + 1] || '}}',
                           ', ' ORDER BY d.day), '') || ']',
                       {", ".join(f"count(*) FILTER (WHERE d.kinds & {bit} <> 0)" for bit in KIND_BITS.values())}
                FROM {days_table} AS d
                WHERE d.membership_id = %(member)s AND d.day <= %(end)s {since}""",
            {"member": membership_id, "start": bounds.start, "end": today},
        )
        first_day, days_active, days_json, *kind_counts = cursor.fetchone()
    if days_active == 0 and not Membership.objects.filter(pk=membership_id).exists():
        return None
    window = period_window(period, today=today, first_activity_day=first_day, created_day=created_day)
    return PersonActivity(
        user=membership_id,
        period=period,
        window=window,
        days_active=days_active,
        days_json=days_json,
        by_kind=dict(zip(KIND_BITS, kind_counts, strict=True)),
    )
