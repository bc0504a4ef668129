"""Writes of activity: the user-day rows, the membership figures derived from them, runs.

Every write is set-based, so the figures stay exact however many workers write at once:

- live recording upserts one day row (``kinds`` OR-ed, ``first_seen``/``last_seen`` widened) and
  ``RETURNING (xmax = 0)`` tells whether this statement created it; only then does the member's
  ``days_active`` grow by one, in the same statement. Concurrent upserts of one day row serialize
  on the row, so exactly one of them sees itself as the inserter.
- ``last_active`` only ever moves forward (``GREATEST``), so a late or backfilled event never
  moves it back.
- batch ingestion writes only the day rows, in one statement. Updating the members as well would
  cost most of the request (every membership update maintains the Users list's many indexes), so
  it marks the members it named in ``ActivityDirtyMembers`` (one row per batch), and
  ``membership_stats_catch_up``, queued when the batch commits, recounts their figures from the
  day rows a few seconds later, once per member however many batches named them.

A day that gains a row is marked in ``ActivityDirtyDay``, which the aggregate refresh consumes:
a day's aggregates change exactly when one of its day rows is created.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import Membership
from activity.models import ActivityDay, ActivityDirtyDay, ActivityDirtyMembers, ActivityKind, Run
from orgdash.celery import app as celery_app
from orgdash.celery import queue_task
from orgdash.core.changes import organization_changed
from orgdash.core.selectors import organization_member_count

logger = logging.getLogger(__name__)

MAX_EVENTS_PER_BATCH = 10_000
# Clients' clocks drift: a timestamp this far ahead of the server's is still accepted.
ALLOWED_CLOCK_SKEW = dt.timedelta(minutes=5)
EARLIEST_ACCEPTED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
KIND_BY_NAME = {kind.label: kind.value for kind in ActivityKind}
DEADLOCK_RETRIES = 3


def _array_literal(values: Iterable[str]) -> str:
    """``values`` as one PostgreSQL text array literal. Sent as a single
    text parameter: quoting a batch's lists element by element on the client costs more than
    running the statement."""
    return "{" + ",".join('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "}"


def _plain_array_literal(values: Iterable) -> str:
    """Like ``_array_literal`` for values whose text needs no quoting (numbers, dates, times)."""
    return "{" + ",".join(map(str, values)) + "}"


def _tables(schema: str) -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "day": f"{quote(schema)}.{quote(ActivityDay._meta.db_table)}",
        "dirty": f"{quote(schema)}.{quote(ActivityDirtyDay._meta.db_table)}",
        "dirty_members": f"{quote(schema)}.{quote(ActivityDirtyMembers._meta.db_table)}",
        "membership": f"{quote(schema)}.{quote(Membership._meta.db_table)}",
    }


_RECORD_SQL = """
WITH day_row AS (
    INSERT INTO {day} AS a (membership_id, day, kinds, first_seen, last_seen)
    VALUES (%(membership)s, %(day)s, %(kinds)s, %(at)s, %(at)s)
    ON CONFLICT (membership_id, day) DO UPDATE SET
        kinds = a.kinds | EXCLUDED.kinds,
        first_seen = LEAST(a.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(a.last_seen, EXCLUDED.last_seen)
    RETURNING (a.xmax = 0) AS inserted
), dirty AS (
    INSERT INTO {dirty} (day) SELECT %(day)s::date FROM day_row WHERE inserted
    ON CONFLICT (day) DO NOTHING
)
UPDATE {membership} SET
    days_active = days_active + (SELECT count(*) FROM day_row WHERE inserted),
    last_active = GREATEST(COALESCE(last_active, %(at)s), %(at)s)
WHERE id = %(membership)s
"""


def activity_record_write(*, schema: str, membership_id: int, kinds: int, at: dt.datetime) -> None:
    """Records one sighting of a member: their day row and their last active time, in one statement.

    Idempotent: repeating it changes nothing but ``last_seen``/``last_active`` (never backwards).
    """
    params = {"membership": membership_id, "day": at.astimezone(dt.UTC).date(), "kinds": kinds, "at": at}
    sql = _RECORD_SQL.format(**_tables(schema))
    if connection.in_atomic_block:
        # Inside a caller's transaction a failure must not poison it: isolate it in a savepoint.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    else:
        # One statement in autocommit mode is already atomic; no BEGIN/COMMIT round trips.
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


# --- Batch ingestion ---------------------------------------------------------------------------


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[dict] = field(default_factory=list)

    def reject(self, index: int, reason: str) -> None:
        self.rejected.append({"index": index, "reason": reason})


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "an object"


def _parse_timestamp(value) -> tuple[dt.datetime | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "timestamp is required (ISO 8601 date and time)"
    if not isinstance(value, str):
        return None, f"timestamp must be an ISO 8601 date and time in a string, not {_json_kind(value)}"
    try:
        # Python reads a control character (a NUL) as a separator; a timestamp never has one.
        if not value.strip().isprintable():
            raise ValueError
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None, f"timestamp {value[:40]!r} is not an ISO 8601 date and time"
    if len(value.strip()) <= 10:  # a bare date parses as midnight; a time is required
        return None, f"timestamp {value[:40]!r} has no time of day"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)  # no offset given: the API's times are UTC
    try:
        return parsed.astimezone(dt.UTC), None
    except OverflowError:  # e.g. 9999-12-31T23:59-05:00 is past the last moment Python can hold
        return None, "timestamp is in the future" if parsed.year > 2000 else "timestamp is before 2000-01-01"


# One statement per batch: it finds the members the events name (by lower-cased e-mail, or by
# username in any case as profiles treat usernames: one probe of the global user table's e-mail
# index or its lower(username) index per distinct name, then one of the membership's user index;
# of two usernames differing only in case, the one written as sent wins), judges each event
# against its member (unknown, or later than the member's deactivation), upserts the accepted
# ones' day rows (kinds OR-ed, first/last seen widened; a row that would not change is left
# alone), marks the days that gained a row for the aggregate refresh and the members for
# ``membership_stats_catch_up``, and returns the rejected.
_INGEST_SQL = """
WITH event AS (
    SELECT * FROM unnest(%(names)s::text[], %(kinds)s::smallint[], %(times)s::bigint[])
        WITH ORDINALITY AS e(name, kinds, microseconds, position)
), wanted AS (
    SELECT DISTINCT name FROM event
), member AS (
    SELECT w.name, m.id, m.state, m.deactivated_at
    FROM wanted w JOIN {users} u ON u.email = w.name JOIN {membership} m ON m.user_id = u.id
    WHERE strpos(w.name, '@') > 0 AND m.state <> %(invited)s
    UNION ALL
    (SELECT DISTINCT ON (w.name) w.name, m.id, m.state, m.deactivated_at
    FROM wanted w JOIN {users} u ON lower(u.username) = lower(w.name) JOIN {membership} m ON m.user_id = u.id
    WHERE strpos(w.name, '@') = 0 AND m.state <> %(invited)s
    ORDER BY w.name, u.username = w.name DESC, u.id)
), judged AS (
    SELECT e.position, e.kinds, t.at, m.id AS membership_id,
           CASE WHEN m.id IS NULL THEN 'unknown'
                WHEN m.state = %(deactivated)s AND t.at > m.deactivated_at THEN 'deactivated'
           END AS rejected
    FROM event e
    CROSS JOIN LATERAL (SELECT timestamptz 'epoch' + e.microseconds * interval '1 microsecond' AS at) t
    LEFT JOIN member m ON m.name = e.name
), day_input AS (
    SELECT membership_id, (at AT TIME ZONE 'UTC')::date AS day, bit_or(kinds)::smallint AS kinds,
           min(at) AS first_seen, max(at) AS last_seen
    FROM judged WHERE rejected IS NULL
    GROUP BY membership_id, day
), day_rows AS (
    INSERT INTO {day} AS a (membership_id, day, kinds, first_seen, last_seen)
    SELECT membership_id, day, kinds, first_seen, last_seen FROM day_input ORDER BY membership_id, day
    ON CONFLICT (membership_id, day) DO UPDATE SET
        kinds = a.kinds | EXCLUDED.kinds,
        first_seen = LEAST(a.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(a.last_seen, EXCLUDED.last_seen)
    WHERE a.kinds | EXCLUDED.kinds <> a.kinds
       OR EXCLUDED.first_seen < a.first_seen OR EXCLUDED.last_seen > a.last_seen
    RETURNING a.day, (a.xmax = 0) AS inserted
), dirty_days AS (
    INSERT INTO {dirty} (day) SELECT DISTINCT day FROM day_rows WHERE inserted
    ON CONFLICT (day) DO NOTHING
), dirty_members AS (
    INSERT INTO {dirty_members} (membership_ids, last_seen)
    SELECT array_agg(membership_id ORDER BY membership_id), array_agg(last_seen ORDER BY membership_id)
    FROM (SELECT membership_id, max(last_seen) AS last_seen FROM day_input GROUP BY membership_id) per_member
    HAVING count(*) > 0
)
SELECT position, rejected FROM judged WHERE rejected IS NOT NULL
"""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def activity_events_ingest(*, events: Sequence, now: dt.datetime | None = None) -> IngestResult:
    """Validates each event on its own and writes the accepted ones in bulk.

    An event is ``{"user": <e-mail or username>, "kind": <kind name>, "timestamp": <ISO 8601>}``.
    Sending the same batch twice leaves the same rows and figures as sending it once. The members'
    ``days_active``/``last_active`` follow through ``membership_stats_catch_up``, queued when the
    batch commits.
    """
    now = now or timezone.now()
    latest_accepted = now + ALLOWED_CLOCK_SKEW
    result = IngestResult()

    indexes: list[int] = []  # of the events sent to the database, by position
    users: list[str] = []
    names: list[str] = []
    kinds: list[int] = []
    times: list[int] = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            result.reject(index, "event must be an object with user, kind and timestamp")
            continue
        user = event.get("user")
        if not isinstance(user, str) or not user.strip():
            result.reject(index, "user is required (e-mail or username)")
            continue
        kind_name = event.get("kind")
        kind = KIND_BY_NAME.get(kind_name) if isinstance(kind_name, str) else None
        if kind is None:
            result.reject(index, f"unknown kind {str(kind_name)[:40]!r}; expected one of {', '.join(KIND_BY_NAME)}")
            continue
        timestamp, problem = _parse_timestamp(event.get("timestamp"))
        if problem:
            result.reject(index, problem)
            continue
        if timestamp > latest_accepted:
            result.reject(index, "timestamp is in the future")
            continue
        if timestamp < EARLIEST_ACCEPTED:
            result.reject(index, "timestamp is before 2000-01-01")
            continue
        user = user.strip()
        if "\x00" in user:  # no stored name holds one (nor could the database be sent one)
            result.reject(index, f"no member of this organization is called {user[:100]!r}")
            continue
        indexes.append(index)
        users.append(user)
        names.append(user.lower() if "@" in user else user)
        kinds.append(kind)
        times.append((timestamp - _EPOCH) // _MICROSECOND)

    if indexes:
        refused = _write_events(schema=connection.schema_name, names=names, kinds=kinds, times=times)
        for position, reason in refused:
            index, user = indexes[position - 1], users[position - 1]
            if reason == "deactivated":
                result.reject(index, "the user was deactivated at that time")
            else:
                result.reject(index, f"no member of this organization is called {user[:100]!r}")
        result.accepted = len(indexes) - len(refused)
    result.rejected.sort(key=lambda item: item["index"])
    return result


def _write_events(*, schema: str, names: list[str], kinds: list[int], times: list[int]) -> list[tuple[int, str]]:
    """Runs ``_INGEST_SQL``; returns the (1-based position, reason) of the events it refused."""
    quote = connection.ops.quote_name
    sql = _INGEST_SQL.format(
        users=f"{quote(get_public_schema_name())}.{quote(get_user_model()._meta.db_table)}", **_tables(schema)
    )
    params = {
        "names": _array_literal(names),
        "kinds": _plain_array_literal(kinds),
        "times": _plain_array_literal(times),
        "invited": Membership.State.INVITED,
        "deactivated": Membership.State.DEACTIVATED,
    }
    attempt = 1
    while True:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
                refused = cursor.fetchall()
                if len(refused) < len(names):  # something was written: its members need catching up
                    transaction.on_commit(partial(_queue_catch_up, schema))
            return refused
        except OperationalError as exc:
            # Two batches writing the same day rows in different orders can deadlock; the
            # statement is idempotent, so the loser simply runs again.
            if "deadlock" not in str(exc).lower() or attempt == DEADLOCK_RETRIES:
                raise
            logger.info("activity ingestion: deadlock, retrying (attempt %s)", attempt)
            time.sleep(0.05 * attempt)
            attempt += 1


def _queue_catch_up(schema: str) -> None:
    organization_changed(schema=schema)  # the org's next refresh round visits it
    with schema_context(schema):  # the task is queued for the org whose schema is current
        queue_membership_stats_catch_up()


# At most one catch-up is queued per org in this many seconds; it runs at the end of them, so it
# covers every batch ingested meanwhile.
CATCH_UP_DELAY_SECONDS = 5
CATCH_UP_CACHE_KEY = "activity:membership-catch-up-queued"  # the cache scopes keys by org


CATCH_UP_TASK = "activity.tasks.catch_up_membership_stats"


def refresh_queue(*, members: int) -> str:
    """Big orgs' per-org tasks have a queue of their own, so they never hold up the small ones."""
    if members >= settings.ORGDASH_LARGE_ORG_MEMBERS:
        return settings.ORGDASH_LARGE_ORG_QUEUE
    return settings.CELERY_TASK_DEFAULT_QUEUE


def current_organization_queue() -> str:
    """The queue of the current org's per-org tasks (by its members at its last refresh)."""
    return refresh_queue(members=organization_member_count(schema_name=connection.schema_name))


def queue_membership_stats_catch_up() -> bool:
    """Queues ``catch_up_membership_stats`` for the current org unless one is already waiting.
    Called after an ingestion commits. Returns whether it queued one."""
    if celery_app.conf.task_always_eager:
        queue_task(CATCH_UP_TASK)  # runs now: there is no queue to wait in
        return True
    try:
        # The key lives exactly as long as the queued task waits: a batch that finds it set
        # committed before the task starts, so the task sees it.
        if not cache.add(CATCH_UP_CACHE_KEY, 1, timeout=CATCH_UP_DELAY_SECONDS):
            return False
        # Past beat's next round the task is redundant (the refresh catches up first): let it expire.
        expires = CATCH_UP_DELAY_SECONDS + max(settings.ORGDASH_ACTIVITY_REFRESH_SECONDS, 60)
        queue_task(
            CATCH_UP_TASK,
            countdown=CATCH_UP_DELAY_SECONDS,
            expires=expires,
            retry=False,
            queue=current_organization_queue(),
        )
        return True
    except Exception:  # Redis unreachable: beat's refresh catches up within a round
        logger.warning("could not queue the members' catch-up of %s", connection.schema_name, exc_info=True)
        return False


# --- Members' figures after ingestion --------------------------------------------------------

# Ingested batches caught up per transaction: a member named by several is recounted once.
CATCH_UP_BATCHES = 100

# Claims the marks of committed batches (a batch still being written is not visible yet: it stays
# for the next catch-up; a concurrent catch-up's claims are skipped) and locks their members' rows
# in id order.
_CLAIM_SQL = """
WITH claimed AS (
    SELECT id FROM {dirty_members} ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), consumed AS (
    DELETE FROM {dirty_members} d USING claimed c WHERE d.id = c.id
    RETURNING d.membership_ids, d.last_seen
), pending AS (
    SELECT t.membership_id, max(t.last_seen) AS last_seen
    FROM consumed, unnest(consumed.membership_ids, consumed.last_seen) AS t(membership_id, last_seen)
    GROUP BY t.membership_id
)
SELECT m.id, p.last_seen FROM {membership} m JOIN pending p ON p.membership_id = m.id
ORDER BY m.id FOR NO KEY UPDATE OF m
"""

_RECOUNT_SQL = """
UPDATE {membership} m SET
    days_active = s.days,
    last_active = GREATEST(COALESCE(m.last_active, s.last_seen), s.last_seen)
FROM (
    SELECT t.id, t.last_seen, (SELECT count(*) FROM {day} a WHERE a.membership_id = t.id) AS days
    FROM unnest(%(ids)s::bigint[], %(seen)s::timestamptz[]) AS t(id, last_seen)
) s
WHERE m.id = s.id
  -- Only members whose figures change: every membership update maintains all of its indexes.
  AND (m.days_active IS DISTINCT FROM s.days
       OR m.last_active IS DISTINCT FROM GREATEST(COALESCE(m.last_active, s.last_seen), s.last_seen))
"""


@dataclass
class CatchUpResult:
    members: int = 0  # members recounted
    updated: int = 0  # of which the figures changed


def membership_stats_catch_up(*, batches: int = CATCH_UP_BATCHES) -> CatchUpResult:
    """Brings ``days_active`` and ``last_active`` of the members marked by ingestion up to date:
    the days are recounted from the day rows (exact whatever happened before), ``last_active``
    only moves forward. Idempotent; concurrent catch-ups take different batches of marks.

    Why live recording's ``days_active + 1`` is never lost or counted twice: each round first
    locks the members' rows (statement 1) and only then counts their day rows (statement 2, which
    under READ COMMITTED takes a new snapshot). A recorder that created a day row updates the
    member in the same transaction, so either it committed before the lock was granted (its row
    is in the count, and the count replaces its +1) or it updates the member after this
    transaction commits (its row is not in the count, and its +1 lands on top). Counting inside
    the locking statement would not do: a re-checked row keeps the statement's old snapshot for
    the day rows, so a +1 committed meanwhile would be overwritten.
    """
    result = CatchUpResult()
    tables = _tables(connection.schema_name)
    claim_sql, recount_sql = _CLAIM_SQL.format(**tables), _RECOUNT_SQL.format(**tables)
    # Usually nothing is marked (live recording updates members itself): one probe instead of a
    # transaction's three round trips. A batch committing after it is left for its own catch-up.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {tables['dirty_members']})")
        if not cursor.fetchone()[0]:
            return result
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(claim_sql, {"limit": batches})
            claimed = cursor.fetchall()
            if not claimed:
                return result
            ids, seen = (_plain_array_literal(column) for column in zip(*claimed, strict=True))
            cursor.execute(recount_sql, {"ids": ids, "seen": seen})
            result.members += len(claimed)
            result.updated += cursor.rowcount


# --- Runs ------------------------------------------------------------------------------------


@transaction.atomic
def run_log(*, membership: Membership, project: str, name: str, client: str = Run.Client.API) -> Run:
    """Creates a run logged by ``membership``. The caller records it as activity (run_logged or sdk)."""
    return Run.objects.create(project=project.strip(), name=name.strip(), created_by=membership, client=client)
