"""PERFORMANCE.md rows for people: one person's activity and bulk deactivation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from activity.periods import period_window
from tooling.benchmark.harness import Row, measure, measure_pair, quiet_logger, ratio_of

if TYPE_CHECKING:  # operations.py imports this module to list its operations
    from tooling.benchmark.operations import Context

BULK_SIZE = 1000


class _Rollback(Exception):
    pass


def _undone(run: Callable[[], object]) -> Callable[[], object]:
    """Runs ``run`` in a transaction that is rolled back (requests go through the same connection)."""

    def wrapper():
        try:
            with transaction.atomic():
                run()
                raise _Rollback
        except _Rollback:
            pass

    return wrapper


def person_activity(ctx: Context) -> list[Row]:
    """``users/<id>/activity/?period=all`` for the member with the most active days, against the
    same day rows read in raw SQL."""
    member_id, days_active = ctx.sql(
        "SELECT id, days_active FROM accounts_membership ORDER BY days_active DESC, id LIMIT 1"
    )[0]
    created = ctx.sql(
        "SELECT created_at::date FROM public.core_organization WHERE schema_name = %(s)s", {"s": ctx.schema}
    )
    first_day = ctx.sql("SELECT min(day) FROM activity_activityday")[0][0]
    window = period_window("all", today=timezone.now().date(), first_activity_day=first_day, created_day=created[0][0])
    reference_sql = (
        "SELECT day, kinds FROM activity_activityday WHERE membership_id = %(m)s "
        "AND day BETWEEN %(start)s AND %(end)s ORDER BY day"
    )
    params = {"m": member_id, "start": window.start, "end": window.end}
    # Measured as the request's own statements are sent: unprepared (Django binds parameters on the
    # client, so every request parses and plans). psycopg would otherwise prepare the reference on
    # its fifth run and skip that; its prepared time is kept beside it.
    timing, reference = measure_pair(
        lambda: ctx.get(f"/api/v1/users/{member_id}/activity/?period=all"),
        lambda: ctx.sql(reference_sql, params, prepare=False),
        repetitions=ctx.repetitions,
        warmup=5,
    )
    prepared = measure(lambda: ctx.sql(reference_sql, params, prepare=True), repetitions=ctx.repetitions)
    # What any request of this endpoint costs before its rows: host, key, admin check, one statement.
    with quiet_logger("django.request"):
        floor = measure(
            lambda: ctx.client.get("/api/v1/users/0/activity/?period=all", **ctx.auth), repetitions=ctx.repetitions
        )
    ratio = ratio_of(timing.p50, reference.p50)
    return [
        Row(
            f"person activity, period=all ({days_active} active days)",
            timing.p50,
            timing.p95,
            "the same day rows in raw SQL (psycopg)",
            reference.p50,
            ratio,
            "ratio <= 3",
            ratio is not None and ratio <= 3,
            {
                "days_active": days_active,
                "reference_prepared_p50_ms": round(prepared.p50, 4),
                "request_without_rows_p50_ms": round(floor.p50, 4),
            },
        )
    ]


def bulk_deactivate(ctx: Context) -> list[Row]:
    """``POST users/bulk/`` deactivating 1,000 people against 1,000 single ``deactivate`` calls;
    each run is rolled back, so the org is left as it was found."""
    ids = [
        row[0]
        for row in ctx.sql(
            "SELECT id FROM accounts_membership WHERE state = 'joined' AND role <> 'admin' ORDER BY id LIMIT %(n)s",
            {"n": BULK_SIZE},
        )
    ]
    if len(ids) < BULK_SIZE:
        raise RuntimeError(f"the org has only {len(ids)} joined non-admin members; {BULK_SIZE} are needed")
    body = json.dumps({"action": "deactivate", "ids": ids})

    def bulk():
        response = ctx.client.post("/api/v1/users/bulk/", body, content_type="application/json", **ctx.auth)
        if response.status_code != 200 or len(response.json()["done"]) != BULK_SIZE:
            raise RuntimeError(f"bulk answered {response.status_code}: {response.content[:300]!r}")

    def singles():
        for pk in ids:
            response = ctx.client.post(f"/api/v1/users/{pk}/deactivate/", **ctx.auth)
            if response.status_code != 200:
                raise RuntimeError(f"deactivate answered {response.status_code}: {response.content[:300]!r}")

    repetitions = 1 if ctx.quick else 3
    timing, reference = measure_pair(_undone(bulk), _undone(singles), repetitions=repetitions, warmup=0)
    ratio = ratio_of(timing.p50, reference.p50)
    return [
        Row(
            f"users/bulk/ deactivating {BULK_SIZE:,} people",
            timing.p50,
            timing.p95,
            f"{BULK_SIZE:,} single POST users/<id>/deactivate/ calls",
            reference.p50,
            ratio,
            "ratio <= 0.2",
            ratio is not None and ratio <= 0.2,
        )
    ]
