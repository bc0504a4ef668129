"""Writes of activity: the user-day rows, the membership figures derived from them, runs.

Every write goes through one of two set-based statements, so the figures stay exact however many
workers write at once:

- a day row is upserted (``kinds`` OR-ed, ``first_seen``/``last_seen`` widened) and
  ``RETURNING (xmax = 0)`` tells whether this statement created it; only then does the member's
  ``days_active`` grow by one, in the same statement. Concurrent upserts of one day row serialize
  on the row, so exactly one of them sees itself as the inserter.
- ``last_active`` only ever moves forward (``GREATEST``), so a late or backfilled event never
  moves it back.

A day that gains a row is marked in ``ActivityDirtyDay``, which the aggregate refresh consumes:
a day's aggregates change exactly when one of its day rows is created.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from accounts.models import Membership
from activity.models import ActivityDay, ActivityDirtyDay, ActivityKind, Run

logger = logging.getLogger(__name__)

MAX_EVENTS_PER_BATCH = 10_000
# Clients' clocks drift: a timestamp this far ahead of the server's is still accepted.
ALLOWED_CLOCK_SKEW = dt.timedelta(minutes=5)
EARLIEST_ACCEPTED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
KIND_BY_NAME = {kind.label: kind.value for kind in ActivityKind}
DEADLOCK_RETRIES = 3


def _tables(schema: str) -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "day": f"{quote(schema)}.{quote(ActivityDay._meta.db_table)}",
        "dirty": f"{quote(schema)}.{quote(ActivityDirtyDay._meta.db_table)}",
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
    day_rows: int = 0

    def reject(self, index: int, reason: str) -> None:
        self.rejected.append({"index": index, "reason": reason})


@dataclass
class _MemberRef:
    id: int
    deactivated_at: dt.datetime | None


def _parse_timestamp(value) -> tuple[dt.datetime | None, str | None]:
    if not isinstance(value, str) or not value.strip():
        return None, "timestamp is required (ISO 8601 date and time)"
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None, f"timestamp {value[:40]!r} is not an ISO 8601 date and time"
    if len(value.strip()) <= 10:  # a bare date parses as midnight; a time is required
        return None, f"timestamp {value[:40]!r} has no time of day"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)  # no offset given: the API's times are UTC
    return parsed.astimezone(dt.UTC), None


def _members_named(identifiers: set[str]) -> tuple[dict[str, _MemberRef], dict[str, _MemberRef]]:
    """Members of the current org by lower-cased e-mail and by username, in one indexed query
    (the global user table's unique e-mail and username indexes, then the membership's user index)."""
    emails = sorted({name.lower() for name in identifiers if "@" in name})
    usernames = sorted(name for name in identifiers if "@" not in name)
    if not emails and not usernames:
        return {}, {}
    quote = connection.ops.quote_name
    users = f"{quote(get_public_schema_name())}.{quote(get_user_model()._meta.db_table)}"
    membership = quote(Membership._meta.db_table)
    # Joined to the wanted names (not ``= ANY``), so each name is one probe of the user table's
    # unique index rather than a scan of every account of the instance.
    sql = f"""
        SELECT m.id, lower(u.email), u.username, m.deactivated_at, m.state
        FROM unnest(%s::text[]) AS wanted(email)
        JOIN {users} u ON u.email = wanted.email
        JOIN {membership} m ON m.user_id = u.id
        WHERE m.state <> %s
        UNION ALL
        SELECT m.id, lower(u.email), u.username, m.deactivated_at, m.state
        FROM unnest(%s::text[]) AS wanted(username)
        JOIN {users} u ON u.username = wanted.username
        JOIN {membership} m ON m.user_id = u.id
        WHERE m.state <> %s
    """
    by_email: dict[str, _MemberRef] = {}
    by_username: dict[str, _MemberRef] = {}
    with connection.cursor() as cursor:
        invited = Membership.State.INVITED
        cursor.execute(sql, [emails, invited, usernames, invited])
        for membership_id, email, username, deactivated_at, state in cursor.fetchall():
            ref = _MemberRef(membership_id, deactivated_at if state == Membership.State.DEACTIVATED else None)
            by_email[email] = ref
            by_username[username] = ref
    return by_email, by_username


_INGEST_SQL = """
WITH input AS (
    SELECT * FROM unnest(%(members)s::bigint[], %(days)s::date[], %(kinds)s::smallint[],
                         %(firsts)s::timestamptz[], %(lasts)s::timestamptz[])
        AS t(membership_id, day, kinds, first_seen, last_seen)
), day_rows AS (
    INSERT INTO {day} AS a (membership_id, day, kinds, first_seen, last_seen)
    SELECT membership_id, day, kinds, first_seen, last_seen FROM input ORDER BY membership_id, day
    ON CONFLICT (membership_id, day) DO UPDATE SET
        kinds = a.kinds | EXCLUDED.kinds,
        first_seen = LEAST(a.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(a.last_seen, EXCLUDED.last_seen)
    RETURNING a.membership_id, a.day, (a.xmax = 0) AS inserted
), dirty AS (
    INSERT INTO {dirty} (day) SELECT DISTINCT day FROM day_rows WHERE inserted
    ON CONFLICT (day) DO NOTHING
), per_member AS (
    SELECT d.membership_id, count(*) FILTER (WHERE d.inserted) AS new_days, max(i.last_seen) AS last_seen
    FROM day_rows d JOIN input i USING (membership_id, day)
    GROUP BY d.membership_id
)
UPDATE {membership} m SET
    days_active = m.days_active + p.new_days,
    last_active = GREATEST(COALESCE(m.last_active, p.last_seen), p.last_seen)
FROM per_member p
WHERE m.id = p.membership_id
  -- Only members whose figures change: every membership update maintains all of its indexes.
  AND (p.new_days > 0 OR m.last_active IS NULL OR p.last_seen > m.last_active)
"""


def activity_days_write(*, schema: str, rows: Sequence[tuple[int, dt.date, int, dt.datetime, dt.datetime]]) -> None:
    """Upserts many (membership, day, kinds, first seen, last seen) rows and the members' figures
    in one statement. ``rows`` must hold each (membership, day) once."""
    if not rows:
        return
    members, days, kinds, firsts, lasts = (list(column) for column in zip(*rows, strict=True))
    params = {"members": members, "days": days, "kinds": kinds, "firsts": firsts, "lasts": lasts}
    sql = _INGEST_SQL.format(**_tables(schema))
    for attempt in range(1, DEADLOCK_RETRIES + 1):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
            return
        except OperationalError as exc:
            # Two batches updating the same members in different orders can deadlock; the
            # statement is idempotent, so the loser simply runs again.
            if "deadlock" not in str(exc).lower() or attempt == DEADLOCK_RETRIES:
                raise
            logger.info("activity ingestion: deadlock, retrying (attempt %s)", attempt)
            time.sleep(0.05 * attempt)


def activity_events_ingest(*, events: Sequence, now: dt.datetime | None = None) -> IngestResult:
    """Validates each event on its own and writes the accepted ones in bulk.

    An event is ``{"user": <e-mail or username>, "kind": <kind name>, "timestamp": <ISO 8601>}``.
    Sending the same batch twice leaves the same rows and figures as sending it once.
    """
    now = now or timezone.now()
    latest_accepted = now + ALLOWED_CLOCK_SKEW
    result = IngestResult()

    parsed: list[tuple[int, str, int, dt.datetime]] = []
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
        parsed.append((index, user.strip(), kind, timestamp))

    by_email, by_username = _members_named({user for _, user, _, _ in parsed})
    day_rows: dict[tuple[int, dt.date], list] = {}
    for index, user, kind, timestamp in parsed:
        member = by_email.get(user.lower()) if "@" in user else by_username.get(user)
        if member is None:
            result.reject(index, f"no member of this organization is called {user[:100]!r}")
            continue
        if member.deactivated_at is not None and timestamp > member.deactivated_at:
            result.reject(index, "the user was deactivated at that time")
            continue
        result.accepted += 1
        key = (member.id, timestamp.date())
        row = day_rows.get(key)
        if row is None:
            day_rows[key] = [kind, timestamp, timestamp]
        else:
            row[0] |= kind
            row[1] = min(row[1], timestamp)
            row[2] = max(row[2], timestamp)

    result.rejected.sort(key=lambda item: item["index"])
    rows = [(member_id, day, kinds, first, last) for (member_id, day), (kinds, first, last) in day_rows.items()]
    result.day_rows = len(rows)
    activity_days_write(schema=connection.schema_name, rows=rows)
    return result


# --- Runs ------------------------------------------------------------------------------------


@transaction.atomic
def run_log(*, membership: Membership, project: str, name: str, client: str = Run.Client.API) -> Run:
    """Creates a run logged by ``membership``. The caller records it as activity (run_logged or sdk)."""
    return Run.objects.create(project=project.strip(), name=name.strip(), created_by=membership, client=client)
