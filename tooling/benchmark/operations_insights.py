"""PERFORMANCE.md second-round rows for the activity insights: week and month timeseries, ``kind=``
on timeseries and summary, top users and engagement (each beside the same answer computed from
raw activity rows), the full refresh beside plain SQL of the same per-kind figures, and the
day-rollover refresh beside the full refresh."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from activity.aggregates import refresh_activity
from activity.periods import PERIODS, period_window
from tooling.benchmark.harness import Row, measure, measure_pair, ratio_of

if TYPE_CHECKING:  # operations.py imports this module to register its rows
    from tooling.benchmark.operations import Context

ACTIVITY = "activity_activityday"
SDK = 8

WEEK_OR_MONTH_SQL = f"""
    SELECT date_trunc(%(unit)s, a.day)::date AS bucket, count(DISTINCT a.membership_id)
    FROM {ACTIVITY} AS a WHERE a.day BETWEEN %(start)s AND %(end)s GROUP BY bucket ORDER BY bucket
"""
KIND_DAILY_SQL = f"""
    SELECT d::date, count(a.membership_id) FROM generate_series(%(start)s::date, %(end)s::date, '1 day') AS d
    LEFT JOIN {ACTIVITY} AS a ON a.day = d::date AND (a.kinds & %(kind)s) <> 0 GROUP BY d ORDER BY d
"""
KIND_CUMULATIVE_SQL = f"""
    WITH firsts AS (
        SELECT membership_id, min(day) AS first_day FROM {ACTIVITY}
        WHERE day BETWEEN %(start)s AND %(end)s AND (kinds & %(kind)s) <> 0 GROUP BY membership_id
    ),
    per_day AS (SELECT first_day, count(*) AS n FROM firsts GROUP BY first_day),
    by_kind AS (
        SELECT count(DISTINCT membership_id) FILTER (WHERE kinds & 1 <> 0),
               count(DISTINCT membership_id) FILTER (WHERE kinds & 2 <> 0),
               count(DISTINCT membership_id) FILTER (WHERE kinds & 4 <> 0),
               count(DISTINCT membership_id) FILTER (WHERE kinds & 8 <> 0),
               count(DISTINCT membership_id) FILTER (WHERE kinds & 16 <> 0)
        FROM {ACTIVITY} WHERE day BETWEEN %(start)s AND %(end)s
    )
    SELECT d::date, coalesce(sum(p.n) OVER (ORDER BY d), 0), (SELECT row(by_kind.*) FROM by_kind)
    FROM generate_series(%(start)s::date, %(end)s::date, '1 day') AS d
    LEFT JOIN per_day AS p ON p.first_day = d::date ORDER BY d
"""
TOP_USERS_SQL = f"""
    SELECT m.id, m.email, m.name, top.days, top.last_day FROM (
        SELECT membership_id, count(*) AS days, max(day) AS last_day FROM {ACTIVITY}
        WHERE day BETWEEN %(start)s AND %(end)s GROUP BY membership_id
        ORDER BY days DESC, last_day DESC, membership_id LIMIT 10
    ) AS top JOIN accounts_membership AS m ON m.id = top.membership_id
"""
ENGAGEMENT_SQL = f"""
    SELECT t.as_of, w.days,
           (SELECT count(DISTINCT membership_id) FROM {ACTIVITY}
            WHERE day BETWEEN t.as_of - (w.days - 1) AND t.as_of),
           (SELECT count(*) FROM {ACTIVITY} WHERE day BETWEEN t.as_of - (w.days - 1) AND t.as_of)
    FROM (VALUES (%(today)s::date), (%(today)s::date - 30)) AS t(as_of) CROSS JOIN (VALUES (1), (7), (30)) AS w(days)
"""
# The aggregate kinds: any, the five kinds, and the web surface (a log-in or a page view).
KIND_MASKS = (0, 1, 2, 4, 8, 16, 3)


class _Rollback(Exception):
    """Raised at the end of a measured block whose writes must be undone."""


def _undone(run: Callable[[], object]) -> Callable[[], object]:
    """Runs ``run`` in a transaction that is rolled back, so the org is left as it was found."""

    def wrapper():
        try:
            with transaction.atomic():
                run()
                raise _Rollback
        except _Rollback:
            pass

    return wrapper


def _windows(ctx: Context) -> dict:
    today = timezone.now().date()
    first_day = ctx.sql(f"SELECT min(day) FROM {ACTIVITY}")[0][0]
    created = ctx.sql(
        "SELECT created_at::date FROM public.core_organization WHERE schema_name = %(s)s", {"s": ctx.schema}
    )[0][0]
    return {p: period_window(p, today=today, first_activity_day=first_day, created_day=created) for p in PERIODS}


def _row(ctx: Context, name: str, path: str, reference_sql: str, params: dict, strict: bool) -> Row:
    reps = max(3, ctx.repetitions // 8) if strict else max(3, ctx.repetitions // 4)
    timing = measure(lambda: ctx.get(path), repetitions=ctx.repetitions)
    reference = measure(lambda: ctx.sql(reference_sql, params), repetitions=reps, warmup=1)
    ratio = ratio_of(timing.p50, reference.p50)
    meets = timing.p95 <= 10 and (not strict or (ratio is not None and ratio <= 0.02))
    target = "p95 <= 10 ms; ratio <= 0.02" if strict else "p95 <= 10 ms"
    return Row(
        name, timing.p50, timing.p95, "the same answer from raw activity rows", reference.p50, ratio, target, meets
    )


def insights_endpoints(ctx: Context) -> list[Row]:
    windows = _windows(ctx)
    rows = []
    for period in PERIODS:
        window = windows[period]
        params = {"start": window.start, "end": window.end}
        strict = period in ("12m", "all")
        for unit in ("week", "month"):
            rows.append(
                _row(
                    ctx,
                    f"activity timeseries interval={unit} {period}",
                    f"/api/v1/activity/timeseries/?period={period}&interval={unit}",
                    WEEK_OR_MONTH_SQL,
                    {**params, "unit": unit},
                    strict,
                )
            )
        rows.append(
            _row(
                ctx,
                f"activity timeseries kind=sdk {period}",
                f"/api/v1/activity/timeseries/?period={period}&kind=sdk",
                KIND_DAILY_SQL,
                {**params, "kind": SDK},
                strict,
            )
        )
        rows.append(
            _row(
                ctx,
                f"activity summary kind=sdk {period}",
                f"/api/v1/activity/summary/?period={period}&kind=sdk",
                KIND_CUMULATIVE_SQL,
                {**params, "kind": SDK},
                strict,
            )
        )
        rows.append(
            _row(
                ctx,
                f"activity top-users {period}",
                f"/api/v1/activity/top-users/?period={period}",
                TOP_USERS_SQL,
                params,
                strict,
            )
        )
    today = timezone.now().date()
    rows.append(
        _row(ctx, "activity engagement", "/api/v1/activity/engagement/", ENGAGEMENT_SQL, {"today": today}, True)
    )
    return rows


def _kind_filter(mask: int) -> str:
    return "true" if mask == 0 else f"(kinds & {mask}) <> 0"


def reference_full_refresh(ctx: Context):
    """Plain SQL of every figure the full refresh stores: per kind (any, the five, web) the daily
    counts; per period and kind the cumulative unique users (each member's first active day in the
    window); per ISO week and month and kind the unique users; each member's days and last day in
    each window (the leaderboards); DAU, WAU and MAU with their daily sums, today and 30 days
    earlier (engagement)."""
    windows = _windows(ctx)
    today = timezone.now().date()
    firsts = ", ".join(f"min(day) FILTER (WHERE {_kind_filter(mask)}) AS f{mask}" for mask in KIND_MASKS)
    choices = ", ".join(f"({mask}, f{mask})" for mask in KIND_MASKS)

    def run():
        with ctx.raw.transaction(force_rollback=True), ctx.raw.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE ref_figures (period text, kind int, day date, n bigint) ON COMMIT DROP")
            cursor.execute(
                "CREATE TEMP TABLE ref_days ON COMMIT DROP AS SELECT day, "
                + ", ".join(f"count(*) FILTER (WHERE {_kind_filter(mask)}) AS k{mask}" for mask in KIND_MASKS)
                + f" FROM {ACTIVITY} WHERE day <= %(today)s GROUP BY day",
                {"today": today},
            )
            for unit in ("week", "month"):
                cursor.execute(
                    f"CREATE TEMP TABLE ref_{unit}s ON COMMIT DROP AS SELECT date_trunc(%(unit)s, day)::date AS start, "
                    + ", ".join(
                        f"count(DISTINCT membership_id) FILTER (WHERE {_kind_filter(mask)}) AS k{mask}"
                        for mask in KIND_MASKS
                    )
                    + f" FROM {ACTIVITY} WHERE day <= %(today)s GROUP BY 1",
                    {"unit": unit, "today": today},
                )
            for period, window in windows.items():
                cursor.execute(
                    f"""INSERT INTO ref_figures
                        SELECT %(period)s, c.kind, d::date, coalesce(sum(c.n) OVER (PARTITION BY c.kind ORDER BY d), 0)
                        FROM generate_series(%(start)s::date, %(end)s::date, '1 day') AS d
                        LEFT JOIN (
                            SELECT k.kind, k.first_day, count(*) AS n
                            FROM (SELECT {firsts} FROM {ACTIVITY} WHERE day BETWEEN %(start)s AND %(end)s
                                  GROUP BY membership_id) AS f
                            CROSS JOIN LATERAL (VALUES {choices}) AS k(kind, first_day)
                            WHERE k.first_day IS NOT NULL GROUP BY k.kind, k.first_day
                        ) AS c ON c.first_day = d::date""",
                    {"period": period, "start": window.start, "end": window.end},
                )
                cursor.execute(
                    f"""CREATE TEMP TABLE ref_top_{period} ON COMMIT DROP AS
                        SELECT membership_id, count(*) AS days, max(day) AS last_day FROM {ACTIVITY}
                        WHERE day BETWEEN %(start)s AND %(end)s GROUP BY membership_id""",
                    {"start": window.start, "end": window.end},
                )
            cursor.execute(ENGAGEMENT_SQL, {"today": today})
            cursor.fetchall()

    return run


def insights_refresh(ctx: Context) -> list[Row]:
    # A full refresh of 100k x 730 takes minutes: two of each, as the first round's quick run.
    repetitions = 2
    full, reference = measure_pair(
        lambda: refresh_activity(full=True, wait=True),
        reference_full_refresh(ctx),
        repetitions=repetitions,
        warmup=0,
    )
    ratio = ratio_of(full.p50, reference.p50)
    rows = [
        Row(
            "full aggregate refresh, second round (per kind, weeks, months, leaderboards)",
            full.p50,
            full.p95,
            "plain SQL of the same figures (per-kind series, weeks, months, leaderboards, engagement)",
            reference.p50,
            ratio,
            "ratio <= 1.5",
            ratio is not None and ratio <= 1.5,
        )
    ]

    def rollover():
        # The first refresh after midnight: every period's window moves by one day.
        refresh_activity(today=timezone.now().date() + dt.timedelta(days=1), wait=True)

    rolled = measure(_undone(rollover), repetitions=max(3, repetitions), warmup=1)
    ratio = ratio_of(rolled.p50, full.p50)
    rows.append(
        Row(
            "incremental refresh: day rollover, second round (every window moves)",
            rolled.p50,
            rolled.p95,
            "the full refresh",
            full.p50,
            ratio,
            "<= 5% of the full refresh",
            ratio is not None and ratio <= 0.05,
        )
    )
    return rows
