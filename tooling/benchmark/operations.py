"""The operations of PERFORMANCE.md, each run through the real stack beside its reference.

Requests go through Django's full handler (middleware, tenant routing, authentication, DRF) with
a real API key; references talk to PostgreSQL directly through psycopg, without the ORM.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tooling.benchmark import operations_hygiene, operations_insights, operations_people, operations_scim
from tooling.benchmark.harness import PeakRss, Row, measure, measure_pair, ratio_of

STATUS_SQL = """
    CASE
        WHEN m.state = 'invited' THEN 'invite_pending'
        WHEN m.state = 'deactivated' THEN 'deactivated'
        WHEN m.last_active >= %(cutoff)s OR m.created_at >= %(cutoff)s THEN 'active'
        ELSE 'inactive'
    END
"""
STATUS_RANK_SQL = """
    CASE
        WHEN m.state = 'invited' THEN 0
        WHEN m.state = 'deactivated' THEN 3
        WHEN m.last_active >= %(cutoff)s OR m.created_at >= %(cutoff)s THEN 1
        ELSE 2
    END
"""
USER_COLUMNS = f"""
    m.id, m.username, m.name, m.email, m.role, {STATUS_SQL} AS status, m.last_active, m.created_at,
    m.days_active, m.invited_by_email, m.deactivated_at
"""


@dataclass
class Context:
    """What every operation needs: a client with an admin's key, a raw connection, the org."""

    client: Client
    auth: dict
    raw: psycopg.Connection
    schema: str
    slug: str
    repetitions: int
    quick: bool

    def get(self, path: str, **headers):
        response = self.client.get(path, **self.auth, **headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.content[:300]!r}")
        return response

    def sql(self, query: str, params=None, *, prepare: bool | None = None) -> list[tuple]:
        with self.raw.cursor() as cursor:
            cursor.execute(query, params or {}, prepare=prepare)
            return cursor.fetchall()


def six_months_ago() -> dt.datetime:
    return timezone.now() - relativedelta(months=6)


def raw_connection(schema: str) -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    params.pop("server_side_binding", None)
    raw = psycopg.connect(**params, autocommit=True)
    raw.execute(f'SET search_path TO "{schema}", public')
    return raw


def _list_row(
    ctx: Context,
    *,
    name: str,
    query: str,
    sql_order: str,
    where: str = "",
    params=None,
    target: str,
    p95_limit: float,
    ratio_limit: float | None,
) -> Row:
    params = {"cutoff": six_months_ago(), **(params or {})}
    page_sql = f"SELECT {USER_COLUMNS} FROM accounts_membership m {where} ORDER BY {sql_order} LIMIT 50"
    count_sql = f"SELECT count(*) FROM accounts_membership m {where}"

    def reference():
        ctx.sql(page_sql, params)
        ctx.sql(count_sql, params)

    timing, ref = measure_pair(
        lambda: ctx.get(f"/api/v1/users/?{query}"), reference, repetitions=ctx.repetitions, warmup=10
    )
    ratio = ratio_of(timing.p50, ref.p50)
    meets = timing.p95 <= p95_limit and (ratio_limit is None or (ratio is not None and ratio <= ratio_limit))
    return Row(name, timing.p50, timing.p95, "same page + count in raw SQL (psycopg)", ref.p50, ratio, target, meets)


def users_list(ctx: Context) -> list[Row]:
    return [
        _list_row(
            ctx,
            name="users list: 50 rows, -last_active",
            query="ordering=-last_active&page_size=50",
            sql_order="m.last_active DESC NULLS LAST, m.id",
            target="p95 <= 20 ms; ratio <= 4",
            p95_limit=20,
            ratio_limit=4,
        )
    ]


def search_term(ctx: Context) -> str:
    """A realistic substring: three letters from the middle of some member's name."""
    rows = ctx.sql(
        "SELECT name FROM accounts_membership WHERE name IS NOT NULL AND length(name) > 6 "
        "ORDER BY id LIMIT 1 OFFSET (SELECT count(*) / 2 FROM accounts_membership)"
    )
    name = rows[0][0] if rows else "ann"
    return name[1:4].lower()


def users_search(ctx: Context) -> list[Row]:
    from accounts.selectors import SPARSE_MATCHES

    term = search_term(ctx)
    # The statements the API sends: the search column (upper-cased email, username and name, with
    # a trigram index) LIKE the upper-cased term; a search with few matches is sorted rather than
    # read in index order.
    where = "WHERE m.search_text LIKE UPPER(%(pattern)s)"
    params = {"pattern": f"%{term}%"}
    matches = ctx.sql(f"SELECT count(*) FROM accounts_membership m {where}", params)[0][0]
    sort_key = "(m.last_active + interval '0')" if matches <= SPARSE_MATCHES else "m.last_active"
    return [
        _list_row(
            ctx,
            name=f"users search ({term!r}, {matches} matches)",
            query=f"search={term}&page_size=50",
            where=where,
            params=params,
            sql_order=f"{sort_key} DESC NULLS LAST, m.id",
            target="p95 <= 40 ms",
            p95_limit=40,
            ratio_limit=None,
        )
    ]


def users_sorted(ctx: Context) -> list[Row]:
    return [
        _list_row(
            ctx,
            name="users list sorted by status",
            query="ordering=status&page_size=50",
            sql_order=f"{STATUS_RANK_SQL}, m.id",
            target="p95 <= 25 ms",
            p95_limit=25,
            ratio_limit=None,
        ),
        _list_row(
            ctx,
            name="users list sorted by name",
            query="ordering=name&page_size=50",
            sql_order="lower(m.name) ASC NULLS LAST, m.id",
            target="p95 <= 25 ms",
            p95_limit=25,
            ratio_limit=None,
        ),
    ]


def _csv_text(column: str) -> str:
    formula_start = "('=', '+', '-', '@', E'\\t', E'\\r')"
    return f"CASE WHEN left({column}, 1) IN {formula_start} THEN '''' || {column} ELSE {column} END"


def _csv_time(column: str) -> str:
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"


def csv_export(ctx: Context) -> list[Row]:
    # The reference writes the same file as the endpoint, byte for byte (checked below): the same
    # rows in the list's default order, formatted in SQL as API.md requires. What the ratio then
    # measures is everything orgdash adds on top of PostgreSQL writing that file.
    same_file_sql = (
        f"COPY (SELECT {_csv_text('m.username')} AS username, {_csv_text('m.name')} AS name, "
        f"{_csv_text('m.email')} AS email, m.role AS role, {STATUS_SQL} AS status, "
        f"{_csv_time('m.last_active')} AS last_active, {_csv_time('m.created_at')} AS added, "
        f"m.days_active AS days_active, {_csv_text('m.invited_by_email')} AS invited_by, "
        f"{_csv_time('m.deactivated_at')} AS deactivated_at "
        "FROM accounts_membership m ORDER BY m.last_active DESC NULLS LAST, m.id) TO STDOUT WITH (FORMAT csv, HEADER)"
    )
    # Also reported: the bare rows, unformatted and in id order (PostgreSQL's floor for any export).
    bare_rows_sql = (
        f"COPY (SELECT m.username, m.name, m.email, m.role, {STATUS_SQL}, m.last_active, m.created_at, "
        "m.days_active, m.invited_by_email, m.deactivated_at FROM accounts_membership m ORDER BY m.id) "
        "TO STDOUT WITH CSV HEADER"
    )

    def export(digest=None):
        response = ctx.client.get("/api/v1/users/export.csv", **ctx.auth)
        size = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            if digest is not None:
                digest.update(chunk)
        return size

    def copy_out(sql: str, digest=None):
        with psycopg.ClientCursor(ctx.raw) as cursor:
            query = cursor.mogrify(sql, {"cutoff": six_months_ago()})
            with cursor.copy(query) as copy:
                for row in copy:
                    if digest is not None:
                        digest.update(row)

    with PeakRss() as memory:
        export()
    exported, copied = hashlib.sha256(), hashlib.sha256()
    export(exported)
    copy_out(same_file_sql, copied)
    same_bytes = exported.digest() == copied.digest()

    repetitions = 2 if ctx.quick else 5
    timing, ref = measure_pair(export, lambda: copy_out(same_file_sql), repetitions=repetitions, warmup=1)
    bare = measure(lambda: copy_out(bare_rows_sql), repetitions=repetitions, warmup=1)
    ratio = ratio_of(timing.p50, ref.p50)
    meets = same_bytes and ratio is not None and ratio <= 1.5 and memory.growth_mb <= 50
    return [
        Row(
            "CSV export, all users",
            timing.p50,
            timing.p95,
            "COPY (same rows, same order, same text) TO STDOUT WITH CSV",
            ref.p50,
            ratio,
            "ratio <= 1.5; peak RSS growth <= 50 MB",
            meets,
            {
                "peak_rss_growth_mb": round(memory.growth_mb, 1),
                "same_bytes_as_reference": same_bytes,
                "bare_copy_p50_ms": round(bare.p50, 2),
                "ratio_to_bare_copy": round(timing.p50 / bare.p50, 3) if bare.p50 else None,
            },
        )
    ]


PERIODS = ("30d", "3m", "6m", "12m", "all")


def activity_endpoints(ctx: Context) -> list[Row]:
    from activity.periods import period_window

    rows = []
    org_created = ctx.sql(
        "SELECT created_at::date FROM public.core_organization WHERE schema_name = %(s)s", {"s": ctx.schema}
    )[0][0]
    for endpoint in ("summary", "timeseries"):
        for period in PERIODS:
            first_day = ctx.sql("SELECT min(day) FROM activity_activityday")[0][0]
            window = period_window(
                period, today=timezone.now().date(), first_activity_day=first_day, created_day=org_created
            )
            start, end = window.start, window.end
            if endpoint == "summary":
                reference_sql = (
                    "WITH firsts AS (SELECT membership_id, min(day) AS first_day FROM activity_activityday "
                    "WHERE day BETWEEN %(start)s AND %(end)s GROUP BY membership_id), "
                    "per_day AS (SELECT first_day, count(*) AS n FROM firsts GROUP BY first_day) "
                    "SELECT d::date, coalesce(sum(p.n) OVER (ORDER BY d), 0) FROM "
                    "generate_series(%(start)s::date, %(end)s::date, '1 day') d "
                    "LEFT JOIN per_day p ON p.first_day = d::date ORDER BY d"
                )
            else:
                reference_sql = (
                    "SELECT d::date, count(a.membership_id) FROM generate_series(%(start)s::date, %(end)s::date, "
                    "'1 day') d LEFT JOIN activity_activityday a ON a.day = d::date GROUP BY d ORDER BY d"
                )
            params = {"start": start, "end": end}
            reps = max(5, ctx.repetitions // 4) if period in ("12m", "all") else ctx.repetitions
            timing = measure(
                lambda e=endpoint, p=period: ctx.get(f"/api/v1/activity/{e}/?period={p}"), repetitions=ctx.repetitions
            )
            ref = measure(lambda q=reference_sql, pr=params: ctx.sql(q, pr), repetitions=reps, warmup=1)
            ratio = ratio_of(timing.p50, ref.p50)
            strict = period in ("12m", "all")
            meets = timing.p95 <= 10 and (not strict or (ratio is not None and ratio <= 0.02))
            target = "p95 <= 10 ms; ratio <= 0.02" if strict else "p95 <= 10 ms"
            rows.append(
                Row(
                    f"activity {endpoint} {period}",
                    timing.p50,
                    timing.p95,
                    "the same answer computed from raw activity rows",
                    ref.p50,
                    ratio,
                    target,
                    meets,
                )
            )
    return rows


def query_counts(ctx: Context) -> list[Row]:
    """SQL statements per request must not grow with the page size (no N+1)."""
    rows = []
    checks = [
        ("users list", "/api/v1/users/?page_size=5", "/api/v1/users/?page_size=500"),
        (
            "users list by status",
            "/api/v1/users/?ordering=status&page_size=5",
            "/api/v1/users/?ordering=status&page_size=500",
        ),
        ("users search", "/api/v1/users/?search=a&page_size=5", "/api/v1/users/?search=a&page_size=500"),
        ("activity summary", "/api/v1/activity/summary/?period=30d", "/api/v1/activity/summary/?period=all"),
        ("activity timeseries", "/api/v1/activity/timeseries/?period=30d", "/api/v1/activity/timeseries/?period=all"),
    ]
    for name, small, large in checks:
        counts = []
        for path in (small, large):
            ctx.get(path)
            with CaptureQueriesContext(connection) as queries:
                ctx.get(path)
            counts.append(len(queries.captured_queries))
        rows.append(
            Row(
                f"SQL queries per request: {name}",
                0.0,
                0.0,
                "-",
                None,
                None,
                "constant in page size / period",
                counts[0] == counts[1],
                {"queries_small": counts[0], "queries_large": counts[1]},
            )
        )
    return rows


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


def aggregate_refresh(ctx: Context) -> list[Row]:
    from activity.aggregates import refresh_activity
    from activity.models import ActivityDirtyDay

    repetitions = 2 if ctx.quick else 5
    full, reference = measure_pair(
        lambda: refresh_activity(full=True, wait=True),
        operations_insights.reference_full_refresh(ctx),
        repetitions=repetitions,
        warmup=1,
    )
    full_ratio = ratio_of(full.p50, reference.p50)
    rows = [
        Row(
            "full aggregate refresh (all periods, all days)",
            full.p50,
            full.p95,
            "plain SQL computing the same aggregates",
            reference.p50,
            full_ratio,
            "ratio <= 1.5",
            full_ratio is not None and full_ratio <= 1.5,
        )
    ]

    def new_day_of_activity():
        # Activity arrived for today: recording marks the day dirty; the refresh picks it up.
        ActivityDirtyDay.objects.get_or_create(day=timezone.now().date())
        refresh_activity(wait=True)

    incremental = measure(new_day_of_activity, repetitions=ctx.repetitions // 4 or 5, warmup=1)
    ratio = ratio_of(incremental.p50, full.p50)
    rows.append(
        Row(
            "incremental refresh: new activity on one day",
            incremental.p50,
            incremental.p95,
            "the full refresh",
            full.p50,
            ratio,
            "<= 5% of the full refresh",
            ratio is not None and ratio <= 0.05,
        )
    )

    def rollover():
        # The first refresh after midnight: every period's window moves by one day.
        refresh_activity(today=timezone.now().date() + dt.timedelta(days=1), wait=True)

    rolled = measure(_undone(rollover), repetitions=repetitions, warmup=1)
    ratio = ratio_of(rolled.p50, full.p50)
    rows.append(
        Row(
            "incremental refresh: day rollover (windows move)",
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


def activity_recording(ctx: Context) -> list[Row]:
    """The same authenticated request with recording on and off; writes undone afterwards."""
    from django.test.utils import override_settings

    from activity.recording import recorder

    member_id = ctx.sql("SELECT id FROM accounts_membership WHERE state = 'joined' ORDER BY id LIMIT 1")[0][0]
    path = f"/api/v1/users/{member_id}/"

    def recording_on():
        with override_settings(ORGDASH_ACTIVITY_RECORDING=True):
            ctx.get(path)

    def recording_off():
        with override_settings(ORGDASH_ACTIVITY_RECORDING=False):
            ctx.get(path)

    writes = []
    try:
        with transaction.atomic():
            with CaptureQueriesContext(connection) as queries:
                for _ in range(50):
                    recording_on()
            writes = [
                q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))
            ]
            on, off = measure_pair(recording_on, recording_off, repetitions=max(ctx.repetitions * 3, 100))
            raise _Rollback
    except _Rollback:
        pass
    finally:
        recorder.forget(redis_keys=True)
    added = on.p50 - off.p50
    share = ratio_of(on.p50, off.p50)
    meets = share is not None and share <= 1.05 and added <= 0.3 and len(writes) <= 2
    return [
        Row(
            "activity recording on an authenticated request",
            on.p50,
            on.p95,
            "the same request, recording off",
            off.p50,
            share,
            "<= 5% and <= 0.3 ms added at p50; <= 1 day-row write + throttled last-active",
            meets,
            {"added_p50_ms": round(added, 4), "writes_in_50_requests": len(writes)},
        )
    ]


def ingestion(ctx: Context) -> list[Row]:
    """100k events in batches of 1,000 through the API against COPY + one upsert; both undone."""
    import json
    import random

    total = 20_000 if ctx.quick else 100_000
    members = [
        row[0] for row in ctx.sql("SELECT email FROM accounts_membership WHERE state = 'joined' ORDER BY id LIMIT 5000")
    ]
    rng = random.Random(7)
    now = timezone.now()
    kinds = ["login", "page_view", "run_logged", "sdk", "api"]
    events = [
        {
            "user": rng.choice(members),
            "kind": rng.choice(kinds),
            "timestamp": (now - dt.timedelta(minutes=rng.randrange(1, 60 * 24 * 60))).isoformat(),
        }
        for _ in range(total)
    ]
    batches = [json.dumps({"events": events[i : i + 1000]}) for i in range(0, total, 1000)]
    bits = {"login": 1, "page_view": 2, "run_logged": 4, "sdk": 8, "api": 16}

    def through_api():
        for body in batches:
            response = ctx.client.post("/api/v1/activity/events/", body, content_type="application/json", **ctx.auth)
            if response.status_code != 202:
                raise RuntimeError(f"ingestion answered {response.status_code}: {response.content[:200]!r}")

    def floor_for(chunk):
        with ctx.raw.transaction(force_rollback=True), ctx.raw.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE staging (email text, kinds smallint, at timestamptz) ON COMMIT DROP")
            with cursor.copy("COPY staging (email, kinds, at) FROM STDIN") as copy:
                for event in chunk:
                    copy.write_row((event["user"], bits[event["kind"]], event["timestamp"]))
            cursor.execute(
                "INSERT INTO activity_activityday (membership_id, day, kinds, first_seen, last_seen) "
                "SELECT m.id, (s.at AT TIME ZONE 'UTC')::date, bit_or(s.kinds), min(s.at), max(s.at) "
                "FROM staging s JOIN accounts_membership m ON m.email = s.email "
                "GROUP BY m.id, (s.at AT TIME ZONE 'UTC')::date "
                "ON CONFLICT (membership_id, day) DO UPDATE SET kinds = activity_activityday.kinds | EXCLUDED.kinds, "
                "first_seen = LEAST(activity_activityday.first_seen, EXCLUDED.first_seen), "
                "last_seen = GREATEST(activity_activityday.last_seen, EXCLUDED.last_seen)"
            )

    def floor():
        # The same work as the API does: the same batches of 1,000, each its own COPY + upsert.
        for start in range(0, total, 1000):
            floor_for(events[start : start + 1000])

    single = measure(lambda: floor_for(events), repetitions=1, warmup=0)

    repetitions = 1 if ctx.quick else 3
    api, reference = measure_pair(_undone(through_api), floor, repetitions=repetitions, warmup=0)
    ratio = ratio_of(api.p50, reference.p50)
    return [
        Row(
            f"ingestion: {total:,} events in batches of 1,000",
            api.p50,
            api.p95,
            "per batch: COPY into a staging table + one upsert into the day rows",
            reference.p50,
            ratio,
            "ratio <= 2",
            ratio is not None and ratio <= 2,
            {
                "events": total,
                "single_copy_p50_ms": round(single.p50, 2),
                "ratio_to_single_copy": round(api.p50 / single.p50, 3) if single.p50 else None,
            },
        )
    ]


OPERATIONS: list[tuple[str, Callable[[Context], list[Row]], bool]] = [
    # (name, function, part of --quick)
    ("users_list", users_list, True),
    ("users_search", users_search, True),
    ("users_sorted", users_sorted, True),
    ("csv_export", csv_export, False),
    ("activity_endpoints", activity_endpoints, True),
    ("query_counts", query_counts, True),
    ("aggregate_refresh", aggregate_refresh, False),
    ("activity_recording", activity_recording, True),
    ("ingestion", ingestion, True),
    ("scim_users", operations_scim.scim_users, True),
    ("person_activity", operations_people.person_activity, True),
    ("bulk_deactivate", operations_people.bulk_deactivate, True),
    ("seat_hygiene", operations_hygiene.seat_hygiene, True),
    ("insights_endpoints", operations_insights.insights_endpoints, True),
    ("insights_refresh", operations_insights.insights_refresh, False),
]


def database_settings_summary() -> str:
    db = settings.DATABASES["default"]
    return f"{db.get('HOST') or 'local'}/{db['NAME']}"
