"""Reads of the activity aggregates. One small query per answer; raw activity rows are never read.

Figures describe the window they were computed for: ``end`` is the UTC day of the last refresh
(today, except in the minute after midnight UTC before the next refresh).
"""

import datetime as dt
import json
from dataclasses import dataclass

from django.db import connection

from accounts.models import Membership
from activity.aggregates import CUMULATIVE, DAILY, STATE, TOTAL, organization_created_day
from activity.models import ActivityDay, ActivityKind
from activity.periods import Window, period_window, today_utc


@dataclass(frozen=True)
class ActivityFigures:
    period: str
    window: Window
    computed_at: dt.datetime | None
    series: list[dict]
    total_active_users: int | None = None

    def as_summary(self) -> dict:
        return {
            "period": self.period,
            "start": self.window.start.isoformat(),
            "end": self.window.end.isoformat(),
            "total_active_users": self.total_active_users,
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


def _points(start: dt.date, values: list[int]) -> list[dict]:
    return [
        {"date": (start + dt.timedelta(days=i)).isoformat(), "active_users": value} for i, value in enumerate(values)
    ]


def activity_summary(*, period: str) -> ActivityFigures | None:
    """The period's unique active users and their cumulative series; None if never computed."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT total.start, total."end", total.total_active_users, state.computed_at,
                       (SELECT array_agg(c.cumulative_users ORDER BY c.day) FROM {CUMULATIVE} AS c
                        WHERE c.period = total.period)
                FROM {TOTAL} AS total CROSS JOIN {STATE} AS state WHERE total.period = %s""",
            [period],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    start, end, total, computed_at, values = row
    return ActivityFigures(period, Window(start, end), computed_at, _points(start, values or []), total)


def activity_timeseries(*, period: str) -> ActivityFigures | None:
    """Users active on each day of the period, zeros included; None if never computed."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT total.start, total."end", state.computed_at,
                       (SELECT array_agg(coalesce(daily.active_users, 0) ORDER BY series.day)
                        FROM generate_series(total.start, total."end", interval '1 day') AS series(day)
                        LEFT JOIN {DAILY} AS daily ON daily.day = series.day::date)
                FROM {TOTAL} AS total CROSS JOIN {STATE} AS state WHERE total.period = %s""",
            [period],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    start, end, computed_at, values = row
    return ActivityFigures(period, Window(start, end), computed_at, _points(start, values or []))


def activity_not_computed(*, period: str, today: dt.date | None = None) -> ActivityFigures:
    """Zeros over the period's window, for an org whose aggregates were never computed."""
    window = period_window(
        period, today=today or today_utc(), first_activity_day=None, created_day=organization_created_day()
    )
    return ActivityFigures(period, window, None, _points(window.start, [0] * window.days), 0)


# --- One person's activity (the person page and GET users/<id>/activity/) ----------------------

KIND_BITS = {kind.label: kind.value for kind in ActivityKind}
KIND_NAMES = tuple(KIND_BITS)
# Every bitmask's kinds as JSON text, joined to the day rows so PostgreSQL writes the days' JSON.
KINDS_JSON_OF_MASK = ", ".join(
    f"({mask}, '{json.dumps([name for name, bit in KIND_BITS.items() if mask & bit])}')"
    for mask in range(1 << len(KIND_BITS))
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
    was seen; None when there is no such person. One statement: the person, the org's first
    recorded day (for ``all``) and an index range scan of their day rows."""
    today = today or today_utc()
    created_day = organization_created_day()
    # ``all`` starts at the org's first day or creation, which no day row of the person precedes.
    bounds = period_window(period, today=today, first_activity_day=None, created_day=created_day)
    lower = dt.date.min if period == "all" else bounds.start
    days_table = ActivityDay._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT (SELECT min(day) FROM {days_table}),
                       count(d.day),
                       '[' || coalesce(string_agg(
                           '{{"date": "' || to_char(d.day, 'YYYY-MM-DD') || '", "kinds": ' || k.names || '}}',
                           ', ' ORDER BY d.day), '') || ']',
                       {", ".join(f"count(*) FILTER (WHERE d.kinds & {bit} <> 0)" for bit in KIND_BITS.values())}
                FROM {Membership._meta.db_table} AS m
                LEFT JOIN {days_table} AS d ON d.membership_id = m.id AND d.day BETWEEN %s AND %s
                LEFT JOIN (VALUES {KINDS_JSON_OF_MASK}) AS k(mask, names) ON k.mask = d.kinds
                WHERE m.id = %s GROUP BY m.id""",
            [lower, today, membership_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    first_day, days_active, days_json, *kind_counts = row
    window = period_window(period, today=today, first_activity_day=first_day, created_day=created_day)
    return PersonActivity(
        user=membership_id,
        period=period,
        window=window,
        days_active=days_active,
        days_json=days_json,
        by_kind=dict(zip(KIND_NAMES, kind_counts, strict=True)),
    )
