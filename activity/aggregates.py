"""The activity aggregates of the current org's schema, and their refresh.

Three tables hold everything the Activity tab and its API read:
  * ``DailyActiveUsers``   members active on each day (days without activity have no row);
  * ``PeriodCumulative``   for each period, unique members active from the period's start through
                           each day of its window (one row per day);
  * ``PeriodTotal``        each period's window and its unique active members.
``AggregateState`` (one row) records the refresh that produced them.

A refresh runs in one transaction under a per-org advisory lock: an interrupted refresh leaves the
previous figures untouched, a rerun recomputes from the same rows and so gives identical figures,
and two refreshes of one org never interleave. Everything is computed in SQL over the day rows.

Incremental refresh. The days whose figures may have changed are the days recorded in
``ActivityDirtyDay`` since the last refresh plus every day from the last refresh's "today" through
this one. Daily counts are recomputed for those days only. A period's cumulative series can only
change from its first changed day ``x`` on, so rows before ``x`` are kept and rows from ``x`` are
recomputed from the members whose first activity in the window lies on or after ``x`` (those active
from ``x`` on with no activity between the window's start and ``x``: one index probe each). When the
window's start has moved (a new day), the kept rows are shifted instead of recomputed: a member
active on a dropped day stops counting until their next active day in the new window.
A full refresh computes every period's series in one pass over the day rows.
"""

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from activity.models import (
    ActivityDay,
    ActivityDirtyDay,
    AggregateState,
    DailyActiveUsers,
    PeriodCumulative,
    PeriodTotal,
)
from activity.periods import PERIODS, Window, period_window, today_utc
from orgdash.core.models import Organization

logger = logging.getLogger(__name__)

ACTIVITY = ActivityDay._meta.db_table
DIRTY = ActivityDirtyDay._meta.db_table
DAILY = DailyActiveUsers._meta.db_table
CUMULATIVE = PeriodCumulative._meta.db_table
TOTAL = PeriodTotal._meta.db_table
STATE = AggregateState._meta.db_table

LOCK_SQL = "hashtext('orgdash.activity-refresh'), hashtext(%s)"
# A full refresh at least this often also catches changes nobody marked dirty (deleted members).
FULL_REFRESH_INTERVAL = dt.timedelta(hours=24)


@dataclass
class RefreshResult:
    refreshed: bool
    full: bool = False
    computed_for_day: dt.date | None = None
    days_recomputed: int = 0
    periods: dict[str, str] = field(default_factory=dict)
    duration_ms: float = 0.0

    def describe(self) -> str:
        if not self.refreshed:
            return "skipped: another refresh of this organization is running"
        plans = ", ".join(f"{period} {how}" for period, how in self.periods.items())
        kind = "full" if self.full else "incremental"
        return (
            f"{kind} refresh for {self.computed_for_day}: {self.days_recomputed} days ({plans})"
            f" in {self.duration_ms:.0f} ms"
        )


@dataclass(frozen=True)
class _Plan:
    """How one period is brought up to date: rows before ``recompute_from`` are kept (shifted when
    the window's start moved from ``shift_from``); rows from ``recompute_from`` are recomputed."""

    period: str
    window: Window
    recompute_from: dt.date
    shift_from: dt.date | None = None

    @property
    def is_full(self) -> bool:
        return self.recompute_from == self.window.start

    @property
    def describe(self) -> str:
        if self.is_full:
            return "full"
        return ("shifted, " if self.shift_from else "") + f"from {self.recompute_from}"


def refresh_activity(*, full: bool = False, today: dt.date | None = None, wait: bool = False) -> RefreshResult:
    """Brings the current org's aggregates up to date (``full``: recomputes everything).

    Returns ``refreshed=False`` without doing anything when another refresh of this org holds the
    lock, unless ``wait`` (then it waits for it and runs after it).
    """
    today = today or today_utc()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if not _lock(cursor, wait=wait):
            return RefreshResult(refreshed=False)
        state = AggregateState.objects.filter(pk=1).first()
        now = timezone.now()
        if (
            state is None
            or state.computed_for_day > today
            or state.last_full_refresh_at is None
            or now - state.last_full_refresh_at >= FULL_REFRESH_INTERVAL
        ):
            full = True
        dirty_days = _consume_dirty_days(cursor)
        if full:
            changed_days: set[dt.date] = set()
            days_recomputed = _recompute_all_days(cursor, today=today)
        else:
            changed_days = {day for day in dirty_days if day <= today} | set(_days(state.computed_for_day, today))
            days_recomputed = _recompute_days(cursor, sorted(changed_days))

        first_activity_day = _first_activity_day(cursor)
        created_day = organization_created_day()
        stored = {row.period: Window(row.start, row.end) for row in PeriodTotal.objects.all()}
        plans = [
            _plan(
                period,
                period_window(period, today=today, first_activity_day=first_activity_day, created_day=created_day),
                stored.get(period),
                changed_days,
                full=full,
            )
            for period in PERIODS
        ]
        _apply_plans(cursor, plans)

        duration_ms = (time.perf_counter() - started) * 1000
        AggregateState.objects.update_or_create(
            pk=1,
            defaults={
                "computed_at": now,
                "computed_for_day": today,
                "last_full_refresh_at": now if full else state.last_full_refresh_at,
                "last_duration_ms": round(duration_ms),
            },
        )
    result = RefreshResult(
        refreshed=True,
        full=full,
        computed_for_day=today,
        days_recomputed=days_recomputed,
        periods={plan.period: plan.describe for plan in plans},
        duration_ms=(time.perf_counter() - started) * 1000,
    )
    logger.info("activity aggregates of %s: %s", connection.schema_name, result.describe())
    return result


def activity_is_small(*, limit: int = 20_000) -> bool:
    """Whether the org has at most ``limit`` day rows (reads at most ``limit + 1`` index entries)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {ACTIVITY} LIMIT %s) AS probe", [limit + 1])
        return cursor.fetchone()[0] <= limit


def organization_created_day() -> dt.date:
    created_at = getattr(connection.tenant, "created_at", None)
    if created_at is None:
        created_at = Organization.objects.get(schema_name=connection.schema_name).created_at
    return created_at.astimezone(dt.UTC).date()


# --- Steps ---------------------------------------------------------------------------------------


def _lock(cursor, *, wait: bool) -> bool:
    # Advisory locks are database-wide, so the key names the schema: orgs never wait for each other.
    if wait:
        cursor.execute(f"SELECT pg_advisory_xact_lock({LOCK_SQL})", [connection.schema_name])
        return True
    cursor.execute(f"SELECT pg_try_advisory_xact_lock({LOCK_SQL})", [connection.schema_name])
    return cursor.fetchone()[0]


def _consume_dirty_days(cursor) -> list[dt.date]:
    # Rows inserted after this statement stay for the next refresh (theirs may not be visible yet).
    cursor.execute(f"DELETE FROM {DIRTY} RETURNING day")
    return [row[0] for row in cursor.fetchall()]


def _recompute_all_days(cursor, *, today: dt.date) -> int:
    cursor.execute(f"DELETE FROM {DAILY}")
    cursor.execute(
        f"""INSERT INTO {DAILY} (day, active_users)
            SELECT day, count(*) FROM {ACTIVITY} WHERE day <= %s GROUP BY day""",
        [today],
    )
    return cursor.rowcount


def _recompute_days(cursor, days: list[dt.date]) -> int:
    cursor.execute(f"DELETE FROM {DAILY} WHERE day = ANY(%s)", [days])
    cursor.execute(
        f"""INSERT INTO {DAILY} (day, active_users)
            SELECT day, count(*) FROM {ACTIVITY} WHERE day = ANY(%s) GROUP BY day""",
        [days],
    )
    return len(days)


def _first_activity_day(cursor) -> dt.date | None:
    cursor.execute(f"SELECT min(day) FROM {DAILY}")
    return cursor.fetchone()[0]


def _plan(period: str, window: Window, stored: Window | None, changed: set[dt.date], *, full: bool) -> _Plan:
    recompute_all = _Plan(period, window, recompute_from=window.start)
    if full or stored is None or window.start < stored.start or window.start > stored.end or stored.end > window.end:
        return recompute_all
    if any(stored.start <= day < window.start for day in changed):
        return recompute_all  # a dropped day changed: the kept rows no longer match the day rows
    candidates = [day for day in changed if window.start <= day <= window.end]
    if stored.end < window.end:
        candidates.append(stored.end + dt.timedelta(days=1))
    recompute_from = min(candidates, default=window.end + dt.timedelta(days=1))
    if recompute_from <= window.start:
        return recompute_all
    return _Plan(
        period,
        window,
        recompute_from=recompute_from,
        shift_from=stored.start if window.start > stored.start else None,
    )


def _apply_plans(cursor, plans: list[_Plan]) -> None:
    full_plans = [plan for plan in plans if plan.is_full]
    if full_plans:
        cursor.execute(f"DELETE FROM {CUMULATIVE} WHERE period = ANY(%s)", [[plan.period for plan in full_plans]])
        _insert_full_series(cursor, full_plans)
    partial_plans = [plan for plan in plans if not plan.is_full]
    for plan in partial_plans:
        cursor.execute(
            f"DELETE FROM {CUMULATIVE} WHERE period = %s AND (day < %s OR day >= %s)",
            [plan.period, plan.window.start, plan.recompute_from],
        )
        if plan.shift_from is not None:
            _shift_series(cursor, plan)
    # Usually every period recomputes from the same day (today): one statement serves them all.
    for recompute_from in sorted({plan.recompute_from for plan in partial_plans}):
        group = [plan for plan in partial_plans if plan.recompute_from == recompute_from]
        if recompute_from <= group[0].window.end:
            _insert_series_tails(cursor, group)
    windows = ", ".join("(%s, %s::date, %s::date)" for _ in plans)
    cursor.execute(
        f"""INSERT INTO {TOTAL} (period, start, "end", total_active_users)
            SELECT w.period, w.start, w.end, c.cumulative_users
            FROM (VALUES {windows}) AS w(period, start, "end")
            JOIN {CUMULATIVE} AS c ON c.period = w.period AND c.day = w.end
            ON CONFLICT (period) DO UPDATE SET start = EXCLUDED.start, "end" = EXCLUDED."end",
                total_active_users = EXCLUDED.total_active_users""",
        [value for plan in plans for value in (plan.period, plan.window.start, plan.window.end)],
    )


def _insert_full_series(cursor, plans: list[_Plan]) -> None:
    """Every listed period's whole series in one pass: each member's first active day on or
    after each period's start, counted per day and summed along the window."""
    end = plans[0].window.end
    lowest = min(plan.window.start for plan in plans)
    firsts = ", ".join(f"min(day) FILTER (WHERE day >= %s) AS first_{i}" for i in range(len(plans)))
    choices = ", ".join(f"(%s, first_{i})" for i in range(len(plans)))
    windows = ", ".join("(%s, %s::date)" for _ in plans)
    params: list = [plan.window.start for plan in plans]
    params += [lowest, end]
    params += [plan.period for plan in plans]
    for plan in plans:
        params += [plan.period, plan.window.start]
    params.append(end)
    cursor.execute(
        f"""
        WITH firsts AS (
            SELECT {firsts} FROM {ACTIVITY} WHERE day >= %s AND day <= %s GROUP BY membership_id
        ),
        counts AS (
            SELECT choice.period, choice.first_day, count(*) AS members
            FROM firsts CROSS JOIN LATERAL (VALUES {choices}) AS choice(period, first_day)
            WHERE choice.first_day IS NOT NULL
            GROUP BY choice.period, choice.first_day
        ),
        windows AS (SELECT * FROM (VALUES {windows}) AS w(period, start))
        INSERT INTO {CUMULATIVE} (period, day, cumulative_users)
        SELECT w.period, series.day::date,
               coalesce(sum(counts.members) OVER (PARTITION BY w.period ORDER BY series.day), 0)::integer
        FROM windows AS w
        CROSS JOIN LATERAL generate_series(w.start, %s::date, interval '1 day') AS series(day)
        LEFT JOIN counts ON counts.period = w.period AND counts.first_day = series.day::date
        """,
        params,
    )


def _shift_series(cursor, plan: _Plan) -> None:
    """Moves the kept rows [start, recompute_from) from the old start to the new one: a member
    active on a dropped day counts again only from their next active day in the new window."""
    last_kept = plan.recompute_from - dt.timedelta(days=1)
    cursor.execute(
        f"""
        WITH dropped AS (
            SELECT DISTINCT membership_id FROM {ACTIVITY} WHERE day >= %(old_start)s AND day < %(start)s
        ),
        nexts AS MATERIALIZED (
            SELECT (SELECT min(a.day) FROM {ACTIVITY} AS a
                    WHERE a.membership_id = dropped.membership_id AND a.day >= %(start)s AND a.day <= %(last)s
                   ) AS next_day
            FROM dropped
        ),
        returns AS (
            -- Members with no next day form a NULL group, which joins no day below.
            SELECT next_day, count(*) AS members FROM nexts GROUP BY next_day
        ),
        adjustment AS (
            SELECT series.day::date AS day,
                   (SELECT count(*) FROM dropped)
                   - coalesce(sum(returns.members) OVER (ORDER BY series.day), 0) AS gone
            FROM generate_series(%(start)s::date, %(last)s::date, interval '1 day') AS series(day)
            LEFT JOIN returns ON returns.next_day = series.day::date
        )
        UPDATE {CUMULATIVE} AS c SET cumulative_users = c.cumulative_users - adjustment.gone
        FROM adjustment WHERE c.period = %(period)s AND c.day = adjustment.day AND adjustment.gone <> 0
        """,
        {"old_start": plan.shift_from, "start": plan.window.start, "last": last_kept, "period": plan.period},
    )


def _insert_series_tails(cursor, plans: list[_Plan]) -> None:
    """Rows from ``recompute_from`` on, for periods that share that day: the kept count before it,
    plus the members whose first active day in the window falls on each day. A member active
    from ``recompute_from`` on is new to a window when their last activity before that day (one
    index probe) is before the window's start, or does not exist."""
    recompute_from, end = plans[0].recompute_from, plans[0].window.end
    windows = ", ".join(f"(%(period_{i})s, %(start_{i})s::date)" for i in range(len(plans)))
    cursor.execute(
        f"""
        WITH windows AS (
            SELECT w.period, w.start,
                   coalesce((SELECT c.cumulative_users FROM {CUMULATIVE} AS c
                             WHERE c.period = w.period AND c.day = %(last_kept)s), 0) AS kept
            FROM (VALUES {windows}) AS w(period, start)
        ),
        firsts AS (
            SELECT membership_id, min(day) AS first_day FROM {ACTIVITY}
            WHERE day >= %(from)s AND day <= %(end)s GROUP BY membership_id
        ),
        histories AS MATERIALIZED (
            SELECT firsts.first_day,
                   (SELECT max(earlier.day) FROM {ACTIVITY} AS earlier
                    WHERE earlier.membership_id = firsts.membership_id AND earlier.day < %(from)s) AS last_before
            FROM firsts
        ),
        newcomers AS (
            SELECT windows.period, histories.first_day, count(*) AS members
            FROM histories JOIN windows
              ON histories.last_before IS NULL OR histories.last_before < windows.start
            GROUP BY windows.period, histories.first_day
        )
        INSERT INTO {CUMULATIVE} (period, day, cumulative_users)
        SELECT windows.period, series.day::date,
               (windows.kept + coalesce(sum(newcomers.members)
                    OVER (PARTITION BY windows.period ORDER BY series.day), 0))::integer
        FROM windows
        CROSS JOIN generate_series(%(from)s::date, %(end)s::date, interval '1 day') AS series(day)
        LEFT JOIN newcomers ON newcomers.period = windows.period AND newcomers.first_day = series.day::date
        """,
        {
            "last_kept": recompute_from - dt.timedelta(days=1),
            "from": recompute_from,
            "end": end,
            **{f"period_{i}": plan.period for i, plan in enumerate(plans)},
            **{f"start_{i}": plan.window.start for i, plan in enumerate(plans)},
        },
    )


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
