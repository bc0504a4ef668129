"""The activity aggregates of the current org's schema, and their refresh.

The tables the Activity tab and its API read:
  * ``DayFigures``       per day and kind (0: any): users active, users active for the first time,
                         and ``new_after[j]``: those whose previous active day (with that kind) is
                         more than ``j`` days earlier, or who have none;
  * ``PeriodFigures``    per period and kind: the window, the daily counts and the cumulative
                         unique users from the window's start through each day;
  * ``BucketFigures``    per ISO week and calendar month and kind: unique users;
  * ``MemberPeriodDays`` per period: each member's active days in the window (the leaderboard);
  * ``PeriodLeaders``    per period: the head of the leaderboard, which ``top-users`` reads;
  * ``AggregateState``   the refresh that produced them, and the engagement figures (DAU/WAU/MAU).
``MemberFirstDays`` (each member's first active day per kind) is the refresh's own bookkeeping.

Why ``new_after``: a member active on day ``x`` is new to a window starting on ``s`` exactly when
their previous active day is before ``s``, i.e. more than ``x - s`` days earlier. So the unique
users of any window ``[s, e]`` are ``sum(new_after[x - s] for x in s..e)`` (all of day ``s``'s
actives on ``x = s``; for windows longer than the horizon, which start before any activity, the
first-time users). Every period's series, each week's and month's uniques, WAU and MAU are sums
over a few hundred small rows, with no member's history read. A day's row depends only on that
day's members and their previous active day (one index probe each), so a new day, or a window
that moves by a day, costs one day of work.

A refresh runs in one transaction under a per-org advisory lock: an interrupted refresh leaves the
previous figures untouched, a rerun recomputes from the same rows and so gives identical figures,
and two refreshes of one org never interleave. Everything is computed in SQL over the day rows.

Incremental refresh. The changed days are those recorded in ``ActivityDirtyDay`` since the last
refresh plus every day from the last refresh's "today" through this one (after midnight, that
day only when its rows changed since: kinds added to a row leave no mark, so its counts tell).
A backfilled past day also changes the day rows of the next active day (per kind) of its
members, and of their old first day when it moved earlier: those days are recomputed too.
Buckets holding a recomputed day are recomputed; period figures are always rebuilt from the day
rows (a few hundred rows).
The leaderboard is kept by deltas: days dropped from a window are subtracted, new days added
once per member (``last_active`` says what is counted), and members of backfilled days recounted.
Its head is kept by the same deltas: every member not in it ranks below its lowest entry, so only
members whose count rose (those of the new and backfilled days) can join it, and it is rebuilt
from the leaderboard when fewer than the API's largest page (100) are left in it.

A full refresh reads the day rows twice: once in (member, day) order for every row's previous
active day per kind, counted straight into a small histogram per kind, and once per member for
the first days and the leaderboards, of which it writes only the rows that change.
"""

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.utils import timezone

from activity.models import (
    AGGREGATE_KINDS,
    HORIZON_DAYS,
    KIND_ANY,
    KIND_WEB,
    ActivityDay,
    ActivityDirtyDay,
    ActivityKind,
    AggregateState,
    BucketFigures,
    DayFigures,
    MemberFirstDays,
    MemberPeriodDays,
    PeriodFigures,
    PeriodLeaders,
)
from activity.periods import PERIODS, Window, period_window, today_utc
from orgdash.core.models import Organization

logger = logging.getLogger(__name__)

ACTIVITY = ActivityDay._meta.db_table
DIRTY = ActivityDirtyDay._meta.db_table
DAYS = DayFigures._meta.db_table
FIRSTS = MemberFirstDays._meta.db_table
PERIOD_FIGURES = PeriodFigures._meta.db_table
BUCKETS = BucketFigures._meta.db_table
LEADERBOARD = MemberPeriodDays._meta.db_table
LEADERS = PeriodLeaders._meta.db_table
STATE = AggregateState._meta.db_table

# The first-day column of each aggregate kind (0: any kind).
FIRST_COLUMNS = {
    KIND_ANY: "first_any",
    **{kind.value: f"first_{kind.label}" for kind in ActivityKind},
    KIND_WEB: "first_web",
}

LOCK_SQL = "hashtext('orgdash.activity-refresh'), hashtext(%s)"
# A full refresh at least this often also catches changes nobody marked dirty (deleted members).
FULL_REFRESH_INTERVAL = dt.timedelta(hours=24)
FULL_REFRESH_WORK_MEM = "128MB"
# How many members a rebuilt leaderboard head holds, and the fewest it may keep (``top-users``
# serves at most 100): the margin lets most day rollovers keep the head without a rebuild.
LEADERS_KEPT = 1000
LEADERS_SERVED = 100


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
            f"{kind} refresh for {self.computed_for_day}: {self.days_recomputed} days (leaderboards: {plans})"
            f" in {self.duration_ms:.0f} ms"
        )


@dataclass(frozen=True)
class _Plan:
    """How one period's leaderboard is brought up to date: rebuilt, or kept with the days in
    ``[shift_from, window.start)`` subtracted and the new days added."""

    period: str
    window: Window
    rebuild: bool
    shift_from: dt.date | None = None

    @property
    def describe(self) -> str:
        if self.rebuild:
            return "rebuilt"
        return "shifted" if self.shift_from else "kept"


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
        stored = {
            row.period: Window(row.start, row.end)
            for row in PeriodFigures.objects.filter(kind=0).only("period", "start", "end")
        }
        if set(stored) != set(PERIODS):
            full = True
        if full:
            # The one pass sorts every day row by member: in memory rather than on disk.
            cursor.execute(f"SET LOCAL work_mem = '{FULL_REFRESH_WORK_MEM}'")
            backfilled: list[dt.date] = []
            new_days: list[dt.date] = []
            days_recomputed = _recompute_all_days(cursor, today=today)
            _recompute_buckets(cursor, days=None)
            first_changed_day = None
        else:
            backfilled = sorted({day for day in dirty_days if day < state.computed_for_day})
            new_days = _days(state.computed_for_day, today)
            last_day = state.computed_for_day
            if today > last_day and last_day not in dirty_days and _day_unchanged(cursor, last_day):
                # The windows moved and the last refresh's day is as it counted it: its day rows,
                # its members' first days and their leaderboard rows stay.
                new_days = new_days[1:]
            affected = _days_affected_by_backfill(cursor, backfilled, today=today)
            _update_first_days(cursor, backfilled + new_days)
            days = sorted(set(backfilled) | set(new_days) | affected)
            _recompute_days(cursor, days)
            _recompute_buckets(cursor, days=days)
            days_recomputed = len(days)
            first_changed_day = days[0] if days else None

        first_activity_day = _first_activity_day(cursor)
        created_day = organization_created_day()
        windows = {
            period: period_window(period, today=today, first_activity_day=first_activity_day, created_day=created_day)
            for period in PERIODS
        }
        first_points = {
            period: _first_point_to_write(window, stored.get(period), state, first_changed_day=first_changed_day)
            for period, window in windows.items()
        }
        _write_period_figures(cursor, windows, first_points)
        plans = [_plan(period, window, stored.get(period), state, full=full) for period, window in windows.items()]
        if full:
            _rebuild_first_days_and_leaderboards(cursor, plans, today=today)
            _rebuild_leaders(cursor, list(PERIODS))
        else:
            raised = _refresh_leaderboards(cursor, plans, backfilled=backfilled, new_days=new_days)
            _refresh_leaders(cursor, plans, raised=raised, backfilled=backfilled)
        engagement = _engagement(cursor, today=today)

        duration_ms = (time.perf_counter() - started) * 1000
        recorded = {
            "computed_at": now,
            "computed_for_day": today,
            "last_full_refresh_at": now if full else state.last_full_refresh_at,
            "last_duration_ms": round(duration_ms),
            "engagement": engagement,
        }
        # The row was read under the lock: one UPDATE, or the first refresh's INSERT.
        if state is None:
            AggregateState.objects.create(pk=1, **recorded)
        else:
            AggregateState.objects.filter(pk=1).update(**recorded)
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


def stickiness(*, daily_sum: int, days: int, unique: int) -> float:
    """Mean daily actives over ``days`` days divided by their unique actives, to 3 places (0 when none)."""
    if unique == 0:
        return 0.0
    return float((Decimal(daily_sum) / days / unique).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


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


def _kind_test(kind: int, alias: str) -> str:
    return "true" if kind == 0 else f"({alias}.kinds & {kind}) <> 0"


def _first_days_select(where: str) -> str:
    columns = ", ".join(
        f"min(a.day) FILTER (WHERE {_kind_test(kind, 'a')}) AS {column}" for kind, column in FIRST_COLUMNS.items()
    )
    return f"SELECT a.membership_id, {columns} FROM {ACTIVITY} AS a WHERE {where} GROUP BY a.membership_id"


# Gap codes of the histogram ``hist(x, kind, g, n)``: ``g`` in 1..HORIZON is the days since the
# member's previous active day with that kind; further back, or never, get a code of their own.
BEYOND_HORIZON = HORIZON_DAYS + 1
NEVER_BEFORE = HORIZON_DAYS + 2

# The day rows from the gap histogram. ``new_after[j]`` is the day's actives minus those whose gap
# is at most ``j``: each histogram step holds that value from its gap up to the next one, so the
# dense array is filled step by step (no join of every ``j`` against the histogram).
_DAY_ROWS_FROM_HISTOGRAM = f"""
totals AS (
    SELECT x, kind, sum(n) AS active,
           coalesce(sum(n) FILTER (WHERE g = {NEVER_BEFORE}), 0) AS first_time,
           coalesce(sum(n) FILTER (WHERE g > {HORIZON_DAYS}), 0) AS beyond
    FROM hist GROUP BY x, kind
),
steps AS (
    -- A step at gap 0 per day and kind starts the array at the day's actives.
    SELECT h.x, h.kind, h.g, t.active - sum(h.n) OVER w AS after, lead(h.g) OVER w AS next_g
    FROM (SELECT x, kind, g, n FROM hist WHERE g <= {HORIZON_DAYS}
          UNION ALL SELECT x, kind, 0, 0 FROM totals) AS h
    JOIN totals AS t ON t.x = h.x AND t.kind = h.kind
    WINDOW w AS (PARTITION BY h.x, h.kind ORDER BY h.g)
),
dense AS (
    SELECT s.x, s.kind, array_agg(s.after::integer ORDER BY j) AS new_after
    FROM steps AS s
    CROSS JOIN LATERAL generate_series(greatest(s.g, 1), coalesce(s.next_g - 1, s.g)) AS j
    GROUP BY s.x, s.kind
)
INSERT INTO {DAYS} (day, kind, active_users, first_time_users, beyond_horizon_users, new_after)
SELECT t.x, t.kind, t.active, t.first_time, t.beyond, coalesce(d.new_after, '{{}}')
FROM totals AS t LEFT JOIN dense AS d ON d.x = t.x AND d.kind = t.kind
"""

# Histogram keys pack a day and a gap code into one integer (one hash per kind and row).
_KEY_EPOCH = "date '1970-01-01'"
_KEY_SPAN = 512


def _recompute_all_days(cursor, *, today: dt.date) -> int:
    """Every day row in one pass in (member, day) order: each row's previous active day per kind
    by window functions, counted into one small hash table per kind."""
    cursor.execute(f"DELETE FROM {DAYS}")
    previous = ", ".join(
        f"max(a.day) FILTER (WHERE {_kind_test(kind, 'a')}) OVER earlier AS prev_{kind}" for kind in AGGREGATE_KINDS
    )
    keys = ", ".join(
        f"CASE WHEN {_kind_test(kind, 'r')} THEN (r.x - {_KEY_EPOCH}) * {_KEY_SPAN}"
        f" + CASE WHEN r.prev_{kind} IS NULL THEN {NEVER_BEFORE} ELSE least(r.x - r.prev_{kind}, {BEYOND_HORIZON}) END"
        f" END AS key_{kind}"
        for kind in AGGREGATE_KINDS
    )
    key_columns = ", ".join(f"key_{kind}" for kind in AGGREGATE_KINDS)
    kind_of_group = " ".join(f"WHEN key_{kind} IS NOT NULL THEN {kind}" for kind in AGGREGATE_KINDS)
    cursor.execute(
        f"""
        WITH r AS (
            SELECT a.day AS x, a.kinds, {previous}
            FROM {ACTIVITY} AS a WHERE a.day <= %s
            WINDOW earlier AS (PARTITION BY a.membership_id ORDER BY a.day
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        ),
        keyed AS (SELECT {keys} FROM r),
        -- One grouping set per kind: a row without that kind has a null key (a group dropped below).
        grouped AS (
            SELECT CASE {kind_of_group} END AS kind, coalesce({key_columns}) AS key, count(*) AS n
            FROM keyed GROUP BY GROUPING SETS ({key_columns})
        ),
        hist AS (
            SELECT {_KEY_EPOCH} + key / {_KEY_SPAN} AS x, kind, key %% {_KEY_SPAN} AS g, n
            FROM grouped WHERE key IS NOT NULL
        ),
        {_DAY_ROWS_FROM_HISTOGRAM}
        """,
        [today],
    )
    cursor.execute(f"SELECT count(DISTINCT day) FROM {DAYS}")
    return cursor.fetchone()[0]


def _day_unchanged(cursor, day: dt.date) -> bool:
    """Whether ``day``'s activity is what the last refresh counted, read before anything is written.

    A day's rows only grow (rows are added, kinds OR-ed in) until a member is deleted with theirs.
    So the day is unchanged when each kind still counts the members its day row counted, and no
    member counted in any day row was deleted since: every such member has a first-days row, one
    per first-time user counted (new members get theirs in the refresh that counts them)."""
    kinds = ", ".join(f"({kind})" for kind in AGGREGATE_KINDS)
    cursor.execute(
        f"""
        WITH now_active AS (
            SELECT k.kind, count(*) AS n FROM {ACTIVITY} AS a CROSS JOIN (VALUES {kinds}) AS k(kind)
            WHERE a.day = %(day)s AND (k.kind = 0 OR (a.kinds & k.kind) <> 0) GROUP BY k.kind
        ),
        counted AS (SELECT kind, active_users AS n FROM {DAYS} WHERE day = %(day)s)
        SELECT NOT EXISTS (
                   SELECT 1 FROM now_active FULL JOIN counted USING (kind)
                   WHERE now_active.n IS DISTINCT FROM counted.n
               )
           AND (SELECT count(*) FROM {FIRSTS})
               = (SELECT coalesce(sum(first_time_users), 0) FROM {DAYS} WHERE kind = 0 AND day <= %(day)s)
        """,
        {"day": day},
    )
    return cursor.fetchone()[0]


def _days_affected_by_backfill(cursor, backfilled: list[dt.date], *, today: dt.date) -> set[dt.date]:
    """Days whose rows change when rows were added on ``backfilled`` days: for their members, the
    next active day with each kind of the row (its gap shrinks), and the old first day when it
    moves earlier (it is no longer a first). Read before the first days are updated."""
    if not backfilled:
        return set()
    firsts = ", ".join(f"(f.{column})" for column in FIRST_COLUMNS.values())
    nexts = " UNION ALL ".join(
        f"""SELECT (SELECT min(b.day) FROM {ACTIVITY} AS b
                    WHERE b.membership_id = r.membership_id AND b.day > r.day
                      AND b.day <= least(r.day + {HORIZON_DAYS}, %(today)s) AND {_kind_test(kind, "b")})
            FROM r WHERE {_kind_test(kind, "r")}"""
        for kind in AGGREGATE_KINDS
    )
    cursor.execute(
        f"""
        WITH r AS MATERIALIZED (
            SELECT a.membership_id, a.day, a.kinds FROM {ACTIVITY} AS a WHERE a.day = ANY(%(days)s)
        )
        SELECT DISTINCT day FROM (
            {nexts}
            UNION ALL
            SELECT old.first FROM r JOIN {FIRSTS} AS f ON f.membership_id = r.membership_id
            CROSS JOIN LATERAL (VALUES {firsts}) AS old(first)
            WHERE old.first > r.day AND old.first <= %(today)s
        ) AS affected(day) WHERE day IS NOT NULL
        """,
        {"days": backfilled, "today": today},
    )
    return {row[0] for row in cursor.fetchall()}


def _update_first_days(cursor, days: list[dt.date]) -> None:
    # Only members whose first days move are written (``least`` ignores nulls): an upsert would
    # lock every member of the days, most of whom started long ago.
    columns = list(FIRST_COLUMNS.values())
    current = ", ".join(f"f.{column}" for column in columns)
    moved = ", ".join(f"least(f.{column}, seen.{column})" for column in columns)
    updates = ", ".join(f"{column} = least(f.{column}, seen.{column})" for column in columns)
    cursor.execute(
        f"""WITH seen AS MATERIALIZED ({_first_days_select("a.day = ANY(%s)")}),
            moved AS (
                UPDATE {FIRSTS} AS f SET {updates}
                FROM seen WHERE f.membership_id = seen.membership_id AND ({current}) IS DISTINCT FROM ({moved})
            )
            INSERT INTO {FIRSTS} (membership_id, {", ".join(columns)})
            SELECT seen.* FROM seen
            WHERE NOT EXISTS (SELECT 1 FROM {FIRSTS} AS f WHERE f.membership_id = seen.membership_id)""",
        [days],
    )


def _recompute_days(cursor, days: list[dt.date]) -> None:
    """The day rows of ``days``: for each member active on a day and each kind of their row,
    the previous active day with that kind (one index probe, only when their first such day is
    earlier, and never further back than the horizon)."""
    cursor.execute(f"DELETE FROM {DAYS} WHERE day = ANY(%s)", [days])
    if not days:
        return
    firsts = ", ".join(f"({kind}, f.{column})" for kind, column in FIRST_COLUMNS.items())
    cursor.execute(
        f"""
        WITH r AS MATERIALIZED (
            SELECT a.membership_id, a.day AS x, a.kinds, k.kind, k.first
            FROM {ACTIVITY} AS a
            LEFT JOIN {FIRSTS} AS f ON f.membership_id = a.membership_id
            CROSS JOIN LATERAL (VALUES {firsts}) AS k(kind, first)
            WHERE a.day = ANY(%s) AND (k.kind = 0 OR (a.kinds & k.kind) <> 0)
        ),
        probed AS (
            SELECT r.x, r.kind, r.first IS NULL OR r.first >= r.x AS never,
                   CASE WHEN r.first IS NULL OR r.first >= r.x THEN NULL ELSE (
                       SELECT max(b.day) FROM {ACTIVITY} AS b
                       WHERE b.membership_id = r.membership_id AND b.day < r.x
                         AND b.day >= r.x - {HORIZON_DAYS} AND (r.kind = 0 OR (b.kinds & r.kind) <> 0)
                   ) END AS prev
            FROM r
        ),
        hist AS (
            SELECT x, kind, CASE WHEN never THEN {NEVER_BEFORE} ELSE coalesce(x - prev, {BEYOND_HORIZON}) END AS g,
                   count(*) AS n
            FROM probed GROUP BY 1, 2, 3
        ),
        {_DAY_ROWS_FROM_HISTOGRAM}
        """,
        [days],
    )


# A window's members new on day ``d`` (``s``: the window's start): all of day ``s``, then those
# whose previous active day is before ``s``; past the horizon (only ``all``, which starts before
# any activity) the first-time users.
NEW_IN_WINDOW_SQL = f"""CASE WHEN {{d}}.day = {{s}} THEN {{d}}.active_users
    WHEN {{d}}.day - {{s}} <= {HORIZON_DAYS}
        THEN coalesce({{d}}.new_after[{{d}}.day - {{s}}], {{d}}.beyond_horizon_users)
    ELSE {{d}}.first_time_users END"""


def new_in_window(day_alias: str, start: str) -> str:
    return NEW_IN_WINDOW_SQL.format(d=day_alias, s=start)


def _recompute_buckets(cursor, *, days: list[dt.date] | None) -> None:
    """Week and month uniques of the buckets holding ``days`` (all buckets when None)."""
    if days is None:
        cursor.execute(f"DELETE FROM {BUCKETS}")
        source = f"SELECT DISTINCT day FROM {DAYS}"
        params: list = []
    else:
        if not days:
            return
        source = "SELECT unnest(%s::date[])"
        params = [days]
    buckets = f"""
        WITH touched(day) AS ({source}),
        buckets AS (
            SELECT DISTINCT 'week' AS interval, date_trunc('week', day)::date AS start,
                   (date_trunc('week', day) + interval '1 week')::date AS next FROM touched
            UNION
            SELECT DISTINCT 'month', date_trunc('month', day)::date,
                   (date_trunc('month', day) + interval '1 month')::date FROM touched
        )"""
    if days is not None:
        cursor.execute(
            f"""{buckets}
            DELETE FROM {BUCKETS} AS old USING buckets
            WHERE old.interval = buckets.interval AND old.start = buckets.start""",
            params,
        )
    cursor.execute(
        f"""{buckets}
        INSERT INTO {BUCKETS} (interval, kind, start, active_users)
        SELECT b.interval, d.kind, b.start,
               sum({new_in_window("d", "b.start")})
        FROM buckets AS b JOIN {DAYS} AS d ON d.day >= b.start AND d.day < b.next
        GROUP BY b.interval, d.kind, b.start
        """,
        params,
    )


def _first_activity_day(cursor) -> dt.date | None:
    cursor.execute(f"SELECT min(day) FROM {DAYS} WHERE kind = 0")
    return cursor.fetchone()[0]


def _first_point_to_write(
    window: Window, stored: Window | None, state: AggregateState | None, *, first_changed_day: dt.date | None
) -> dt.date:
    """The first day of ``window`` whose series point can differ from the stored one. A point
    depends only on the window's start and the day rows up to its day, so when the window starts
    where the stored one does and the stored series ends on the last refresh's day, the points
    before the first recomputed day stay as they are (usually all but today's)."""
    if (
        first_changed_day is None
        or stored is None
        or state is None
        or stored.start != window.start
        or stored.end != state.computed_for_day
        or window.end < stored.end
    ):
        return window.start
    return max(window.start, min(first_changed_day, stored.end + dt.timedelta(days=1)))


def _write_period_figures(cursor, windows: dict[str, Window], first_points: dict[str, dt.date]) -> None:
    """Each period's series: the stored points before ``first_points[period]`` kept, the rest
    (all of it when that is the window's start) computed from the day rows."""
    values = ", ".join("(%s, %s::date, %s::date, %s::date)" for _ in windows)
    kinds = ", ".join(f"({kind})" for kind in AGGREGATE_KINDS)
    params = [
        value
        for period, window in windows.items()
        for value in (period, window.start, window.end, first_points.get(period, window.start))
    ]
    cursor.execute(
        f"""
        WITH w(period, start, "end", first) AS (VALUES {values}),
        kept AS (
            -- A kind without a stored series from the same start through the day before ``first``
            -- (none is expected) has no prefix here: its series is computed whole.
            SELECT w.period, p.kind, w.first, p.daily[1:(w.first - w.start)] AS daily,
                   p.cumulative[1:(w.first - w.start)] AS cumulative, p.cumulative[w.first - w.start] AS base
            FROM w JOIN {PERIOD_FIGURES} AS p ON p.period = w.period AND p.start = w.start
            WHERE w.first > w.start AND p."end" >= w.first - 1
        ),
        days AS MATERIALIZED (
            -- Scalars only: the arrays stay out of the sort below.
            SELECT w.period, w.start, w."end", k.kind, series.day::date AS day, coalesce(kept.base, 0) AS base,
                   coalesce(d.active_users, 0) AS daily, coalesce({new_in_window("d", "w.start")}, 0) AS new
            FROM w CROSS JOIN (VALUES {kinds}) AS k(kind)
            LEFT JOIN kept ON kept.period = w.period AND kept.kind = k.kind
            CROSS JOIN LATERAL generate_series(coalesce(kept.first, w.start), w."end", interval '1 day') AS series(day)
            LEFT JOIN {DAYS} AS d ON d.day = series.day::date AND d.kind = k.kind
        ),
        points AS (
            SELECT period, start, "end", kind, day, daily,
                   base + sum(new) OVER (PARTITION BY period, kind ORDER BY day) AS cumulative
            FROM days
        ),
        tails AS (
            SELECT period, kind, start, "end", (array_agg(cumulative ORDER BY day DESC))[1] AS total,
                   array_agg(daily ORDER BY day) AS daily, array_agg(cumulative::integer ORDER BY day) AS cumulative
            FROM points GROUP BY period, kind, start, "end"
        )
        INSERT INTO {PERIOD_FIGURES} AS p (period, kind, start, "end", total_active_users, daily, cumulative)
        SELECT t.period, t.kind, t.start, t."end", t.total,
               coalesce(kept.daily, '{{}}') || t.daily, coalesce(kept.cumulative, '{{}}') || t.cumulative
        FROM tails AS t LEFT JOIN kept ON kept.period = t.period AND kept.kind = t.kind
        ON CONFLICT (period, kind) DO UPDATE SET start = EXCLUDED.start, "end" = EXCLUDED."end",
            total_active_users = EXCLUDED.total_active_users, daily = EXCLUDED.daily,
            cumulative = EXCLUDED.cumulative
        """,
        params,
    )


def _plan(period: str, window: Window, stored: Window | None, state: AggregateState | None, *, full: bool) -> _Plan:
    if (
        full
        or stored is None
        or state is None
        or window.start < stored.start
        or window.start > stored.end
        or stored.end > window.end
        or stored.end != state.computed_for_day
    ):
        return _Plan(period, window, rebuild=True)
    return _Plan(period, window, rebuild=False, shift_from=stored.start if window.start > stored.start else None)


def _windows_values(plans: list[_Plan]) -> tuple[str, list]:
    values = ", ".join("(%s, %s::date, %s::date)" for _ in plans)
    return values, [value for plan in plans for value in (plan.period, plan.window.start, plan.window.end)]


def _refresh_leaderboards(
    cursor, plans: list[_Plan], *, backfilled: list[dt.date], new_days: list[dt.date]
) -> list[tuple[str, int]]:
    """Brings the leaderboards up to date; returns the (period, member) rows of the kept ones
    that gained new days."""
    rebuilt = [plan for plan in plans if plan.rebuild]
    kept = [plan for plan in plans if not plan.rebuild]
    if rebuilt:
        cursor.execute(f"DELETE FROM {LEADERBOARD} WHERE period = ANY(%s)", [[plan.period for plan in rebuilt]])
        _insert_leaderboard_rows(cursor, rebuilt, members_of_days=None)
    if not kept:
        return []
    # Days that left a window: those rows were counted, take them off.
    for plan in kept:
        if plan.shift_from is None:
            continue
        cursor.execute(
            f"""
            WITH dropped AS (
                SELECT membership_id, count(*) AS n FROM {ACTIVITY}
                WHERE day >= %(old)s AND day < %(start)s GROUP BY membership_id
            ),
            changed AS (
                UPDATE {LEADERBOARD} AS l SET days_active = l.days_active - dropped.n
                FROM dropped WHERE l.period = %(period)s AND l.membership_id = dropped.membership_id
                  AND l.days_active > dropped.n
                RETURNING l.membership_id
            )
            DELETE FROM {LEADERBOARD} AS l USING dropped
            WHERE l.period = %(period)s AND l.membership_id = dropped.membership_id
              AND l.days_active <= dropped.n
            """,
            {"old": plan.shift_from, "start": plan.window.start, "period": plan.period},
        )
    # Members of backfilled days: recounted over each window.
    if backfilled:
        cursor.execute(
            f"""DELETE FROM {LEADERBOARD} WHERE period = ANY(%s)
                AND membership_id IN (SELECT membership_id FROM {ACTIVITY} WHERE day = ANY(%s))""",
            [[plan.period for plan in kept], backfilled],
        )
        _insert_leaderboard_rows(cursor, kept, members_of_days=backfilled)
    # New days: each member's days after the last one counted.
    values, params = _windows_values(kept)
    cursor.execute(
        f"""
        WITH w(period, start, "end") AS (VALUES {values}),
        fresh AS (
            SELECT w.period, a.membership_id, array_agg(a.day) AS days, max(a.day) AS last_day
            FROM {ACTIVITY} AS a JOIN w ON a.day >= w.start AND a.day <= w."end"
            WHERE a.day = ANY(%s::date[])
            GROUP BY w.period, a.membership_id
        ),
        -- One look-up of each member's row: most were counted by the last refresh already.
        known AS MATERIALIZED (
            SELECT fresh.*, l.last_active AS counted_through
            FROM fresh LEFT JOIN {LEADERBOARD} AS l
                ON l.period = fresh.period AND l.membership_id = fresh.membership_id
            WHERE l.last_active IS NULL OR l.last_active < fresh.last_day
        ),
        updated AS (
            UPDATE {LEADERBOARD} AS l
            SET days_active = l.days_active + (SELECT count(*) FROM unnest(known.days) AS d WHERE d > l.last_active),
                last_active = known.last_day
            FROM known
            WHERE known.counted_through IS NOT NULL
              AND l.period = known.period AND l.membership_id = known.membership_id
        ),
        inserted AS (
            INSERT INTO {LEADERBOARD} (period, membership_id, days_active, last_active)
            SELECT known.period, known.membership_id, cardinality(known.days), known.last_day FROM known
            WHERE known.counted_through IS NULL
        )
        SELECT known.period, known.membership_id FROM known
        """,
        [*params, new_days],
    )
    return cursor.fetchall()


def _refresh_leaders(cursor, plans: list[_Plan], *, raised: list[tuple[str, int]], backfilled: list[dt.date]) -> None:
    """Brings each period's leaderboard head up to date after its leaderboard changed.

    A kept head stays exact with the same lowest entry: members outside it ranked below that
    entry, and only those whose count rose can have moved up (``raised``: the rows that gained new
    days; and the members of backfilled days, recounted). Its members and those are re-read from
    the leaderboard; the ones at or above the lowest entry stay or join, the rest leave. A head
    left with too few members is rebuilt."""
    rebuilt = [plan.period for plan in plans if plan.rebuild]
    kept = [plan for plan in plans if not plan.rebuild]
    if kept:
        values, params = _windows_values(kept)
        cursor.execute(
            f"""
            WITH w(period, start, "end") AS (VALUES {values}),
            lowest AS (
                SELECT w.period, low.days_active, low.last_active, low.membership_id
                FROM w CROSS JOIN LATERAL (
                    SELECT * FROM {LEADERS} AS h WHERE h.period = w.period
                    ORDER BY h.days_active, h.last_active, h.membership_id DESC LIMIT 1
                ) AS low
            ),
            candidates AS (
                SELECT h.period, h.membership_id FROM {LEADERS} AS h JOIN w ON w.period = h.period
                UNION
                SELECT * FROM unnest(%s::text[], %s::bigint[])
                UNION
                -- Recounted in every window, wherever their backfilled day lies.
                SELECT w.period, a.membership_id FROM {ACTIVITY} AS a CROSS JOIN w WHERE a.day = ANY(%s::date[])
            ),
            source AS (
                SELECT c.period, c.membership_id, l.days_active, l.last_active,
                       coalesce((l.days_active, l.last_active, -l.membership_id)
                                >= (low.days_active, low.last_active, -low.membership_id), false) AS ranked
                FROM candidates AS c JOIN lowest AS low ON low.period = c.period
                LEFT JOIN {LEADERBOARD} AS l ON l.period = c.period AND l.membership_id = c.membership_id
            )
            MERGE INTO {LEADERS} AS h
            USING source AS s ON s.period = h.period AND s.membership_id = h.membership_id
            WHEN MATCHED AND NOT s.ranked THEN DELETE
            WHEN MATCHED AND (h.days_active, h.last_active) IS DISTINCT FROM (s.days_active, s.last_active) THEN
                UPDATE SET days_active = s.days_active, last_active = s.last_active
            WHEN NOT MATCHED AND s.ranked THEN
                INSERT (period, membership_id, days_active, last_active)
                VALUES (s.period, s.membership_id, s.days_active, s.last_active)
            """,
            [*params, [period for period, _ in raised], [member for _, member in raised], backfilled],
        )
        cursor.execute(
            f"""SELECT w.period FROM unnest(%s::text[]) AS w(period)
                WHERE (SELECT count(*) FROM {LEADERS} AS h WHERE h.period = w.period) < %s""",
            [[plan.period for plan in kept], LEADERS_SERVED],
        )
        rebuilt += [row[0] for row in cursor.fetchall()]
    if rebuilt:
        _rebuild_leaders(cursor, rebuilt)


def _rebuild_leaders(cursor, periods: list[str]) -> None:
    """The heads of ``periods``' leaderboards: their first ``LEADERS_KEPT`` members."""
    cursor.execute(f"DELETE FROM {LEADERS} WHERE period = ANY(%s)", [periods])
    cursor.execute(
        f"""
        INSERT INTO {LEADERS} (period, membership_id, days_active, last_active)
        SELECT p.period, top.membership_id, top.days_active, top.last_active
        FROM unnest(%s::text[]) AS p(period) CROSS JOIN LATERAL (
            SELECT l.membership_id, l.days_active, l.last_active FROM {LEADERBOARD} AS l WHERE l.period = p.period
            ORDER BY l.days_active DESC, l.last_active DESC, l.membership_id LIMIT %s
        ) AS top
        """,
        [periods, LEADERS_KEPT],
    )


def _insert_leaderboard_rows(cursor, plans: list[_Plan], *, members_of_days: list[dt.date] | None) -> None:
    """Each member's active days and last active day in each window, in one pass over the rows
    (only for the members active on ``members_of_days`` when given)."""
    counts = ", ".join(
        f"count(*) FILTER (WHERE a.day >= %s AND a.day <= %s) AS days_{i}, "
        f"max(a.day) FILTER (WHERE a.day >= %s AND a.day <= %s) AS last_{i}"
        for i in range(len(plans))
    )
    choices = ", ".join(f"(%s, days_{i}, last_{i})" for i in range(len(plans)))
    params: list = []
    for plan in plans:
        params += [plan.window.start, plan.window.end] * 2
    lowest = min(plan.window.start for plan in plans)
    highest = max(plan.window.end for plan in plans)
    params += [lowest, highest]
    member_filter = ""
    if members_of_days is not None:
        member_filter = f"AND a.membership_id IN (SELECT membership_id FROM {ACTIVITY} WHERE day = ANY(%s))"
        params.append(members_of_days)
    params += [plan.period for plan in plans]
    cursor.execute(
        f"""
        WITH counts AS (
            SELECT a.membership_id, {counts} FROM {ACTIVITY} AS a
            WHERE a.day >= %s AND a.day <= %s {member_filter}
            GROUP BY a.membership_id
        )
        INSERT INTO {LEADERBOARD} (period, membership_id, days_active, last_active)
        SELECT choice.period, counts.membership_id, choice.days, choice.last
        FROM counts CROSS JOIN LATERAL (VALUES {choices}) AS choice(period, days, last)
        WHERE choice.days > 0
        """,
        params,
    )


def _rebuild_first_days_and_leaderboards(cursor, plans: list[_Plan], *, today: dt.date) -> None:
    """Every member's first days and leaderboard rows, from one pass over the day rows.

    Only rows that change are written: a full refresh mostly confirms what the incremental ones
    kept, and rewriting every row would cost an index update and a foreign-key check each."""
    firsts = ", ".join(
        f"min(a.day) FILTER (WHERE {_kind_test(kind, 'a')}) AS {column}" for kind, column in FIRST_COLUMNS.items()
    )
    counts = ", ".join(
        f"count(*) FILTER (WHERE a.day >= %s AND a.day <= %s) AS days_{i}, "
        f"max(a.day) FILTER (WHERE a.day >= %s AND a.day <= %s) AS last_{i}"
        for i in range(len(plans))
    )
    choices = ", ".join(f"(%s, days_{i}, last_{i})" for i in range(len(plans)))
    params: list = []
    for plan in plans:
        params += [plan.window.start, plan.window.end] * 2
    params += [today, *(plan.period for plan in plans)]
    columns = list(FIRST_COLUMNS.values())
    stored_firsts = ", ".join(f"f.{column}" for column in columns)
    fresh_firsts = ", ".join(f"m.{column}" for column in columns)
    cursor.execute(
        f"""
        WITH per_member AS MATERIALIZED (
            SELECT a.membership_id, {firsts}, {counts}
            FROM {ACTIVITY} AS a WHERE a.day <= %s GROUP BY a.membership_id
        ),
        firsts_gone AS (
            DELETE FROM {FIRSTS} AS f
            WHERE NOT EXISTS (SELECT 1 FROM per_member AS m WHERE m.membership_id = f.membership_id)
        ),
        firsts_moved AS (
            UPDATE {FIRSTS} AS f SET {", ".join(f"{column} = m.{column}" for column in columns)}
            FROM per_member AS m
            WHERE m.membership_id = f.membership_id AND ({stored_firsts}) IS DISTINCT FROM ({fresh_firsts})
        ),
        firsts_new AS (
            INSERT INTO {FIRSTS} (membership_id, {", ".join(columns)})
            SELECT m.membership_id, {fresh_firsts} FROM per_member AS m
            WHERE NOT EXISTS (SELECT 1 FROM {FIRSTS} AS f WHERE f.membership_id = m.membership_id)
        ),
        fresh AS MATERIALIZED (
            SELECT choice.period, m.membership_id, choice.days, choice.last
            FROM per_member AS m CROSS JOIN LATERAL (VALUES {choices}) AS choice(period, days, last)
            WHERE choice.days > 0
        ),
        board_gone AS (
            DELETE FROM {LEADERBOARD} AS l
            WHERE NOT EXISTS (
                SELECT 1 FROM fresh WHERE fresh.period = l.period AND fresh.membership_id = l.membership_id
            )
        ),
        board_changed AS (
            UPDATE {LEADERBOARD} AS l SET days_active = fresh.days, last_active = fresh.last
            FROM fresh
            WHERE fresh.period = l.period AND fresh.membership_id = l.membership_id
              AND (l.days_active, l.last_active) IS DISTINCT FROM (fresh.days, fresh.last)
        )
        INSERT INTO {LEADERBOARD} (period, membership_id, days_active, last_active)
        SELECT fresh.period, fresh.membership_id, fresh.days, fresh.last FROM fresh
        WHERE NOT EXISTS (
            SELECT 1 FROM {LEADERBOARD} AS l WHERE l.period = fresh.period AND l.membership_id = fresh.membership_id
        )
        """,
        params,
    )


def _engagement(cursor, *, today: dt.date) -> dict:
    """DAU, WAU, MAU and stickiness as of ``today`` and of 30 days earlier, from the day rows."""
    cursor.execute(
        f"""
        SELECT t.as_of, w.days,
               coalesce(sum({new_in_window("d", "(t.as_of - (w.days - 1))")}), 0),
               coalesce(sum(d.active_users), 0)
        FROM (VALUES (%(today)s::date), (%(today)s::date - 30)) AS t(as_of)
        CROSS JOIN (VALUES (1), (7), (30)) AS w(days)
        LEFT JOIN {DAYS} AS d ON d.kind = 0 AND d.day >= t.as_of - (w.days - 1) AND d.day <= t.as_of
        GROUP BY t.as_of, w.days
        """,
        {"today": today},
    )
    figures: dict[dt.date, dict[int, tuple[int, int]]] = {}
    for as_of, days, unique, daily_sum in cursor.fetchall():
        figures.setdefault(as_of, {})[days] = (int(unique), int(daily_sum))

    def of(as_of: dt.date) -> dict:
        by_days = figures[as_of]
        mau, daily_sum = by_days[30]
        return {
            "dau": by_days[1][0],
            "wau": by_days[7][0],
            "mau": mau,
            "stickiness": stickiness(daily_sum=daily_sum, days=30, unique=mau),
        }

    return {"as_of": today.isoformat(), **of(today), "previous": of(today - dt.timedelta(days=30))}


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
