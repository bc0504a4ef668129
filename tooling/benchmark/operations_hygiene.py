"""Seat hygiene in the benchmark: the dormancy preview (the same plan the daily run follows) and a
usage report's figures, each beside the same rows read in raw SQL."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils import timezone

from hygiene.selectors import last_full_period, usage_figures
from tooling.benchmark.harness import Row, measure_pair, ratio_of

if TYPE_CHECKING:  # operations.py imports this module to list it
    from tooling.benchmark.operations import Context

# PERFORMANCE.md sets no target for these: the rows show how they grow with the org.
INFORMATIONAL = "none (informational)"
# The default terms: 90 days, warn 7 before, admins exempt.
PREVIEW_SQL = """
    SELECT count(*) FROM (
        SELECT greatest(coalesce(m.last_active, m.created_at),
                        (SELECT max(a.created_at) FROM accounts_auditevent a
                          WHERE a.target_membership_id = m.id AND a.action = 'membership.reactivate')) AS quiet_since
        FROM accounts_membership m
        WHERE m.state = 'joined' AND m.role <> 'admin' AND coalesce(m.last_active, m.created_at) < %(warn_from)s
    ) q WHERE q.quiet_since < %(warn_from)s
"""
FIGURES_SQL = """
    SELECT (SELECT count(DISTINCT membership_id) FROM activity_activityday WHERE day BETWEEN %(start)s AND %(end)s),
           (SELECT count(DISTINCT membership_id) FROM activity_activityday
             WHERE day BETWEEN %(previous_start)s AND %(previous_end)s),
           (SELECT count(*) FROM (SELECT membership_id FROM activity_activityday WHERE day BETWEEN %(start)s AND %(end)s
             GROUP BY membership_id ORDER BY count(*) DESC, max(day) DESC, membership_id LIMIT 10) top)
"""


def dormancy_preview(ctx: Context) -> list[Row]:
    today = timezone.now().date()
    warn_from = dt.datetime.combine(today - dt.timedelta(days=82), dt.time.min, tzinfo=dt.UTC)
    timing, ref = measure_pair(
        lambda: ctx.get("/api/v1/settings/dormancy/preview/"),
        lambda: ctx.sql(PREVIEW_SQL, {"warn_from": warn_from}),
        repetitions=max(5, ctx.repetitions // 4),
        warmup=2,
    )
    return [
        Row(
            "dormancy preview (90 days, warn 7 before)",
            timing.p50,
            timing.p95,
            "the candidates counted in raw SQL",
            ref.p50,
            ratio_of(timing.p50, ref.p50),
            INFORMATIONAL,
            True,
        )
    ]


def usage_report_figures(ctx: Context) -> list[Row]:
    period = last_full_period(frequency="monthly", today=timezone.now().date())
    params = {
        "start": period.start,
        "end": period.end,
        "previous_start": period.previous.start,
        "previous_end": period.previous.end,
    }
    # In the org's schema (the command runs inside it), as the worker computes them.
    timing, ref = measure_pair(
        lambda: usage_figures(period=period, now=timezone.now()),
        lambda: ctx.sql(FIGURES_SQL, params),
        repetitions=max(5, ctx.repetitions // 4),
        warmup=2,
    )
    return [
        Row(
            "usage report figures (last month)",
            timing.p50,
            timing.p95,
            "active users, previous and top 10 in raw SQL",
            ref.p50,
            ratio_of(timing.p50, ref.p50),
            INFORMATIONAL,
            True,
        )
    ]


def seat_hygiene(ctx: Context) -> list[Row]:
    return dormancy_preview(ctx) + usage_report_figures(ctx)
